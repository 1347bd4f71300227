// `lab vm ssh` against a real sshd, and etcd and fleetd installed from the mirror: a Flatcar-shaped
// guest (no fleet, no etcd, no lab units in the image) booted by lab in a namespace this test
// creates. lab's key reaches the guest through cloud-config, the guest's host keys reach lab's
// known_hosts through its serial console (printed by the role cloud-config's lab-hostkeys.service),
// ssh checks them strictly, and the guest runs the fleetd it fetched from the gateway only after
// its sha256 matched.

import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFlatcar } from "../helpers/flatcar.js";
import { serialLogPath } from "../helpers/guest.js";
import { createLabEnv, type LabEnv } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";
import { sharedBin } from "../helpers/shared-bin.js";
import { waitUntil } from "../helpers/wait.js";

const skip = skipUnless([...VM_TOOLS, "ssh", "ssh-keygen"]);
const BOOT_TIMEOUT_MS = 240_000;
// A test that waits for a boot must be allowed the whole wait plus its own commands: with the
// project's 180 s default, the 240 s bound above could never be reached on a loaded machine.
const BOOT_TEST_TIMEOUT_MS = BOOT_TIMEOUT_MS + 90_000;
const FLEET_API = "http://172.16.11.10:49153/fleet/v1/machines";

describe.skipIf(skip)("lab vm ssh, and etcd and fleetd from the mirror on a Flatcar-shaped guest", () => {
  let lab: LabEnv;

  type Result = Awaited<ReturnType<LabEnv["lab"]>>;

  /** Retries `lab vm ssh etcd -- CMD` until `done` holds (the guest may be booting). */
  async function sshUntil(command: string[], done: (r: Result) => boolean): Promise<Result> {
    const ssh = () => lab.lab(["vm", "ssh", "etcd", "--", ...command], { reject: false });
    let r = await ssh();
    try {
      await waitUntil(
        async () => {
          if (done(r)) return true;
          // Before the guest reports its keys: a clear refusal, never a silent trust-on-first-use.
          if (r.exitCode === 4)
            expect(r.stderr).toMatch(/has not reported its ssh host key[\s\S]*hint: .*--accept-new/);
          r = await ssh();
          return done(r);
        },
        { what: `'${command.join(" ")}' on etcd`, timeout: BOOT_TIMEOUT_MS, interval: 3000 },
      );
    } catch (err) {
      const log = await readFile(serialLogPath(lab.run, "etcd"), "utf8").catch(() => "");
      throw new Error(
        `${(err as Error).message}\nlast exit ${r.exitCode}: ${r.stderr}\nserial log tail:\n${log.slice(-2000)}`,
      );
    }
    return r;
  }
  const sshUntilOk = (command: string[]) => sshUntil(command, (r) => r.exitCode === 0);

  beforeAll(async () => {
    lab = await createLabEnv(await createNetns("labS"));
    await lab.lab(["net", "up"]);
    await importFlatcar(lab);
    await lab.lab(["vm", "create", "etcd", "--role", "etcd", "--memory", "512"]);
  });

  afterAll(async () => {
    await lab?.cleanup();
    await deleteAllNetns();
  });

  it(
    "runs a command as core, with the host key the guest reported on its console",
    async () => {
      const r = await sshUntilOk(["hostname"]);
      expect(r.stdout.trim()).toBe("etcd");
      const known = await readFile(path.join(lab.home, "ssh/known_hosts"), "utf8");
      expect(known).toMatch(/^etcd,172\.16\.11\.10 ssh-ed25519 AAAA/m);
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it("passes the remote exit status through and logs in as core", async () => {
    const r = await lab.lab(["vm", "ssh", "etcd", "--", "sh", "-c", "'exit 3'"], { reject: false });
    expect(r.exitCode).toBe(3);
    const who = await lab.lab(["vm", "ssh", "etcd", "--", "id", "-un"]);
    expect(who.stdout.trim()).toBe("core");
  });

  it("lab exec passes arguments as given and the exit code through; lab cp copies both ways", async () => {
    const r = await lab.lab(["exec", "etcd", "--", "sh", "-c", "exit 3"], { reject: false });
    expect(r.exitCode).toBe(3);
    const echo = await lab.lab(["exec", "etcd", "--", "printf", "%s|", "a  b", "$HOME"]);
    expect(echo.stdout).toBe("a  b|$HOME|");
    const dir = path.join(lab.home, "..");
    await writeFile(path.join(dir, "up.txt"), "copied by lab cp\n");
    await lab.lab(["cp", path.join(dir, "up.txt"), "etcd:/tmp/up.txt"]);
    expect((await lab.lab(["exec", "etcd", "--", "cat", "/tmp/up.txt"])).stdout).toBe("copied by lab cp"); // stdout as captured, final newline trimmed
    await lab.lab(["cp", "etcd:/tmp/up.txt", path.join(dir, "down.txt")]);
    expect(await readFile(path.join(dir, "down.txt"), "utf8")).toBe("copied by lab cp\n");
  });

  it(
    "runs the fleetd it fetched from the mirror, and fleet registers the machine",
    async () => {
      const exe = [
        "sh",
        "-c",
        "'sudo readlink /proc/$(systemctl show -p MainPID --value lab-fleet.service)/exe'",
      ];
      const machines = await waitUntil(
        async () => {
          const r = await inNs(lab.ns, ["curl", "-s", "--max-time", "5", FLEET_API], { reject: false });
          return String(r.stdout).includes("role") && String(r.stdout);
        },
        { what: "fleet to list the machine with its metadata", timeout: BOOT_TIMEOUT_MS, interval: 3000 },
      );
      expect(JSON.parse(machines).machines).toEqual([
        expect.objectContaining({ primaryIP: "172.16.11.10", metadata: { role: "etcd" } }),
      ]);
      expect((await sshUntilOk(exe)).stdout.trim()).toBe("/opt/bin/fleetd");
      const units = await lab.lab([
        "vm",
        "ssh",
        "etcd",
        "--",
        "systemctl",
        "is-active",
        "lab-install@fleetd.service",
      ]);
      expect(units.stdout.trim()).toBe("active");
      const sum = await lab.lab(["vm", "ssh", "etcd", "--", "sha256sum", "/opt/bin/fleetd"]);
      const want = createHash("sha256")
        .update(await readFile(sharedBin("fleetd")))
        .digest("hex");
      expect(sum.stdout.split(/\s+/)[0]).toBe(want);
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it(
    "a guest refuses a fleetd whose digest does not match, and fleet stays down",
    async () => {
      // Same size, one byte different: the mirror serves it (it trusts its own directory), the guest must not run it.
      const file = path.join(lab.home, "mirror/fleetd");
      const bytes = await readFile(file);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      await writeFile(file, bytes);
      await lab.lab(["vm", "restart", "etcd"]);
      // The guest that answers now is the restarted one: the old qemu is gone when restart returns.
      await sshUntil(
        ["systemctl", "is-failed", "lab-install@fleetd.service"],
        (r) => r.stdout.trim() === "failed",
      );
      const journal = await lab.lab([
        "vm",
        "ssh",
        "etcd",
        "--",
        "sudo",
        "journalctl",
        "-u",
        "lab-install@fleetd",
        "-b",
      ]);
      expect(journal.stdout).toMatch(/fleetd\.download: FAILED/);
      const fleet = await lab.lab(
        ["vm", "ssh", "etcd", "--", "systemctl", "is-active", "lab-fleet.service"],
        {
          reject: false,
        },
      );
      expect(fleet.stdout.trim()).not.toBe("active");
    },
    BOOT_TEST_TIMEOUT_MS,
  );

  it("refuses a host key that does not match what the console reported", async () => {
    // Another VM's key for this address, as if the guest had been replaced behind lab's back: lab
    // rewrites known_hosts from the console, so the check happens against ssh's own view here.
    const keyFile = path.join(lab.home, "ssh/id_ed25519");
    const wrong = path.join(lab.home, "ssh/wrong_known_hosts");
    await writeFile(
      wrong,
      "172.16.11.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC6szBZu525mk0Rb0YGl1ZDdXq38QbCkTwqYOt2fL1MX\n",
    );
    const r = await inNs(
      lab.ns,
      [
        "ssh",
        "-i",
        keyFile,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        `UserKnownHostsFile=${wrong}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "--",
        "core@172.16.11.10",
        "true",
      ],
      { reject: false },
    );
    expect(r.exitCode).toBe(255);
    expect(String(r.stderr)).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });
});
