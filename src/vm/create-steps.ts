// `lab vm create` after its plan: the ledger first (identity before any file exists, so a crash can
// leak a reservation, never hand it out twice), the VM's port forwards, then the start steps, all
// in one rollback: a create whose start fails leaves no ledger entry, files, tap, rule or lease.
import { reservationsFor } from "../net/network.js";
import type { Identity } from "../state/ledger.js";
import type { Step, StepEntry } from "../state/steps.js";
import { removeVmPorts, syncVmPorts } from "./ports.js";
import { prepareSteps, type StartState, startSteps } from "./start-steps.js";

export interface CreateState extends StartState {
  /** The identity the name held before (a VM destroyed without --forget keeps its MAC and IP). */
  readonly hadIdentity?: Identity;
}

const ledger: Step<CreateState> = {
  name: "ledger",
  fault: "vm-create:ledger",
  async run({ ctx, spec, id, net, hadIdentity }) {
    await ctx.ledger.update((l) => {
      l.identities[spec.name] = id;
      l.vms[spec.name] = spec;
    });
    // The reservation follows the ledger: dnsmasq is reloaded after the entry is gone, even when
    // putting the ledger back failed, and both failures are told.
    return async () => {
      const restored = await ctx.ledger
        .update((l) => {
          delete l.vms[spec.name];
          if (hadIdentity) l.identities[spec.name] = hadIdentity;
          else delete l.identities[spec.name];
        })
        .then(
          () => undefined,
          (err: Error) => err,
        );
      const reloaded = await ctx.dnsmasq.reload(net, reservationsFor(ctx.ledger.read(), net.name)).then(
        () => undefined,
        (err: Error) => err,
      );
      const failed = [restored, reloaded].filter((e): e is Error => e !== undefined);
      if (failed.length > 0) throw new Error(failed.map((e) => e.message).join("; dnsmasq: "));
    };
  },
};

const ports: Step<CreateState> = {
  name: "ports",
  fault: "vm-create:ports",
  run: ({ ctx, spec }) => syncVmPorts(ctx, spec.name),
  undo: ({ ctx, spec }) => removeVmPorts(ctx, spec.name),
};

/** Every step of a create; with `noStart` the VM's disk and drive are made and qemu is not started. */
export function createSteps(noStart: boolean): StepEntry<CreateState>[] {
  return [ledger, ports, ...(noStart ? prepareSteps() : startSteps())];
}
