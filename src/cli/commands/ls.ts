// `lab ls`: everything labd knows, whatever lab file made it (a listing: loads no lab file code).
import { type LabApi, labApi } from "../../client/api.js";
import { type GlobalStatus, globalRows, globalStatus } from "../../lab/global.js";
import { printJson, printTable } from "../output.js";

export async function fetchAll(api: LabApi): Promise<GlobalStatus> {
  const [networks, vms, images] = await Promise.all([api.networks.list(), api.vms.list(), api.images.list()]);
  return globalStatus(networks, vms, images);
}

export async function lsCommand(opts: { json?: boolean }): Promise<void> {
  const s = await fetchAll(labApi());
  if (opts.json) return printJson(s);
  const rows = globalRows(s);
  if (rows.length === 0) {
    process.stderr.write("labd knows no networks, VMs or images yet ('lab up', or 'lab net up')\n");
    return;
  }
  printTable(["KIND", "NAME", "STATE", "ADDRESS", "DETAILS"], rows);
}
