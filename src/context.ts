// What every domain operation gets: the host, the state, the event log and the shared services.
import type { Host } from "./host/host.js";
import type { Dnsmasq } from "./net/dnsmasq.js";
import type { OvsInstance } from "./net/ovs-instance.js";
import type { EventLog } from "./state/events.js";
import type { LedgerStore, NetworkSpec } from "./state/ledger.js";
import type { Mutex } from "./state/mutex.js";
import type { LabPaths } from "./state/paths.js";

/** Watches VM processes; lifecycle code hands it every qemu it starts or adopts. */
export interface VmWatcher {
  watch(name: string, pid: number, exited?: Promise<{ code: number | null; signal: string | null }>): void;
  forget(name: string): void;
}

/** The artifact mirror (src/mirror/server.ts), kept behind this so net/ holds no HTTP code. */
export interface MirrorService {
  /** The TCP port every network's mirror listens on, at the network's gateway address. */
  readonly port: number;
  /** Serves the mirror on the network's gateway; true when a listener had to be started. */
  ensure(spec: NetworkSpec): Promise<boolean>;
  stop(network: string): Promise<void>;
  /** Where the mirror answers right now. */
  listeners(): { network: string; url: string }[];
}

export interface LabContext {
  host: Host;
  paths: LabPaths;
  ledger: LedgerStore;
  events: EventLog;
  ovs: OvsInstance;
  dnsmasq: Dnsmasq;
  /** Operations that change the host run one at a time. */
  lock: Mutex;
  watcher: VmWatcher;
  /** Absent outside labd (tools and tests that build their own context). */
  mirror?: MirrorService;
  /** Reports progress of a long operation to whoever asked for it. */
  progress?: (message: string, data?: Record<string, unknown>) => void;
}
