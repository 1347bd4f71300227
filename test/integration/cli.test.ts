// The CLI as users meet it (issue 14 items 2-6 and 10), through the real `lab` and labd with OVS,
// dnsmasq and one busybox lab-test VM (TCG) in a namespace this test creates. One VM serves every case.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import * as pty from "node-pty";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openConsole } from "../helpers/console.js";
import { createLabEnv, type LabEnv, labBin, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";

const skip = skipUnless([...VM_TOOLS]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");
const ESC = "\x1b";

describe.skipIf(skip)(
  "lab CLI conventions (real labd, OVS, dnsmasq and a lab-test VM in a namespace)",
  () => {
    let lab: LabEnv;
    /** A directory with no lab.yaml: status, down and ls are about everything labd knows. */
    let empty: string;

    /** `lab ARGS` run in `empty`, so no lab file is found. */
    const labHere = async (args: string[], env: Record<string, string> = {}) => {
      const r = await execa("ip", ["netns", "exec", lab.ns, process.execPath, labBin, ...args], {
        env: { ...lab.env, ...env },
        extendEnv: false,
        reject: false,
        cwd: empty,
        stdin: "ignore",
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    };

    /** Runs the generated bash completion for a command line and returns COMPREPLY. */
    const bashComplete = (words: string[]): string[] => {
      const script = execFileSync(process.execPath, [labBin, "completion", "bash"], { encoding: "utf8" });
      const envs = Object.entries(lab.env)
        .map(([k, v]) => `${k}='${v}'`)
        .join(" ");
      const program = `lab() { env ${envs} ip netns exec ${lab.ns} ${process.execPath} ${labBin} "$@"; }
${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_lab_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync("bash", ["--norc", "-c", program], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
    };

    beforeAll(async () => {
      if (!existsSync(path.join(bundle, "manifest.json")))
        throw new Error("run npm run setup first (builds the lab-test image)");
      lab = await createLabEnv(await createNetns("labC"));
      empty = await mkdtemp(path.join(tmpdir(), "lab-cli-cwd-"));
    });

    afterAll(async () => {
      await lab?.cleanup();
      await deleteAllNetns();
    });

    it("usage errors exit 2 under subcommands too; daemon status exits 3 when stopped; completion does not start labd", async () => {
      for (const args of [
        ["vm", "create"],
        ["vm", "list", "--bogus"],
        ["net"],
        ["bogus"],
        ["vm", "logs", "x", "-n", "many"],
      ]) {
        const r = await lab.lab(args, { reject: false });
        expect(r.exitCode, args.join(" ")).toBe(2);
      }
      const codes = await lab.lab(["help", "exit-codes"]);
      expect(codes.stdout).toMatch(/^\s+2 {2}usage/m);
      expect(codes.stdout).toMatch(/^\s+3 {2}not found/m);
      expect(bashComplete(["lab", "vm", "start", ""])).toEqual([]);
      const status = await lab.lab(["daemon", "status"], { reject: false });
      expect(status.exitCode).toBe(3);
      expect(status.stdout).toMatch(/not running/);
    });

    it("vm create --wait returns once the guest printed LAB-READY, saying what it waits for", async () => {
      await lab.lab(["net", "up"]);
      await lab.lab(["image", "import", bundle, "--name", "lab-test"]);
      const started = Date.now();
      const r = await lab.lab(["vm", "create", "c1", "--role", "etcd", "--wait=600"]);
      expect(r.stderr).toMatch(/VM c1: waiting up to 600 s for LAB-READY on its serial console/);
      expect(r.stderr).toMatch(/VM c1: ready, 172\.16\.11\.10/);
      const log = await lab.lab(["vm", "logs", "c1"]);
      expect(log.stdout).toMatch(/LAB-READY \{/);
      console.log(`vm create --wait: ready after ${Math.round((Date.now() - started) / 1000)} s`);
    }, 900_000);

    it("completion offers VM, network, image and role names from labd at tab time", () => {
      expect(bashComplete(["lab", "vm", "start", ""])).toEqual(["c1"]);
      expect(bashComplete(["lab", "vm", "create", "x", "--net", "d"])).toEqual(["default"]);
      expect(bashComplete(["lab", "vm", "create", "x", "--image", ""])).toEqual(["lab-test"]);
      expect(bashComplete(["lab", "vm", "create", "x", "--role", "e"])).toEqual(["etcd"]);
      expect(bashComplete(["lab", "vm", "sta"])).toEqual(["start"]);
    });

    it("vm logs: -n, -t, --since, and a logged ESC[6n printed as a visible escape", async () => {
      const con = await openConsole(lab, "c1");
      con.write("printf 'probe \\033[6n done\\n'\r");
      await con.waitFor(/probe \x1b\[6n done/);
      expect(await con.detach()).toBe(0);
      // labd marks log times once a second: wait for the mark that covers the probe line.
      const deadline = Date.now() + 60_000;
      let dated = "";
      while (Date.now() < deadline) {
        dated = (await lab.lab(["vm", "logs", "c1", "-t", "--since", "10m"])).stdout;
        if (/^\d{4}-\d\d-\d\dT\S+Z probe \\x1b\[6n done$/m.test(dated)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(dated).toMatch(/^\d{4}-\d\d-\d\dT\S+Z probe \\x1b\[6n done$/m);
      const all = (await lab.lab(["vm", "logs", "c1"])).stdout;
      expect(all).not.toContain(ESC);
      expect(all).toMatch(/probe \\x1b\[6n done/);
      expect((await lab.lab(["vm", "logs", "c1", "--raw"])).stdout).toContain(`probe ${ESC}[6n done`);
      const tail = (await lab.lab(["vm", "logs", "c1", "-n", "3"])).stdout;
      expect(tail.split("\n").filter((l, i, a) => i < a.length - 1 || l !== "")).toHaveLength(3);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect((await lab.lab(["vm", "logs", "c1", "--since", future])).stdout).toBe("");
    });

    it("removing what is gone is 'not found' (exit 3) unless --ignore-missing; conflicts name the fields", async () => {
      for (const args of [
        ["vm", "destroy", "nosuch"],
        ["image", "rm", "nosuch"],
        ["mirror", "rm", "nosuch"],
      ]) {
        const r = await lab.lab(args, { reject: false });
        expect(r.exitCode, args.join(" ")).toBe(3);
        expect(r.stderr).toMatch(/--ignore-missing/);
        const ok = await lab.lab([...args, "--ignore-missing"], { reject: false });
        expect(ok.exitCode, `${args.join(" ")} --ignore-missing`).toBe(0);
      }
      const conflict = await lab.lab(["vm", "create", "c1", "--role", "kubernetes", "--cpus", "2"], {
        reject: false,
      });
      expect(conflict.exitCode).toBe(4);
      expect(conflict.stderr).toMatch(
        /VM c1 already exists with role etcd \(asked: kubernetes\), cpus 1 \(asked: 2\)/,
      );
    });

    it("small things: KiB sizes, empty-list hint on stderr, colour only at a terminal without NO_COLOR", async () => {
      const small = path.join(empty, "small.txt");
      await writeFile(small, "x".repeat(3000));
      await lab.lab(["mirror", "import", "small", small]);
      expect((await lab.lab(["mirror", "list"])).stdout).toMatch(/small +2\.9 KiB/);
      await lab.lab(["mirror", "rm", "small"]);
      const none = await lab.lab(["fleet", "list-machines", "--endpoint", "http://127.0.0.1:9"], {
        reject: false,
      });
      expect(none.exitCode).not.toBe(0);
      const piped = await lab.lab(["vm", "list"]);
      expect(piped.stdout).not.toContain(ESC);
      const onTerminal = async (env: Record<string, string>) => {
        const term = pty.spawn("ip", ["netns", "exec", lab.ns, process.execPath, labBin, "vm", "list"], {
          env: { ...lab.env, TERM: "xterm", ...env },
          cols: 200,
          rows: 30,
        });
        let screen = "";
        term.onData((d) => {
          screen += d;
        });
        await new Promise<void>((resolve) => term.onExit(() => resolve()));
        return screen;
      };
      expect(await onTerminal({})).toContain(`${ESC}[32mrunning${ESC}[39m`);
      expect(await onTerminal({ NO_COLOR: "1" })).not.toContain(ESC);
      const images = await labHere(["image", "list"]);
      expect(images.stdout).not.toMatch(/add one/);
    });

    it("events: history with --no-follow and filters; live by default; start --wait times out with exit 1", async () => {
      const hist = await lab.lab(["events", "--no-follow", "--vm", "c1", "--type", "vm.created", "--json"]);
      const lines = hist.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ type: "vm.created", vm: "c1" });
      expect((await lab.lab(["events", "--no-follow", "-n", "1", "--type", "network.*"])).stdout).toMatch(
        /network\.up +network=default/,
      );
      // Following from now: vm.stopped comes from the history or live (whichever the follower reaches
      // first); once it is printed the follower is on to live events, and vm.started must arrive live.
      const since = new Date().toISOString();
      const live = execa(
        "ip",
        ["netns", "exec", lab.ns, process.execPath, labBin, "events", "--vm", "c1", "--since", since],
        { env: lab.env, extendEnv: false, reject: false },
      );
      let seen = "";
      live.stdout?.on("data", (d: Buffer) => {
        seen += d.toString();
      });
      const waitSeen = async (re: RegExp) => {
        const deadline = Date.now() + 120_000;
        while (!re.test(seen) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(seen).toMatch(re);
      };
      try {
        await lab.lab(["vm", "stop", "c1", "--timeout", "5"]);
        await waitSeen(/vm\.stopped +vm=c1/);
        // A real boot (the VM is stopped) that cannot print LAB-READY within 1 s under TCG.
        const r = await lab.lab(["vm", "start", "c1", "--wait=1"], { reject: false });
        expect(r.stderr).toMatch(/VM c1: waiting up to 1 s for LAB-READY/);
        expect(r.stderr).toMatch(/VM c1 printed no LAB-READY line within 1 s/);
        expect(r.exitCode).toBe(1);
        await waitSeen(/vm\.started +vm=c1/);
        expect(seen).not.toMatch(/vm\.created/);
      } finally {
        live.kill();
        await live;
      }
    });

    it("without a lab file: ls and status show all of labd; down lists, refuses without a terminal, and -y removes", async () => {
      const ls = await labHere(["ls"]);
      expect(ls.stdout).toMatch(/network +default +up +172\.16\.11\.0\/24/);
      expect(ls.stdout).toMatch(/vm +c1 +running +172\.16\.11\.10/);
      expect(ls.stdout).toMatch(/image +lab-test +in use/);
      const json = JSON.parse((await labHere(["ls", "--json"])).stdout);
      expect(json.vms[0]).toMatchObject({ name: "c1", role: "etcd", network: "default" });
      const status = await labHere(["status"]);
      expect(status.stderr).toMatch(/no lab\.yaml here/);
      expect(status.stdout).toMatch(/vm +c1 +running +172\.16\.11\.10/);
      const plan = await labHere(["down", "--plan"]);
      expect(plan.stdout).toMatch(/vm +c1 +running.*remove/);
      expect(plan.stdout).toMatch(/network +default +172\.16\.11\.0\/24 +remove/);
      const refused = await labHere(["down"]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/refusing without a terminal/);
      expect(JSON.parse((await labHere(["ls", "--json"])).stdout).vms).toHaveLength(1);
      const down = await labHere(["down", "-y", "--forget"]);
      expect(down.exitCode).toBe(0);
      expect(down.stdout).toMatch(/vm c1: removed/);
      expect(down.stdout).toMatch(/network default: removed/);
      const after = JSON.parse((await labHere(["ls", "--json"])).stdout);
      expect(after.vms).toEqual([]);
      expect(after.networks).toEqual([]);
    });
  },
);
