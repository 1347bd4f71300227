// `lab status` / `lab down` when there is no lab file: everything labd knows (as `lab ls`).
import { existsSync } from "node:fs";
import os from "node:os";
import { labApi } from "../../client/api.js";
import { toLabError } from "../../errors.js";
import { desiredLab } from "../../lab/file/desired.js";
import { DEFAULT_LAB_FILE, loadLabFile } from "../../lab/file/load.js";
import { type Removal, removeAllPlan } from "../../lab/global.js";
import type { DownOutcome } from "../../lab/run/down.js";
import { downError } from "../../lab/run/down.js";
import { confirm } from "../confirm.js";
import { printJson, printTable } from "../output.js";
import { fetchAll, lsCommand } from "./ls.js";

export interface GlobalOpts {
  file?: string;
  json?: boolean;
  plan?: boolean;
  yes?: boolean;
  forget?: boolean;
}

/** No -f and no lab.yaml here: the command is about everything labd knows. */
export const withoutLabFile = (opts: GlobalOpts) => opts.file === undefined && !existsSync(DEFAULT_LAB_FILE);

/** `lab status` with no lab file: the same as `lab ls`, said so on stderr. */
export async function statusAllCommand(opts: GlobalOpts): Promise<void> {
  if (!opts.json)
    process.stderr.write(
      `no ${DEFAULT_LAB_FILE} here: everything labd knows ('lab status -f FILE' for one lab)\n`,
    );
  return lsCommand(opts);
}

function printRemovals(items: Removal[], json: boolean): void {
  if (json) {
    printJson(items.map((i) => ({ ...i, action: "remove" })));
    return;
  }
  printTable(
    ["KIND", "NAME", "NOW", "ACTION"],
    items.map((i) => [i.kind, i.name, i.now, "remove"]),
  );
}

/** `lab down --plan -f FILE`: the file's VMs and networks, and whether each is there to remove. */
export async function downPlanForFile(file: string, opts: GlobalOpts): Promise<void> {
  const loaded = await loadLabFile(file);
  const lab = desiredLab(loaded.lab, loaded.file, os.homedir());
  const s = await fetchAll(labApi());
  const rows = [
    ...lab.machines.map((m) => {
      const v = s.vms.find((x) => x.name === m.name);
      return { kind: "vm", name: m.name, now: v ? v.state : "absent", action: v ? "remove" : "none" };
    }),
    ...lab.networks.map((n) => {
      const x = s.networks.find((y) => y.name === n.name);
      return { kind: "network", name: n.name, now: x ? x.subnet : "absent", action: x ? "remove" : "none" };
    }),
  ];
  if (opts.json) return printJson(rows);
  printTable(
    ["KIND", "NAME", "NOW", "ACTION"],
    rows.map((r) => [r.kind, r.name, r.now, r.action]),
  );
  process.stdout.write(
    "plan: nothing was changed (fleet units of the lab are destroyed first when fleet answers)\n",
  );
}

/** `lab down` with no lab file: every VM, then every network, after showing them and asking. */
export async function downAllCommand(opts: GlobalOpts): Promise<void> {
  const api = labApi();
  const items = removeAllPlan(await fetchAll(api));
  if (items.length === 0) {
    if (opts.json) return printJson([]);
    process.stderr.write("nothing to remove: labd knows no VMs or networks\n");
    return;
  }
  if (!opts.json || opts.plan) printRemovals(items, !!opts.json);
  if (opts.plan) {
    process.stdout.write("plan: nothing was changed\n");
    return;
  }
  const n = (k: string) => items.filter((i) => i.kind === k).length;
  const question = `no ${DEFAULT_LAB_FILE} here: remove all ${n("vm")} VM(s) and ${n("network")} network(s) labd knows? (images and mirror stay)`;
  const what = `'lab down' without a lab file removes every VM and network`;
  if (!(await confirm(question, { yes: opts.yes, what }))) {
    process.stderr.write("nothing was changed\n");
    return;
  }
  const outcomes: DownOutcome[] = [];
  for (const i of items) {
    let o: DownOutcome;
    try {
      const r = await (i.kind === "vm"
        ? api.vms.destroy(i.name, { forget: opts.forget })
        : api.networks.down(i.name));
      o = {
        kind: i.kind,
        name: i.name,
        result: r.removed ? "removed" : "absent",
        message: r.removed ? "removed" : "was gone",
      };
    } catch (err) {
      o = { kind: i.kind, name: i.name, result: "failed", message: toLabError(err).message };
    }
    outcomes.push(o);
    if (!opts.json) process.stdout.write(`${o.kind} ${o.name}: ${o.message}\n`);
  }
  if (opts.json) printJson(outcomes);
  const err = downError(outcomes);
  if (err) throw err;
}
