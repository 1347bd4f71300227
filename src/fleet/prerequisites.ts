// What `lab fleet start` adds before the units it was asked for, so the design-card path
// (`lab vm create … --role kubernetes`, then `lab fleet start 'kube-*.service'`) gives the cluster
// `lab up` gives: flanneld.service when a selected unit wants it (the glob does not match it), and
// flannel's network config in etcd when none is there. Pure: the command reads and applies.
import type { ResolvedUnit } from "./resolve-units.js";

export const FLANNEL_UNIT = "flanneld.service";

/** The [Unit] dependencies that make a unit need another one on its machine. */
const DEPENDS = new Set(["Wants", "Requires", "BindsTo", "After", "Requisite"]);

export interface StartPlan {
  /** Units to start before the rest and wait for (flanneld.service), in order. */
  first: ResolvedUnit[];
  /** The units asked for, less those moved to `first`. */
  rest: ResolvedUnit[];
  /** Units added that were not asked for, with the unit that wants each. */
  added: { name: string; wantedBy: string }[];
  /** Whether flannel's network config must be in etcd before `first` starts. */
  needsFlannelConfig: boolean;
}

function wants(unit: ResolvedUnit, name: string): boolean {
  return unit.options.some(
    (o) => o.section === "Unit" && DEPENDS.has(o.name) && o.value.split(/\s+/).includes(name),
  );
}

/** `available`: the units directory's flanneld.service, when it has one. */
export function planStart(selected: ResolvedUnit[], flannel: ResolvedUnit | undefined): StartPlan {
  const asked = selected.find((u) => u.name === FLANNEL_UNIT);
  const wanter = selected.find((u) => u.name !== FLANNEL_UNIT && wants(u, FLANNEL_UNIT));
  const unit = asked ?? (wanter ? flannel : undefined);
  if (!unit) return { first: [], rest: selected, added: [], needsFlannelConfig: false };
  return {
    first: [unit],
    rest: selected.filter((u) => u.name !== FLANNEL_UNIT),
    added: asked ? [] : [{ name: FLANNEL_UNIT, wantedBy: wanter!.name }],
    needsFlannelConfig: true,
  };
}
