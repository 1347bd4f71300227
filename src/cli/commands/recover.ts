// lab recover [--plan] [--json]
import { labApi } from "../../client/api.js";
import { printJson, printTable } from "../output.js";

export async function recoverCommand(opts: { plan?: boolean; json?: boolean }): Promise<void> {
  const r = await labApi().daemon.recover({ plan: !!opts.plan });
  if (opts.json) return printJson(r);
  const rows = [
    ...r.networks.map((n) => ["network", n.name, n.action, n.why]),
    ...r.vms.map((v) => ["vm", v.name, v.action, v.why]),
  ];
  printTable(["kind", "name", "action", "why"], rows);
  const restoring = r.vms.filter((v) => v.action === "restore").length;
  const summary = opts.plan
    ? `plan only: 'lab recover' would restore ${restoring} VM(s)`
    : r.applied
      ? `restored ${restoring} VM(s) into the ledger; start stopped ones with 'lab vm start NAME'`
      : "nothing to restore";
  process.stdout.write(`${summary}\n`);
}
