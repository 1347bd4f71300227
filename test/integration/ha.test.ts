// The HA topology from one lab file (lab-flatcar-lb image: real etcd, fleet, haproxy, keepalived and
// systemd in the guests): 3 etcd members forming one cluster, 2 lb machines holding the API VIP
// with keepalived (unicast VRRP) and forwarding 6443 with haproxy, 2 kubernetes machines each
// running an API server of lab's own units (units/kube-apiserver@.service and its controller
// manager, scheduler and record publisher, one instance per machine, launched by lab up through
// fleet), the programs being stand-ins (test/fixtures/kube-standin.sh: the API server serves /readyz
// over TLS with the certificate lab-kube issued from the shared CA). Checked: etcdctl lists 3
// started members; the VIP reaches an API server whose certificate the record's CA verifies for the
// VIP; killing the VIP holder moves the VIP to the other lb and requests work again; killing an API
// server machine keeps the VIP answering, from the other API server; killing an etcd member after
// that keeps the cluster writable and the VIP answering. Opt-in (LAB_TEST_HA=1): seven systemd guests under TCG on a shared 2-core
// host take far longer than CI allows. LAB_HA_REPORT=FILE writes the failover figures as JSON
// (npm run bench:ha).

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_ETCD, requireFlatcarBundle } from "../helpers/flatcar.js";
import { createLabEnv, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { sharedBin } from "../helpers/shared-bin.js";
import { waitUntil } from "../helpers/wait.js";

const LB_BUNDLE = process.env.LAB_FLATCAR_LB_BUNDLE ?? path.join(repoRoot, ".cache/images/lab-flatcar-lb");
const IMAGE = "lab-flatcar-lb";
const VIP = "172.16.11.5";
const skip = skipUnless([...VM_TOOLS, "ssh", "curl", "etcdctl"]);
// LAB_TEST_HA=1: the whole topology. On a loaded host the parts can be proven on their own:
// LAB_TEST_HA=etcd (the 3 etcd members only), LAB_TEST_HA=lb (one etcd machine for fleet, the
// 2 lb machines and the 2 API server machines).
const part = process.env.LAB_TEST_HA;
const wanted = part === "1" || part === "etcd" || part === "lb";
const etcdCount = part === "lb" ? 1 : 3;
const withEtcdCluster = etcdCount === 3;
const withLb = part !== "etcd";
const KUBE = ["kube-1", "kube-2"];
/** The API server units lab up launches behind the VIP, one instance of each per kubernetes machine. */
const API_UNITS = ["kube-apiserver", "kube-apiserver-record", "kube-controller-manager", "kube-scheduler"];

interface Figures {
  vipFailoverMs?: number;
  vipFailedRequests?: number;
  apiFailoverMs?: number;
  apiFailedRequests?: number;
}

describe.skipIf(skip || !wanted)("HA lab: etcd cluster of 3, lb pair with the API VIP, 2 API servers", () => {
  let lab: LabEnv;
  let work: string;
  let file: string;
  let caFile: string;
  const ips = new Map<string, string>();
  const figures: Figures = {};
  const ssh = (vm: string, command: string) => lab.lab(["vm", "ssh", vm, "--", command], { reject: false });
  const endpoints = () =>
    Array.from({ length: etcdCount }, (_, i) => `http://${ips.get(`etcd-${i + 1}`)}:2379`);
  const etcdctl = (args: string[], eps = endpoints()) =>
    inNs(lab.ns, ["env", "ETCDCTL_API=3", "etcdctl", `--endpoints=${eps.join(",")}`, ...args], {
      reject: false,
    });
  /**
   * GET /readyz through the VIP, the server verified with the CA of the API servers' record (for the
   * VIP's address): which kubernetes machine answered, by the address its certificate names.
   */
  const viaVip = async (): Promise<string | undefined> => {
    const r = await inNs(
      lab.ns,
      [
        "curl",
        "-sS",
        "--cacert",
        caFile,
        "--max-time",
        "3",
        "-w",
        "\\n%{certs}",
        `https://${VIP}:6443/readyz`,
      ],
      { reject: false },
    );
    const out = String(r.stdout);
    if (r.exitCode !== 0 || out.split("\n")[0] !== "ok") return undefined;
    const san = /Subject Alternative Name:(.*)/.exec(out)?.[1] ?? "";
    if (!san.includes(`IP Address:${VIP}`)) return undefined;
    return KUBE.find((k) => new RegExp(`IP Address:${ips.get(k)!.replaceAll(".", "\\.")}(,|$)`).test(san));
  };
  const holder = async () => {
    for (const lb of ["lb-1", "lb-2"]) {
      const r = await ssh(lb, "ip -o -4 addr show dev eth0");
      if (r.exitCode === 0 && r.stdout.includes(` ${VIP}/`)) return lb;
    }
    return undefined;
  };
  const kill = async (vm: string) => {
    const pid = Number((await readFile(path.join(lab.run, "vms", vm, "qemu.pid"), "utf8")).trim());
    process.kill(pid, "SIGKILL");
  };
  /** fleet's units and a machine's API server journal, for a failure message. */
  const diagnose = async (vm: string) => {
    const units = await lab.lab(["fleet", "list-units"], { reject: false });
    const journal = await ssh(
      vm,
      "journalctl --no-pager -n 30 -u 'kube-apiserver@*' -u lab-fleet.service; curl -sk https://127.0.0.1:6443/readyz",
    );
    return `--- fleet list-units\n${units.stdout}${units.stderr}\n--- ${vm}\n${journal.stdout}${journal.stderr}`;
  };
  /** Polls the VIP from `since` until it answers; how long that took and how many requests failed. */
  const untilAnswering = async (since: number) => {
    let failed = 0;
    const answer = await waitUntil(
      async () => {
        const a = await viaVip();
        if (!a) failed++;
        return a;
      },
      { what: `the VIP ${VIP} to answer again`, timeout: 180_000, interval: 200 },
    );
    return { answer, ms: Date.now() - since, failed };
  };

  beforeAll(async () => {
    requireFlatcarBundle(LB_BUNDLE);
    work = await mkdtemp(path.join(tmpdir(), "lab-ha-"));
    caFile = path.join(work, "api-ca.crt");
    lab = await createLabEnv(await createNetns("labH"));
    file = path.join(work, "lab.yaml");
    const standin = path.join(work, "standin");
    await writeFile(standin, await readFile(path.join(repoRoot, "test/fixtures/kube-standin.sh")), {
      mode: 0o755,
    });
    const programs = ["kube-apiserver", "kubectl", "kube-controller-manager", "kube-scheduler"];
    await writeFile(
      file,
      yaml.dump({
        networks: [
          {
            name: "default",
            subnet: "172.16.11.0/24",
            cluster: { podNetwork: "10.0.0.0/16", ...(withLb ? { apiVip: VIP } : {}) },
          },
        ],
        images: [{ name: IMAGE, import: LB_BUNDLE }],
        machines: [
          { group: "etcd", role: "etcd", count: etcdCount, memory: 512 },
          ...(withLb
            ? [
                { group: "lb", role: "lb", count: 2, memory: 512 },
                { group: "kube", role: "kubernetes", count: KUBE.length, memory: 512 },
              ]
            : []),
        ],
        // The API server units only (no flannel, kubelet or proxy: the nodes are not what is shown).
        ...(withLb
          ? {
              fleet: {
                dir: path.join(repoRoot, "units"),
                units: [
                  "kube-apiserver*.service",
                  "kube-controller-manager.service",
                  "kube-scheduler.service",
                ],
              },
            }
          : {}),
        artifacts: [
          {
            name: "etcd",
            path: existsSync(path.join(LB_BUNDLE, "mirror/etcd"))
              ? path.join(LB_BUNDLE, "mirror/etcd")
              : BUNDLE_ETCD,
          },
          { name: "fleetd", path: sharedBin("fleetd") },
          ...(withLb ? programs.map((p) => ({ name: `${p}-v1.35.0`, path: standin })) : []),
        ],
      }),
    );
  });

  afterAll(async () => {
    if (process.env.LAB_HA_REPORT) await writeFile(process.env.LAB_HA_REPORT, JSON.stringify(figures));
    await lab?.cleanup();
    await deleteAllNetns();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("lab up brings the machines up; etcd has its members; lab status shows them and the VIP", async () => {
    const up = await lab.lab(["up", "-f", file], { reject: false });
    const vms = JSON.parse((await lab.lab(["vm", "list", "--json"])).stdout) as {
      name: string;
      ip: string;
    }[];
    for (const v of vms) ips.set(v.name, v.ip);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`.split("\n").slice(-60).join("\n")).toBe(0);
    const list = await waitUntil(
      async () => {
        const r = await etcdctl(["member", "list", "-w", "json"]);
        if (r.exitCode !== 0) return undefined;
        const members = (JSON.parse(String(r.stdout)).members ?? []) as { name?: string }[];
        return members.length === etcdCount && members.every((m) => m.name) ? members : undefined;
      },
      { what: `${etcdCount} started etcd members`, timeout: 900_000, interval: 3000 },
    );
    expect(list.map((m) => m.name).sort()).toEqual(
      Array.from({ length: etcdCount }, (_, i) => `etcd-${i + 1}`),
    );
    if (withEtcdCluster) {
      const status = (await lab.lab(["status", "-f", file])).stdout;
      for (const m of ["etcd-1", "etcd-2", "etcd-3"])
        expect(status).toMatch(new RegExp(`etcd +${m} +healthy`));
    }
    if (withLb) {
      // keepalived takes the VIP a few adverts after it starts: status says so once it did.
      await waitUntil(
        async () =>
          /vip +default +held +172\.16\.11\.5 +by lb-[12]/.test(
            (await lab.lab(["status", "-f", file])).stdout,
          ),
        { what: "lab status to show the VIP held by one lb machine", timeout: 300_000, interval: 3000 },
      );
    }
  }, 2_400_000);

  it.skipIf(!withLb)(
    "an API server on each kubernetes machine, the rest beside it; the record and kubeconfig name the VIP",
    async () => {
      const rows = JSON.parse((await lab.lab(["fleet", "list-units", "--json"])).stdout) as {
        unit: string;
        machine: string;
        active: string;
      }[];
      const on = (unit: string) =>
        rows.filter((r) => r.unit === unit && r.active === "active").map((r) => r.machine.split("/")[1]);
      const apis = [1, 2].map((i) => on(`kube-apiserver@${i}.service`));
      expect(apis.map((a) => a.length)).toEqual([1, 1]);
      expect(apis.flat().sort()).toEqual(KUBE.map((k) => ips.get(k)).sort());
      for (const i of [1, 2])
        for (const u of API_UNITS.slice(1)) expect(on(`${u}@${i}.service`), `${u}@${i}`).toEqual(apis[i - 1]);
      expect(rows.filter((r) => r.unit === "kube-apiserver.service")).toEqual([]);
      const kubeconfig = path.join(work, "lab.kubeconfig");
      await lab.lab(["kubeconfig", "-o", kubeconfig]);
      const kc = yaml.load(await readFile(kubeconfig, "utf8")) as {
        clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      };
      expect(kc.clusters[0]!.cluster.server).toBe(`https://${VIP}:6443`);
      await writeFile(caFile, Buffer.from(kc.clusters[0]!.cluster["certificate-authority-data"], "base64"));
      // Both API servers share one CA: the record's, which both machines hold.
      const cas = await Promise.all(
        KUBE.map(async (k) => (await ssh(k, "sudo cat /var/lib/lab/kubernetes/pki/ca.crt")).stdout),
      );
      // (lab vm ssh's output comes without its last newline.)
      expect(cas[0]).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(cas[0]).toBe(cas[1]);
      expect(cas[0]).toBe((await readFile(caFile, "utf8")).trimEnd());
    },
    300_000,
  );

  it.skipIf(!withLb)(
    "a request to the VIP reaches an API server; its certificate, from the shared CA, names the VIP",
    async () => {
      const who = await waitUntil(() => viaVip(), {
        what: `an API server behind ${VIP}`,
        timeout: 600_000,
        interval: 2000,
      });
      expect(KUBE).toContain(who);
      // Round robin: the other API server answers too, under the same CA and the same name.
      const seen = new Set<string>([who]);
      await waitUntil(
        async () => {
          const a = await viaVip();
          if (a) seen.add(a);
          return seen.size === 2;
        },
        { what: "both API servers to answer through the VIP", timeout: 120_000, interval: 500 },
      );
    },
    700_000,
  );

  it.skipIf(!withLb)(
    "killing the VM holding the VIP moves it to the other lb; requests work again",
    async () => {
      const first = await waitUntil(holder, {
        what: `an lb machine holding ${VIP}`,
        timeout: 300_000,
        interval: 2000,
      });
      const other = first === "lb-1" ? "lb-2" : "lb-1";
      const t0 = Date.now();
      await kill(first);
      const r = await untilAnswering(t0);
      figures.vipFailoverMs = r.ms;
      figures.vipFailedRequests = r.failed;
      expect(await holder()).toBe(other);
      console.log(`VIP failover: ${r.ms} ms, ${r.failed} failed request(s)`);
    },
    400_000,
  );

  it.skipIf(!withLb)(
    "killing one API server machine keeps the VIP answering",
    async () => {
      const serving = await waitUntil(() => viaVip(), { what: "the VIP", timeout: 120_000 });
      const t0 = Date.now();
      await kill(serving);
      const survivor = KUBE.find((k) => k !== serving)!;
      let failed = 0;
      // haproxy's check takes the dead server out (fall 2 × inter 2 s); then every request lands.
      await waitUntil(
        async () => {
          for (let i = 0; i < 5; i++) {
            const a = await viaVip();
            if (a !== survivor) {
              failed++;
              return false;
            }
          }
          return true;
        },
        { what: `5 answers in a row from ${survivor}`, timeout: 180_000, interval: 200 },
      ).catch(async (err: Error) => {
        throw new Error(`${err.message} (${failed} failed)\n${await diagnose(survivor)}`);
      });
      figures.apiFailoverMs = Date.now() - t0;
      figures.apiFailedRequests = failed;
      console.log(`API server failover: ${figures.apiFailoverMs} ms, ${failed} failed request(s)`);
    },
    300_000,
  );
  it.skipIf(!withEtcdCluster)(
    "killing one etcd member keeps the cluster writable",
    async () => {
      await kill("etcd-1");
      const put = await waitUntil(
        async () => {
          const r = await etcdctl(["put", "/lab/ha-test", "written"], endpoints().slice(1));
          return r.exitCode === 0 ? r : undefined;
        },
        { what: "a write with one etcd member down", timeout: 120_000, interval: 1000 },
      );
      expect(String(put.stdout)).toMatch(/OK/);
      const got = await etcdctl(["get", "/lab/ha-test", "--print-value-only"], endpoints().slice(1));
      expect(String(got.stdout).trim()).toBe("written");
      // The API servers (and fleet, which runs them) keep going with a member gone.
      if (withLb) {
        await waitUntil(viaVip, { what: `the VIP with etcd-1 down`, timeout: 120_000, interval: 1000 }).catch(
          async (err: Error) => {
            throw new Error(`${err.message}\n${await diagnose("kube-1")}\n${await diagnose("kube-2")}`);
          },
        );
      }
    },
    300_000,
  );
});
