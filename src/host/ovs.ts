// Open vSwitch: argv builders for ovs-vsctl against a given database socket, and the checks
// that decide between the host's own OVS and a private instance.
import { existsSync, readlinkSync } from "node:fs";
import { isAlive, readPidFile } from "./proc.js";

export const HOST_OVS = {
  dbSock: "/var/run/openvswitch/db.sock",
  switchPid: "/var/run/openvswitch/ovs-vswitchd.pid",
  schema: "/usr/share/openvswitch/vswitch.ovsschema",
};

export const vsctl = (dbSock: string, ...args: string[]) => [
  "ovs-vsctl",
  `--db=unix:${dbSock}`,
  "--timeout=10",
  ...args,
];

/** The bridge carries the network's name in external_ids: the record that lab made it. */
export function addBridgeArgv(
  dbSock: string,
  bridge: string,
  datapath: "system" | "netdev",
  network: string,
): string[] {
  return vsctl(
    dbSock,
    "--may-exist",
    "add-br",
    bridge,
    "--",
    "set",
    "bridge",
    bridge,
    `datapath_type=${datapath}`,
    `external_ids:lab-network=${network}`,
  );
}

export const delBridgeArgv = (dbSock: string, bridge: string) =>
  vsctl(dbSock, "--if-exists", "del-br", bridge);

/** Replaces a stale port of the same name (left by a crash); the port records its VM. */
export function addPortArgv(dbSock: string, bridge: string, port: string, vm: string): string[] {
  return vsctl(
    dbSock,
    "--if-exists",
    "del-port",
    port,
    "--",
    "add-port",
    bridge,
    port,
    "--",
    "set",
    "port",
    port,
    `external_ids:lab-vm=${vm}`,
  );
}

export const delPortArgv = (dbSock: string, port: string) => vsctl(dbSock, "--if-exists", "del-port", port);

export function kernelDatapathAvailable(): boolean {
  return existsSync("/sys/module/openvswitch");
}

function netnsOf(pid: number | "self"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/**
 * The host's OVS is usable only when its switch daemon runs in our network namespace: a bridge
 * made by a daemon in another namespace would appear there, not here.
 */
export function hostOvsUsable(): boolean {
  if (!existsSync(HOST_OVS.dbSock)) return false;
  const pid = readPidFile(HOST_OVS.switchPid);
  if (pid === undefined || !isAlive(pid)) return false;
  const mine = netnsOf("self");
  return mine !== undefined && netnsOf(pid) === mine;
}

export function ovsdbServerArgv(p: {
  db: string;
  dbSock: string;
  dbPid: string;
  dbLog: string;
  dbCtl: string;
}) {
  return [
    "ovsdb-server",
    p.db,
    `--remote=punix:${p.dbSock}`,
    `--pidfile=${p.dbPid}`,
    `--log-file=${p.dbLog}`,
    `--unixctl=${p.dbCtl}`,
    "--detach",
    "--no-chdir",
  ];
}

export function ovsVswitchdArgv(p: {
  dbSock: string;
  switchPid: string;
  switchLog: string;
  switchCtl: string;
}) {
  return [
    "ovs-vswitchd",
    `unix:${p.dbSock}`,
    `--pidfile=${p.switchPid}`,
    `--log-file=${p.switchLog}`,
    `--unixctl=${p.switchCtl}`,
    "--detach",
    "--no-chdir",
  ];
}
