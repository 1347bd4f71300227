// The ledger (lab.json): networks, VMs and their identities. Holds intent and identity, never
// liveness. Written atomically; a corrupt file stops the daemon instead of being reset.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { CorruptLedgerError, LabError } from "../errors.js";
import { firstProblemText } from "../field-problems.js";
import { writeFileDurably } from "./atomic.js";

export const NetworkSpec = z.object({
  name: z.string(),
  subnet: z.string(),
  gateway: z.string(),
  prefix: z.number().int(),
  bridge: z.string(),
  domain: z.string(),
  dhcpStart: z.string(),
  dhcpEnd: z.string(),
  createdAt: z.string(),
});
export type NetworkSpec = z.infer<typeof NetworkSpec>;

export const Identity = z.object({
  mac: z.string().regex(/^52:54:00(:[0-9a-f]{2}){3}$/),
  ip: z.string(),
  network: z.string(),
  uuid: z.string(),
});
export type Identity = z.infer<typeof Identity>;

export const RestartPolicy = z.enum(["no", "on-failure", "always"]);
export type RestartPolicy = z.infer<typeof RestartPolicy>;

/** A host port forwarded to the VM (src/net/ports.ts). */
export const PortForward = z.object({
  host: z.number().int().min(1).max(65535),
  guest: z.number().int().min(1).max(65535),
  proto: z.enum(["tcp", "udp"]),
});

export const VmSpec = z.object({
  name: z.string(),
  role: z.string(),
  image: z.string(),
  memoryMiB: z.number().int().positive(),
  cpus: z.number().int().positive(),
  network: z.string(),
  sshKeys: z.array(z.string()),
  configDrive: z.enum(["iso", "9p"]),
  /** The user's extra cloud-config, merged into the role template's output. */
  cloudConfig: z.record(z.string(), z.unknown()).optional(),
  restart: RestartPolicy,
  /** Host ports forwarded to the VM: recorded with it, removed with it. */
  ports: z.array(PortForward).optional(),
  accel: z.enum(["auto", "kvm", "tcg"]),
  /** Whether the user wants it running (start) or not (stop); drives restart and adoption. */
  wantRunning: z.boolean(),
  createdAt: z.string(),
  lastExit: z
    .object({
      at: z.string(),
      code: z.number().nullable(),
      signal: z.string().nullable(),
      crashed: z.boolean(),
      logTail: z.string(),
    })
    .optional(),
});
export type VmSpec = z.infer<typeof VmSpec>;

export const Ledger = z.object({
  version: z.literal(1),
  /** Names this ledger: each VM's own record (vm.json) says which ledger wrote it. */
  id: z.string().optional(),
  networks: z.record(z.string(), NetworkSpec),
  identities: z.record(z.string(), Identity),
  vms: z.record(z.string(), VmSpec),
});
export type Ledger = z.infer<typeof Ledger>;

export const emptyLedger = (): Ledger => ({
  version: 1,
  id: randomUUID(),
  networks: {},
  identities: {},
  vms: {},
});

/** A copy whose name-indexed records have no prototype: `vms["constructor"]` is no VM. */
function byName<T>(record: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, record);
}

function withNullPrototypes(ledger: Ledger): Ledger {
  return {
    ...ledger,
    networks: byName(ledger.networks),
    identities: byName(ledger.identities),
    vms: byName(ledger.vms),
  };
}

export async function readLedger(file: string): Promise<Ledger> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyLedger();
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, (err as Error).message);
  }
  const parsed = Ledger.safeParse(data);
  if (!parsed.success) {
    throw corrupt(file, firstProblemText(parsed.error));
  }
  checkInvariants(parsed.data, file);
  return withNullPrototypes(parsed.data);
}

function corrupt(file: string, why: string): CorruptLedgerError {
  return new CorruptLedgerError(`the ledger ${file} is corrupt (${why}); labd will not run on it`, {
    hint: `inspect or restore ${file} by hand (lab never resets it); or move it aside and run 'lab recover --plan', which rebuilds it from each VM directory's vm.json`,
  });
}

/** No MAC or IP may be handed out twice. */
export function checkInvariants(ledger: Ledger, file = "lab.json"): void {
  const macs = new Map<string, string>();
  const ips = new Map<string, string>();
  for (const [name, id] of Object.entries(ledger.identities)) {
    const ipKey = `${id.network}/${id.ip}`;
    const dupMac = macs.get(id.mac);
    const dupIp = ips.get(ipKey);
    if (dupMac) throw corrupt(file, `MAC ${id.mac} is held by both ${dupMac} and ${name}`);
    if (dupIp) throw corrupt(file, `IP ${id.ip} is held by both ${dupIp} and ${name}`);
    macs.set(id.mac, name);
    ips.set(ipKey, name);
  }
}

/** Single writer: updates are serialized, validated, then written (temp file + fsync + rename). */
export class LedgerStore {
  private queue: Promise<unknown> = Promise.resolve();
  /** Runs after every write, inside the queue (labd keeps each VM's vm.json in step with it). */
  onCommit?: (ledger: Ledger) => Promise<void>;
  private constructor(
    readonly file: string,
    private current: Ledger,
    /** Whether lab.json existed when the store opened (a fresh or moved-aside ledger did not). */
    readonly existed: boolean,
  ) {}

  static async open(file: string): Promise<LedgerStore> {
    const existed = await readFile(file).then(
      () => true,
      () => false,
    );
    const ledger = await readLedger(file);
    ledger.id ??= randomUUID();
    return new LedgerStore(file, ledger, existed);
  }

  /** A deep copy: callers can never mutate the stored ledger by accident. */
  read(): Ledger {
    return withNullPrototypes(structuredClone(this.current));
  }

  update<T>(change: (draft: Ledger) => T | Promise<T>): Promise<T> {
    const run = async () => {
      const draft = withNullPrototypes(structuredClone(this.current));
      const result = await change(draft);
      const valid = Ledger.parse(draft);
      for (const key of ["networks", "identities", "vms"] as const) {
        const lost = Object.keys(draft[key]).find((name) => !Object.hasOwn(valid[key], name));
        if (lost !== undefined)
          throw new LabError(`the ledger cannot hold a record named ${JSON.stringify(lost)}`);
      }
      checkInvariants(valid, this.file);
      await writeFileDurably(this.file, `${JSON.stringify(valid, null, 2)}\n`, 0o600);
      this.current = withNullPrototypes(valid);
      await this.onCommit?.(structuredClone(valid));
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
