// lab-kube's certificates, made by running cloud-config/include/lab-kube.sh itself (openssl): the
// API server's client certificate for the kubelets is signed by the CA that nodes get as their
// kubelet clientCAFile, and carries group system:masters so the kubelet's webhook authorization
// admits logs, exec and port-forward. And the scheduler's configuration file.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const helper = path.join(import.meta.dirname, "../../cloud-config/include/lab-kube.sh");
const state = mkdtempSync(path.join(tmpdir(), "lab-kube-pki-"));
const run = (...args: string[]) =>
  execFileSync("bash", [helper, ...args], {
    env: { ...process.env, LAB_KUBE_STATE: state },
    encoding: "utf8",
  });

afterAll(() => rmSync(state, { recursive: true, force: true }));

describe("lab-kube apiserver-init", () => {
  it("issues the kubelet client certificate from the lab CA, in group system:masters", () => {
    run("apiserver-init");
    const pki = path.join(state, "pki");
    const subject = execFileSync(
      "openssl",
      ["x509", "-in", `${pki}/kubelet-client.crt`, "-noout", "-subject"],
      {
        encoding: "utf8",
      },
    );
    expect(subject).toMatch(/O ?= ?system:masters/);
    expect(subject).toMatch(/CN ?= ?kube-apiserver-kubelet-client/);
    const verify = execFileSync(
      "openssl",
      ["verify", "-CAfile", `${pki}/ca.crt`, `${pki}/kubelet-client.crt`],
      {
        encoding: "utf8",
      },
    );
    expect(verify).toMatch(/: OK/);
    // Kept across restarts: a second run changes nothing.
    const before = readFileSync(`${pki}/kubelet-client.crt`, "utf8");
    run("apiserver-init");
    expect(readFileSync(`${pki}/kubelet-client.crt`, "utf8")).toBe(before);
    // RSA key generation on a busy 2-core machine.
  }, 60_000);
});

describe("lab-kube scheduler-config", () => {
  it("writes a KubeSchedulerConfiguration (v1) with the kubeconfig and leader election", () => {
    run("scheduler-config");
    const conf = yaml.load(readFileSync(path.join(state, "scheduler-config.yaml"), "utf8"));
    expect(conf).toEqual({
      apiVersion: "kubescheduler.config.k8s.io/v1",
      kind: "KubeSchedulerConfiguration",
      clientConnection: { kubeconfig: `${state}/scheduler.kubeconfig` },
      leaderElection: { leaderElect: true },
    });
  });
});

describe("the cluster DNS manifest (cloud-config/include/coredns.yaml)", () => {
  it("pins CoreDNS and puts the kube-dns service at the cluster DNS address lab-kube fills in", () => {
    const file = path.join(import.meta.dirname, "../../cloud-config/include/coredns.yaml");
    const docs = yaml.loadAll(readFileSync(file, "utf8")) as {
      kind: string;
      spec?: { clusterIP?: string; template?: { spec: { containers: { image: string }[] } } };
      data?: { Corefile: string };
    }[];
    const svc = docs.find((d) => d.kind === "Service")!;
    expect(svc.spec?.clusterIP).toBe("__CLUSTER_DNS__");
    const image = docs.find((d) => d.kind === "Deployment")!.spec!.template!.spec.containers[0]!.image;
    expect(image).toMatch(/^registry\.k8s\.io\/coredns\/coredns:v\d+\.\d+\.\d+$/);
    expect(docs.find((d) => d.kind === "ConfigMap")!.data!.Corefile).toMatch(
      /kubernetes __CLUSTER_DOMAIN__ /,
    );
  });
});

describe("lab-kube kubeconfig and the API server's record", () => {
  // A stand-in etcd v2 keys API on loopback answering GET /v2/keys/lab/kubernetes/apiserver.
  let answer: Record<string, unknown> = {};
  let server: http.Server;
  let etc: string;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    etc = mkdtempSync(path.join(tmpdir(), "lab-kube-etc-"));
    writeFileSync(
      path.join(etc, "cluster.env"),
      `LAB_NAME=node-1\nLAB_IP=172.16.11.11\nLAB_ETCD=http://127.0.0.1:${port}\nLAB_MIRROR=http://127.0.0.1:1\n`,
    );
  });
  afterAll(() => {
    server?.close();
    if (etc) rmSync(etc, { recursive: true, force: true });
  });
  // Asynchronous: the stand-in etcd answers from this process's event loop.
  const kubeconfig = () =>
    execa("bash", [helper, "kubeconfig", "kubelet"], {
      env: { LAB_KUBE_STATE: state, LAB_KUBE_ETC: etc },
      reject: false,
      timeout: 30_000,
    });
  const cert = Buffer.from("-----BEGIN CERTIFICATE-----\n").toString("base64");
  const value = `https://172.16.11.12:6443 0123abcd ${cert} ${cert}`;

  it("takes a fresh record: kubeconfig for the server, the kubelet client CA beside it", async () => {
    answer = { action: "get", node: { key: "/lab/kubernetes/apiserver", value, ttl: 42 } };
    const r = await kubeconfig();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(path.join(state, "kubelet.kubeconfig"), "utf8")).toContain(
      "server: https://172.16.11.12:6443",
    );
    expect(readFileSync(path.join(state, "kubelet-client-ca.crt"), "utf8")).toBe(
      "-----BEGIN CERTIFICATE-----\n",
    );
  });

  it("with several etcd members in LAB_ETCD, reads from the first that answers /health", async () => {
    answer = { action: "get", node: { key: "/lab/kubernetes/apiserver", value, ttl: 42 } };
    const port = (server.address() as AddressInfo).port;
    const several = mkdtempSync(path.join(tmpdir(), "lab-kube-etc-"));
    try {
      writeFileSync(
        path.join(several, "cluster.env"),
        `LAB_NAME=node-1\nLAB_IP=172.16.11.11\nLAB_ETCD=http://127.0.0.1:1,http://127.0.0.1:${port}\nLAB_MIRROR=http://127.0.0.1:1\n`,
      );
      const r = await execa("bash", [helper, "kubeconfig", "admin"], {
        env: { LAB_KUBE_STATE: state, LAB_KUBE_ETC: several },
        reject: false,
        timeout: 30_000,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readFileSync(path.join(state, "admin.kubeconfig"), "utf8")).toContain(
        "server: https://172.16.11.12:6443",
      );
    } finally {
      rmSync(several, { recursive: true, force: true });
    }
  });

  it("refuses a record without a TTL: it never goes stale, so lab-kube's publisher did not write it", async () => {
    answer = { action: "get", node: { key: "/lab/kubernetes/apiserver", value } };
    const r = await kubeconfig();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/has no TTL of at most 60 s/);
  });
});
