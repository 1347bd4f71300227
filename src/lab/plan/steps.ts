// The steps `lab up` plans and runs: one per network, image, VM and fleet unit, plus the two
// fleet gates (flannel's config in etcd, every machine registered). Data only.
import type { VmCreateRequest } from "../../api/vms.js";
import type { FlannelConfig } from "../../fleet/flannel-key.js";
import type { UnitOption } from "../../fleet/unit-file.js";

export type StepKind = "network" | "image" | "artifact" | "vm" | "flannel" | "fleet" | "unit";

/** What a step will do; `unchanged` and `conflict` steps never run. */
export type StepAction = "create" | "start" | "repair" | "set" | "wait" | "launch" | "unchanged" | "conflict";

interface BaseStep {
  id: string;
  kind: StepKind;
  name: string;
  action: StepAction;
  /** One line for people: what is planned, or what differs for a conflict. */
  detail: string;
  hint?: string;
  /** Steps whose change must be done first (a VM's network, image, the etcd machine). */
  after: string[];
  /** Steps that must also be ready first (a booted guest, a fleet that knows every machine). */
  afterReady: string[];
}

export interface NetworkBody {
  name: string;
  subnet: string;
  bridge?: string;
  domain?: string;
  dhcpRange?: string;
}

/** The VM-create request of api/vms.ts, with what `lab up` always decides itself. */
export type VmBody = VmCreateRequest &
  Required<Pick<VmCreateRequest, "role" | "image" | "network" | "ip" | "sshKeys">>;

export type { FlannelConfig };

export type Step =
  | (BaseStep & { kind: "network"; body: NetworkBody })
  | (BaseStep & {
      kind: "image";
      source: { kind: "import"; path: string } | { kind: "pull"; catalog: string };
    })
  | (BaseStep & { kind: "artifact"; body: { name: string; url?: string; path?: string; sha256?: string } })
  | (BaseStep & { kind: "vm"; body: VmBody })
  | (BaseStep & { kind: "flannel"; etcdIp: string; config: FlannelConfig })
  | (BaseStep & { kind: "fleet"; etcdIp: string; machines: { name: string; ip: string; role: string }[] })
  | (BaseStep & { kind: "unit"; etcdIp: string; options: UnitOption[] });

export const stepId = (kind: StepKind, name: string) => `${kind}/${name}`;

export const isChange = (s: Step) => s.action !== "unchanged" && s.action !== "conflict";

/** "2 to create, 1 to start, 5 unchanged". */
export function summarizeActions(steps: Step[]): string {
  const counts = new Map<StepAction, number>();
  for (const s of steps) counts.set(s.action, (counts.get(s.action) ?? 0) + 1);
  const words: [StepAction, string][] = [
    ["create", "to create"],
    ["start", "to start"],
    ["repair", "to repair"],
    ["set", "to set"],
    ["wait", "to wait for"],
    ["launch", "to launch"],
    ["unchanged", "unchanged"],
    ["conflict", "in conflict"],
  ];
  return words
    .filter(([a]) => counts.has(a))
    .map(([a, w]) => `${counts.get(a)} ${w}`)
    .join(", ");
}
