// lab's own ssh key pair ($LAB_HOME/ssh/id_ed25519{,.pub}): made once per lab home with
// ssh-keygen, private key readable by root only. Its public key goes onto every VM.
import { chmod, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Host } from "../host/host.js";
import { fsyncPath, SingleFlight, tempArea } from "../state/atomic.js";
import type { LabPaths } from "../state/paths.js";

export function keygenArgv(file: string, comment: string): string[] {
  return ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file];
}

/** `lab@<host name>`, reduced to characters that cannot disturb an authorized_keys line. */
export function keyComment(hostname: string = os.hostname()): string {
  return `lab@${hostname.replace(/[^A-Za-z0-9.-]/g, "-") || "localhost"}`;
}

const isFile = (f: string) =>
  stat(f).then(
    (s) => s.isFile(),
    () => false,
  );

/** One generation per key file at a time, whichever caller (VM start, `vm ssh`) asks first. */
const generating = new SingleFlight<string>();

/** Makes the key pair if it is not complete yet; returns the public key line. */
export function ensureLabKeyPair(host: Host, p: LabPaths): Promise<string> {
  return generating.run(p.ssh.privateKey, () => ensure(host, p));
}

async function ensure(host: Host, p: LabPaths): Promise<string> {
  await mkdir(p.sshDir, { recursive: true, mode: 0o700 });
  await chmod(p.sshDir, 0o700);
  if ((await isFile(p.ssh.privateKey)) && (await isFile(p.ssh.publicKey))) {
    await chmod(p.ssh.privateKey, 0o600);
    return (await readFile(p.ssh.publicKey, "utf8")).trim();
  }
  // Made in a temp dir and renamed in, private key last: a pair is only ever seen complete
  // (a crash in between leaves no private key, and the next call makes a new pair).
  const area = tempArea(p.sshDir);
  await area.cleanStale();
  const tmp = area.claim("keygen");
  await mkdir(tmp, { mode: 0o700 });
  try {
    const file = path.join(tmp, "id_ed25519");
    await host.run(keygenArgv(file, keyComment()));
    await chmod(file, 0o600);
    await rm(p.ssh.privateKey, { force: true });
    await rename(`${file}.pub`, p.ssh.publicKey);
    await rename(file, p.ssh.privateKey);
    await fsyncPath(p.sshDir);
  } finally {
    await area.release(tmp);
  }
  return (await readFile(p.ssh.publicKey, "utf8")).trim();
}
