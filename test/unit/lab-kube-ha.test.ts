// lab-kube behind an API VIP, run as the units run it (cloud-config/include/lab-kube.sh, real
// openssl): two API servers starting at once end up with one token, CA and service-account key
// through etcd (a stand-in of etcd's v2 keys API on loopback, with its create-if-absent rule), each
// serving certificate is signed by that CA and names the VIP and its own address, and the record
// both publish names the VIP with the CA. Without API_VIP the helper leaves etcd alone.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const helper = path.join(import.meta.dirname, "../../cloud-config/include/lab-kube.sh");
const VIP = "172.16.11.5";

/** etcd v2 keys: PUT (with ?prevExist=false: 412 when the key exists), GET; the rest is not needed. */
function fakeEtcd() {
  const keys = new Map<string, { value: string; ttl?: number }>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/health") return send(200, { health: "true" });
    const key = url.pathname.replace(/^\/v2\/keys/, "");
    if (req.method === "GET") {
      const node = keys.get(key);
      return node ? send(200, { action: "get", node: { key, ...node } }) : send(404, { errorCode: 100 });
    }
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const form = new URLSearchParams(body);
      if (url.searchParams.get("prevExist") === "false" && keys.has(key))
        return send(412, { errorCode: 105, message: "Key already exists", cause: key });
      const ttl = form.get("ttl");
      keys.set(key, { value: form.get("value") ?? "", ...(ttl ? { ttl: Number(ttl) } : {}) });
      send(201, { action: "create", node: { key } });
    });
  });
  return { server, keys, requests };
}

const etcd = fakeEtcd();
const root = mkdtempSync(path.join(tmpdir(), "lab-kube-ha-"));
let port = 0;

/** One API server machine: its own state and /etc/lab. */
function machine(name: string, ip: string, vip: string | undefined) {
  const state = path.join(root, name, "state");
  const etc = path.join(root, name, "etc");
  mkdirSync(etc, { recursive: true });
  writeFileSync(
    path.join(etc, "cluster.env"),
    `LAB_NAME=${name}\nLAB_IP=${ip}\nLAB_ETCD=http://127.0.0.1:${port}\nLAB_MIRROR=http://127.0.0.1:1\n`,
  );
  writeFileSync(
    path.join(etc, "kubernetes.env"),
    `POD_NETWORK=10.0.0.0/16\nSERVICE_RANGE=10.10.0.0/22\nNODE_PORTS=30000-32767\n${vip ? `API_VIP=${vip}\n` : ""}`,
  );
  const run = (...args: string[]) =>
    execa("bash", [helper, ...args], {
      env: { LAB_KUBE_STATE: state, LAB_KUBE_ETC: etc },
      reject: false,
      timeout: 60_000,
    });
  const read = (f: string) => readFileSync(path.join(state, f), "utf8");
  const openssl = (...args: string[]) => execFileSync("openssl", args, { encoding: "utf8" });
  return { state, run, read, openssl };
}

beforeAll(async () => {
  await new Promise<void>((r) => etcd.server.listen(0, "127.0.0.1", r));
  port = (etcd.server.address() as AddressInfo).port;
});
afterAll(() => {
  etcd.server.close();
  rmSync(root, { recursive: true, force: true });
});

describe("lab-kube behind an API VIP", () => {
  it("two API servers starting at once share one token, CA and service-account key", async () => {
    const a = machine("kube-1", "172.16.11.13", VIP);
    const b = machine("kube-2", "172.16.11.14", VIP);
    const [ra, rb] = await Promise.all([a.run("apiserver-init"), b.run("apiserver-init")]);
    expect(ra.exitCode, ra.stderr).toBe(0);
    expect(rb.exitCode, rb.stderr).toBe(0);
    expect(etcd.keys.has("/lab/kubernetes/pki")).toBe(true);
    for (const f of ["token", "sa.key", "pki/ca.crt", "pki/ca.key", "tokens.csv", "sa.pub"])
      expect(b.read(f), f).toBe(a.read(f));
    // Each serving certificate: signed by the shared CA, for the VIP, its own address, the service IP.
    for (const [m, ip] of [
      [a, "172.16.11.13"],
      [b, "172.16.11.14"],
    ] as const) {
      const pki = path.join(m.state, "pki");
      expect(m.openssl("verify", "-CAfile", `${pki}/ca.crt`, `${pki}/apiserver.crt`)).toMatch(/: OK/);
      expect(m.openssl("verify", "-CAfile", `${pki}/ca.crt`, `${pki}/kubelet-client.crt`)).toMatch(/: OK/);
      const san = m.openssl("x509", "-in", `${pki}/apiserver.crt`, "-noout", "-ext", "subjectAltName");
      expect(san).toContain(`IP Address:${VIP}`);
      expect(san).toContain(`IP Address:${ip}`);
      expect(san).toContain("IP Address:10.10.0.1");
      expect(san).toContain("DNS:kubernetes.default.svc.cluster.local");
      // The key beside it belongs to it.
      expect(m.openssl("x509", "-in", `${pki}/apiserver.crt`, "-noout", "-pubkey")).toBe(
        m.openssl("pkey", "-in", `${pki}/apiserver.key`, "-pubout"),
      );
    }
    expect(a.read("pki/apiserver.crt")).not.toBe(b.read("pki/apiserver.crt"));
  }, 120_000);

  it("a restart keeps what it has; a machine that held other keys takes etcd's and reissues", async () => {
    const a = machine("kube-1", "172.16.11.13", VIP);
    const before = a.read("pki/apiserver.crt");
    expect((await a.run("apiserver-init")).exitCode).toBe(0);
    expect(a.read("pki/apiserver.crt")).toBe(before);
    // kube-3 made its own CA earlier (e.g. it lost a race): etcd's wins, certificates follow it.
    const c = machine("kube-3", "172.16.11.15", undefined);
    expect((await c.run("apiserver-init")).exitCode).toBe(0);
    expect(c.read("pki/ca.crt")).not.toBe(a.read("pki/ca.crt"));
    const c2 = machine("kube-3", "172.16.11.15", VIP);
    const r = await c2.run("apiserver-init");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(c2.read("pki/ca.crt")).toBe(a.read("pki/ca.crt"));
    expect(c2.read("token")).toBe(a.read("token"));
    const pki = path.join(c2.state, "pki");
    expect(c2.openssl("verify", "-CAfile", `${pki}/ca.crt`, `${pki}/kubelet-client.crt`)).toMatch(/: OK/);
    expect(c2.openssl("verify", "-CAfile", `${pki}/ca.crt`, `${pki}/apiserver.crt`)).toMatch(/: OK/);
  }, 120_000);

  it("each publishes the same record: the VIP and the CA; kubeconfigs point at the VIP", async () => {
    const a = machine("kube-1", "172.16.11.13", VIP);
    const b = machine("kube-2", "172.16.11.14", VIP);
    expect((await a.run("apiserver-publish")).exitCode).toBe(0);
    const first = etcd.keys.get("/lab/kubernetes/apiserver")!;
    expect((await b.run("apiserver-publish")).exitCode).toBe(0);
    const second = etcd.keys.get("/lab/kubernetes/apiserver")!;
    expect(second).toEqual(first);
    expect(first.ttl).toBe(60);
    const [server, token, ca, clientCa] = first.value.split(" ");
    expect(server).toBe(`https://${VIP}:6443`);
    expect(token).toBe(a.read("token"));
    expect(Buffer.from(ca!, "base64").toString()).toBe(a.read("pki/ca.crt"));
    expect(clientCa).toBe(ca);
    const node = machine("node-9", "172.16.11.20", VIP);
    const r = await node.run("kubeconfig", "kubelet");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(node.read("kubelet.kubeconfig")).toContain(`server: https://${VIP}:6443`);
  }, 60_000);

  it("without API_VIP: no shared keys in etcd, a self-signed certificate is left to kube-apiserver", async () => {
    etcd.requests.length = 0;
    const solo = machine("solo", "172.16.11.30", undefined);
    const r = await solo.run("apiserver-init");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(etcd.requests).toEqual([]);
    expect(() => solo.read("pki/apiserver.crt")).toThrow();
  }, 60_000);
});
