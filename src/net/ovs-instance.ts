// Which Open vSwitch lab talks to: the host's when one runs in this network namespace,
// otherwise a private ovsdb-server + ovs-vswitchd with database and sockets under the run dir.

import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import type { Host } from "../host/host.js";
import {
  HOST_OVS,
  hostOvsUsable,
  kernelDatapathAvailable,
  ovsdbServerArgv,
  ovsVswitchdArgv,
  vsctl,
} from "../host/ovs.js";
import { isOurProcess, readPidFile, signalOurProcess, waitForExit } from "../host/proc.js";
import type { LabPaths } from "../state/paths.js";

export interface OvsEndpoint {
  kind: "host" | "private";
  dbSock: string;
  datapath: "system" | "netdev";
}

export class OvsInstance {
  constructor(
    private readonly host: Host,
    private readonly p: LabPaths,
  ) {}

  private mode(): "host" | "private" {
    const forced = process.env.LAB_OVS;
    if (forced === "host" || forced === "private") return forced;
    return hostOvsUsable() ? "host" : "private";
  }

  /** The endpoint when OVS is (or would be) in use, without starting anything. */
  describe(): OvsEndpoint {
    const datapath = kernelDatapathAvailable() ? "system" : "netdev";
    return this.mode() === "host"
      ? { kind: "host", dbSock: HOST_OVS.dbSock, datapath }
      : { kind: "private", dbSock: this.p.ovs.dbSock, datapath };
  }

  privateRunning(): { db: boolean; vswitchd: boolean } {
    const o = this.p.ovs;
    const dbPid = readPidFile(o.dbPid);
    const swPid = readPidFile(o.switchPid);
    return {
      db: dbPid !== undefined && isOurProcess(dbPid, ["ovsdb-server", o.dbSock]),
      vswitchd: swPid !== undefined && isOurProcess(swPid, ["ovs-vswitchd", o.dbSock]),
    };
  }

  /** Starts the private instance if needed. Returns true when it started something. */
  async ensure(): Promise<{ endpoint: OvsEndpoint; started: boolean }> {
    const endpoint = this.describe();
    if (endpoint.kind === "host") return { endpoint, started: false };
    const o = this.p.ovs;
    const running = this.privateRunning();
    if (running.db && running.vswitchd) return { endpoint, started: false };
    await mkdir(this.p.ovsDir, { recursive: true, mode: 0o700 });
    // Keep every file of the private instance (bridge mgmt sockets too) under the run dir.
    const env = { OVS_RUNDIR: this.p.ovsDir, OVS_LOGDIR: this.p.ovsDir, OVS_DBDIR: this.p.ovsDir };
    if (!running.db) {
      await rm(o.dbSock, { force: true });
      if (!existsSync(o.db)) await this.host.run(["ovsdb-tool", "create", o.db, HOST_OVS.schema], { env });
      await this.host.run(ovsdbServerArgv(o), { env });
      // The userspace datapath reads ports through AF_PACKET; without offload support it would
      // forward TCP segments whose checksum the sender left to the NIC, and the receiver drops them.
      await this.host.run(
        vsctl(
          o.dbSock,
          "--no-wait",
          "init",
          "--",
          "set",
          "Open_vSwitch",
          ".",
          "other_config:userspace-tso-enable=true",
        ),
        { env },
      );
    }
    if (!running.vswitchd) await this.host.run(ovsVswitchdArgv(o), { env });
    return { endpoint, started: true };
  }

  /** Stops the private instance and removes its files. The host's OVS is never touched. */
  async stopPrivate(): Promise<void> {
    const o = this.p.ovs;
    for (const [pidFile, marker] of [
      [o.switchPid, "ovs-vswitchd"],
      [o.dbPid, "ovsdb-server"],
    ] as const) {
      const pid = readPidFile(pidFile);
      if (pid !== undefined && signalOurProcess(pid, [marker, o.dbSock], "SIGTERM")) {
        if (!(await waitForExit(pid, 5000))) signalOurProcess(pid, [marker, o.dbSock], "SIGKILL");
      }
    }
    await rm(this.p.ovsDir, { recursive: true, force: true });
  }
}
