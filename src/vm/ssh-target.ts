// What `lab vm ssh` needs from labd: the VM's address, lab's key and a known_hosts file brought
// up to date from the host keys the guest printed on its console.
import type { LabContext } from "../context.js";
import { ConflictError } from "../errors.js";
import { ensureLabKeyPair } from "../ssh/keys.js";
import { mergeKnownHosts, parseHostKeys } from "../ssh/known-hosts.js";
import { DEFAULT_SSH_USER, type SshTarget } from "../ssh/target.js";
import { readText, writeIfChanged } from "../state/atomic.js";
import { Mutex } from "../state/mutex.js";
import { getSpec } from "./lifecycle.js";
import { vmStatus } from "./status.js";

const knownHostsLock = new Mutex();

/** Rewrites the VM's known_hosts lines from its serial log; returns how many keys it reported. */
export async function updateKnownHosts(ctx: LabContext, name: string, ip: string): Promise<number> {
  const keys = parseHostKeys((await readText(ctx.paths.vm(name).serialLog)) ?? "");
  if (keys.length === 0) return 0;
  const file = ctx.paths.ssh.knownHosts;
  await knownHostsLock.run(async () =>
    writeIfChanged(file, mergeKnownHosts((await readText(file)) ?? "", [name, ip], keys), 0o644),
  );
  return keys.length;
}

export async function sshTarget(ctx: LabContext, name: string): Promise<SshTarget> {
  const spec = getSpec(ctx, name);
  const id = ctx.ledger.read().identities[spec.name];
  const status = vmStatus(ctx, spec, id);
  if (status.state !== "running" || !id) {
    throw new ConflictError(`VM ${spec.name} is ${status.state}`, {
      hint: `start it with 'lab vm start ${spec.name}'`,
    });
  }
  await ensureLabKeyPair(ctx.host, ctx.paths);
  const hostKeys = await updateKnownHosts(ctx, spec.name, id.ip);
  return {
    name: spec.name,
    ip: id.ip,
    user: DEFAULT_SSH_USER,
    keyFile: ctx.paths.ssh.privateKey,
    knownHostsFile: ctx.paths.ssh.knownHosts,
    hostKeys,
  };
}
