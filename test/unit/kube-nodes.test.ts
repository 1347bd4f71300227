// `lab up`'s wait for Ready nodes and `lab kubeconfig`, against a stand-in API server on loopback
// that answers GET /api/v1/nodes with a v1 NodeList in the shape the real API returns
// (kubernetes/kubernetes staging/src/k8s.io/api/core/v1/types.go: NodeList, NodeCondition; the
// kubelet's Ready reasons KubeletReady/KubeletNotReady from pkg/kubelet/nodestatus/setters.go) over
// HTTPS with a bearer token, and a stand-in etcd v2 keys API holding the API server's record.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeReadiness } from "../../src/kube/nodes.js";
import { parseApiserverRecord, renderKubeconfig } from "../../src/kube/record.js";
import { waitForNodesReady } from "../../src/lab/run/kube-ready.js";

const TOKEN = "0123456789abcdef";
const node = (name: string, ready: boolean) => ({
  metadata: { name, uid: `uid-${name}`, resourceVersion: "100", labels: { "kubernetes.io/hostname": name } },
  spec: { podCIDR: undefined },
  status: {
    conditions: [
      { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
      {
        type: "Ready",
        status: ready ? "True" : "False",
        lastHeartbeatTime: "2026-11-23T18:00:00Z",
        lastTransitionTime: "2026-11-23T18:00:00Z",
        reason: ready ? "KubeletReady" : "KubeletNotReady",
        message: ready ? "kubelet is posting ready status" : "container runtime network not ready",
      },
    ],
    addresses: [{ type: "InternalIP", address: "172.16.11.11" }],
  },
});
const nodeList = (items: unknown[]) => ({
  kind: "NodeList",
  apiVersion: "v1",
  metadata: { resourceVersion: "101" },
  items,
});

describe("nodeReadiness", () => {
  it("counts a node Ready only when its Ready condition is True", () => {
    const list = nodeList([node("node-1", true), node("node-2", false)]);
    expect(nodeReadiness(list, ["node-1", "node-2", "node-3"])).toEqual({
      ready: ["node-1"],
      notReady: ["node-2"],
      missing: ["node-3"],
    });
    expect(() => nodeReadiness({ kind: "Status", status: "Failure" }, ["node-1"])).toThrow(/not a NodeList/);
  });
});

describe("the API server record", () => {
  const value = `https://172.16.11.11:6443 ${TOKEN} QUJD Q0E=`;
  it("is refused without a TTL (not written by lab-kube's publisher)", () => {
    expect(() => parseApiserverRecord({ node: { value } })).toThrow(/no TTL/);
    expect(() => parseApiserverRecord({ node: { value, ttl: 3600 } })).toThrow(/no TTL/);
    expect(() => parseApiserverRecord({ node: { value: "http://x y", ttl: 30 } })).toThrow(/expected form/);
  });
  it("becomes a kubeconfig for the host's kubectl", () => {
    const kc = yaml.load(renderKubeconfig(parseApiserverRecord({ node: { value, ttl: 42 } }))) as Record<
      string,
      unknown
    >;
    expect(kc).toMatchObject({
      kind: "Config",
      "current-context": "lab",
      clusters: [
        {
          name: "lab",
          cluster: { server: "https://172.16.11.11:6443", "certificate-authority-data": "QUJD" },
        },
      ],
      users: [{ name: "lab-admin", user: { token: TOKEN } }],
    });
  });
});

describe("waitForNodesReady against a stand-in API server", () => {
  let dir: string;
  let api: https.Server;
  let etcd: http.Server;
  let ready = new Set<string>();
  let etcdPort = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "lab-kube-api-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=kube-apiserver",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        `${dir}/key`,
        "-out",
        `${dir}/crt`,
      ],
      { stdio: "ignore" },
    );
    const cert = readFileSync(`${dir}/crt`);
    api = https.createServer({ key: readFileSync(`${dir}/key`), cert }, (req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { "content-type": "application/json" });
        return res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            reason: "Unauthorized",
            code: 401,
          }),
        );
      }
      if (req.url !== "/api/v1/nodes") return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" });
      // The registered machines are node-1 and node-2; node-3 never registers.
      res.end(JSON.stringify(nodeList(["node-1", "node-2"].map((n) => node(n, ready.has(n))))));
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const apiPort = (api.address() as AddressInfo).port;
    const record = `https://127.0.0.1:${apiPort} ${TOKEN} ${cert.toString("base64")} ${cert.toString("base64")}`;
    etcd = http.createServer((req, res) => {
      if (req.url !== "/v2/keys/lab/kubernetes/apiserver") return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ action: "get", node: { key: "/lab/kubernetes/apiserver", value: record, ttl: 55 } }),
      );
    });
    await new Promise<void>((r) => etcd.listen(0, "127.0.0.1", r));
    etcdPort = (etcd.address() as AddressInfo).port;
  }, 60_000);

  afterAll(() => {
    api?.close();
    etcd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reports progress and returns once every machine's node is Ready", async () => {
    ready = new Set(["node-1"]);
    const notes: string[] = [];
    const wait = waitForNodesReady(
      { etcdIp: "127.0.0.1", etcdPort, nodes: ["node-1", "node-2"] },
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        note: (l) => {
          notes.push(l);
          if (notes.length === 1) ready.add("node-2");
        },
      },
    );
    await expect(wait).resolves.toEqual({ ready: ["node-1", "node-2"], notReady: [], missing: [] });
    expect(notes).toEqual([
      "kubernetes: 1/2 nodes Ready (node-1)",
      "kubernetes: 2/2 nodes Ready (node-1, node-2)",
    ]);
  });

  it("says which nodes are not Ready when time runs out", async () => {
    ready = new Set(["node-1"]);
    await expect(
      waitForNodesReady(
        { etcdIp: "127.0.0.1", etcdPort, nodes: ["node-1", "node-2", "node-3"] },
        { timeoutMs: 300, intervalMs: 50 },
      ),
    ).rejects.toThrow(/not Ready: node-2; not registered: node-3/);
  });
});
