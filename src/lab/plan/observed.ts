// What the planner is given besides the lab file: what exists now (Observed) and what was read
// or allocated on the way (PlanExtras). Its own file so planner.ts and plan-fleet.ts both use it
// without importing each other.

import type { Image as ImageStatus } from "../../api/images.js";
import type { Artifact as ArtifactStatus } from "../../api/mirror.js";
import type { Network as NetStatus } from "../../api/networks.js";
import type { Vm as VmStatus } from "../../api/vms.js";
import type { FleetMachine, FleetUnit } from "../../fleet/api.js";
import type { LocalUnit } from "../file/units.js";

export interface FleetObserved {
  machines: FleetMachine[];
  units: FleetUnit[];
  /** flannel's network config as stored in etcd, when set. */
  flannel?: string;
}

export interface Observed {
  networks: NetStatus[];
  images: ImageStatus[];
  vms: VmStatus[];
  /** The mirror's artifacts (asked only when the lab file declares some). */
  mirror?: ArtifactStatus[];
  /** Present when the lab's fleet answered. */
  fleet?: FleetObserved;
}

export interface PlanExtras {
  /** Address of every machine (ips.ts). */
  ips: Map<string, string>;
  /** Public key file → its text. */
  sshKeys: Map<string, string>;
  /** The unit files the lab file's globs select. */
  units: LocalUnit[];
}
