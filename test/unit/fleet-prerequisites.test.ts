// `lab fleet start 'kube-*.service'` brings flanneld.service along when a selected unit wants it,
// starts it first, and asks for flannel's config in etcd; other starts are left as they were.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FLANNEL_UNIT, planStart } from "../../src/fleet/prerequisites.js";
import { resolveUnits } from "../../src/fleet/resolve-units.js";

const units = path.join(import.meta.dirname, "../../units");

describe("planStart", () => {
  it("adds flanneld.service before the kube-* units of units/, wanted by the kubelet", async () => {
    const selected = await resolveUnits(["kube-*.service"], units);
    const [flannel] = await resolveUnits([FLANNEL_UNIT], units);
    const plan = planStart(selected, flannel);
    expect(plan.first.map((u) => u.name)).toEqual([FLANNEL_UNIT]);
    expect(plan.rest.map((u) => u.name)).toEqual(selected.map((u) => u.name));
    expect(plan.added).toEqual([{ name: FLANNEL_UNIT, wantedBy: "kube-kubelet.service" }]);
    expect(plan.needsFlannelConfig).toBe(true);
  });

  it("moves flanneld.service first when it is asked for, adding nothing", async () => {
    const selected = await resolveUnits(["kube-kubelet.service", FLANNEL_UNIT], units);
    const plan = planStart(selected, selected[1]);
    expect(plan.first.map((u) => u.name)).toEqual([FLANNEL_UNIT]);
    expect(plan.rest.map((u) => u.name)).toEqual(["kube-kubelet.service"]);
    expect(plan.added).toEqual([]);
  });

  it("leaves units that do not want flannel alone", async () => {
    const selected = await resolveUnits(["kube-apiserver.service"], units);
    const [flannel] = await resolveUnits([FLANNEL_UNIT], units);
    expect(planStart(selected, flannel)).toEqual({
      first: [],
      rest: selected,
      added: [],
      needsFlannelConfig: false,
    });
  });
});
