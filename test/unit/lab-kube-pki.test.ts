// lab-kube's certificates, made by running cloud-config/include/lab-kube.sh itself (openssl): the
// API server's client certificate for the kubelets is signed by the CA that nodes get as their
// kubelet clientCAFile, and carries group system:masters so the kubelet's webhook authorization
// admits logs, exec and port-forward. And the scheduler's configuration file.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";

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
