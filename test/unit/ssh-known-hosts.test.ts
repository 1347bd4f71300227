import { describe, expect, it } from "vitest";
import { sshArgv } from "../../src/ssh/argv.js";
import { keyComment, keygenArgv } from "../../src/ssh/keys.js";
import { isKeyBlob, mergeKnownHosts, parseHostKeys } from "../../src/ssh/known-hosts.js";
import type { SshTarget } from "../../src/ssh/target.js";

const ED1 = "AAAAC3NzaC1lZDI1NTE5AAAAIC6szBZu525mk0Rb0YGl1ZDdXq38QbCkTwqYOt2fL1MX";
const ECDSA =
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIg7OvdwhbeknfLH1SamnqhUxuSR8StjESR4rNxAfwLyMRLr2IkNr/C7S8XgZMQTKqu2YWcSiQKiSRW9R2nWfRM=";
// A second boot's ed25519 key (same type prefix, other key bytes).
const ED2 = Buffer.concat([Buffer.from(ED1, "base64").subarray(0, 19), Buffer.alloc(32, 7)]).toString(
  "base64",
);

// Serial console of a lab-fleet guest: kernel and systemd noise, CRLF line ends, two boots.
const serialLog = [
  "[    0.000000] Linux version 6.1.0-56-amd64",
  "[  OK  ] Started ssh.service - OpenBSD Secure Shell server.",
  `LAB-SSH-HOSTKEY ssh-ed25519 ${ED1}\r`,
  `LAB-SSH-HOSTKEY ecdsa-sha2-nistp256 ${ECDSA}\r`,
  "256 SHA256:abc root@etcd (ED25519)",
  "etcd login: core (automatic login)",
  // What a hostile or confused guest might print: none of it may reach known_hosts.
  "LAB-SSH-HOSTKEY ssh-ed25519 AAAA-not-base64",
  `LAB-SSH-HOSTKEY ssh-rsa ${ED1}`,
  `LAB-SSH-HOSTKEY ssh-ed25519 ${ED1} trailing words`,
  `echo LAB-SSH-HOSTKEY ssh-ed25519 ${ED2}`,
  "LAB-SSH-HOSTKEY ssh-ed25519 AAAA\nevil.example ssh-ed25519 AAAA",
  "[   30.1] reboot: Restarting system",
  `LAB-SSH-HOSTKEY ssh-ed25519 ${ED2}\r`,
  "",
].join("\n");

describe("host keys from the serial console", () => {
  it("takes the latest boot's key of each type and rejects malformed lines", () => {
    expect(parseHostKeys(serialLog)).toEqual([
      { type: "ecdsa-sha2-nistp256", base64: ECDSA },
      { type: "ssh-ed25519", base64: ED2 },
    ]);
  });

  it("checks that a blob is a key of the type it claims", () => {
    expect(isKeyBlob("ssh-ed25519", ED1)).toBe(true);
    expect(isKeyBlob("ssh-rsa", ED1)).toBe(false);
    expect(isKeyBlob("ssh-ed25519", "AAAA")).toBe(false);
  });

  it("finds nothing in a log without key lines", () => {
    expect(parseHostKeys("LAB-READY {}\nnode1# ")).toEqual([]);
  });
});

describe("lab known_hosts", () => {
  const keys = [{ type: "ssh-ed25519", base64: ED1 }];

  it("replaces every line naming the VM or its IP, and keeps the others", () => {
    const before = [
      `node1,172.16.11.10 ssh-ed25519 ${ED2}`,
      `172.16.11.10 ecdsa-sha2-nistp256 ${ECDSA}`,
      `node2,172.16.11.11 ssh-ed25519 ${ED2}`,
      "# a comment",
      "",
    ].join("\n");
    expect(mergeKnownHosts(before, ["node1", "172.16.11.10"], keys)).toBe(
      [
        `node2,172.16.11.11 ssh-ed25519 ${ED2}`,
        "# a comment",
        `node1,172.16.11.10 ssh-ed25519 ${ED1}`,
        "",
      ].join("\n"),
    );
  });

  it("is unchanged when the guest reported nothing", () => {
    expect(mergeKnownHosts("x ssh-ed25519 AAAA\n", ["node1", "172.16.11.10"], [])).toBe(
      "x ssh-ed25519 AAAA\n",
    );
  });

  it("is stable: merging the same keys twice gives the same text", () => {
    const once = mergeKnownHosts("", ["node1", "172.16.11.10"], keys);
    expect(mergeKnownHosts(once, ["node1", "172.16.11.10"], keys)).toBe(once);
  });
});

describe("ssh command line", () => {
  const t: SshTarget = {
    name: "node1",
    ip: "172.16.11.10",
    user: "core",
    keyFile: "/var/lib/lab/ssh/id_ed25519",
    knownHostsFile: "/var/lib/lab/ssh/known_hosts",
    hostKeys: 2,
  };

  it("uses only lab's key and lab's known_hosts, strictly", () => {
    expect(sshArgv(t, { command: ["uname", "-a"] })).toEqual([
      "ssh",
      "-i",
      "/var/lib/lab/ssh/id_ed25519",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "UserKnownHostsFile=/var/lib/lab/ssh/known_hosts",
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=yes",
      "--",
      "core@172.16.11.10",
      "uname",
      "-a",
    ]);
    expect(sshArgv(t, { acceptNew: true })).toContain("StrictHostKeyChecking=accept-new");
  });

  it("refuses a user that would be read as an option or a second host", () => {
    for (const user of ["-oProxyCommand=x", "a@b", "root x", ""])
      expect(() => sshArgv(t, { user })).toThrow();
  });

  it("makes an ed25519 key without passphrase, with a tidy comment", () => {
    expect(keygenArgv("/k", keyComment("box 1;$(x)"))).toEqual([
      "ssh-keygen",
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "lab@box-1---x-",
      "-f",
      "/k",
    ]);
  });
});
