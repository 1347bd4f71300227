// Runs one dnsmasq per lab network, bound only to that network's bridge.
import { mkdir, rm, rmdir } from "node:fs/promises";
import type { Host } from "../host/host.js";
import { isOurProcess, readPidFile, signalOurProcess, waitForExit } from "../host/proc.js";
import { readText, writeIfChanged } from "../state/atomic.js";
import type { NetworkSpec } from "../state/ledger.js";
import type { LabPaths } from "../state/paths.js";
import { intToIp, netmask } from "./cidr.js";
import {
  dnsmasqArgv,
  type Reservation,
  releaseLeases,
  renderDhcpHosts,
  renderDnsmasqConfig,
  renderDnsNames,
} from "./dnsmasq-config.js";

export class Dnsmasq {
  constructor(
    private readonly host: Host,
    private readonly p: LabPaths,
  ) {}

  files(net: string) {
    return this.p.dnsmasq(net);
  }

  pid(net: string): number | undefined {
    const f = this.files(net);
    const pid = readPidFile(f.pid);
    return pid !== undefined && isOurProcess(pid, ["dnsmasq", f.conf]) ? pid : undefined;
  }

  /** Writes config and host files and makes sure dnsmasq runs with them. Returns whether it (re)started. */
  async ensure(spec: NetworkSpec, reservations: readonly Reservation[]): Promise<boolean> {
    const f = this.files(spec.name);
    await mkdir(this.p.dnsmasqDir, { recursive: true, mode: 0o755 });
    const confChanged = await writeIfChanged(
      f.conf,
      renderDnsmasqConfig({
        network: spec.name,
        bridge: spec.bridge,
        gateway: spec.gateway,
        domain: spec.domain,
        dhcpStart: spec.dhcpStart,
        dhcpEnd: spec.dhcpEnd,
        netmask: intToIp(netmask(spec.prefix)),
        files: f,
      }),
    );
    const hostsChanged = await this.writeHosts(spec, reservations);
    if (await this.releaseLeases(spec.name, reservations)) return true;
    const pid = this.pid(spec.name);
    if (pid !== undefined && !confChanged) {
      if (hostsChanged) signalOurProcess(pid, ["dnsmasq", f.conf], "SIGHUP");
      return false;
    }
    if (pid !== undefined) await this.stop(spec.name, { keepFiles: true });
    await this.host.run(dnsmasqArgv(f.conf));
    return true;
  }

  private async writeHosts(spec: NetworkSpec, reservations: readonly Reservation[]): Promise<boolean> {
    const f = this.files(spec.name);
    const a = await writeIfChanged(f.hosts, renderDhcpHosts(reservations));
    const b = await writeIfChanged(f.names, renderDnsNames(reservations, spec.domain));
    return a || b;
  }

  /**
   * Rewrites the reservation files and tells a running dnsmasq to re-read them (SIGHUP); leases
   * that block a reservation or belong to a released address are dropped first.
   */
  async reload(
    spec: NetworkSpec,
    reservations: readonly Reservation[],
    released: readonly { mac: string; ip: string }[] = [],
  ): Promise<void> {
    await mkdir(this.p.dnsmasqDir, { recursive: true, mode: 0o755 });
    const changed = await this.writeHosts(spec, reservations);
    if (await this.releaseLeases(spec.name, reservations, released)) return;
    const pid = this.pid(spec.name);
    if (changed && pid !== undefined)
      signalOurProcess(pid, ["dnsmasq", this.files(spec.name).conf], "SIGHUP");
  }

  /**
   * dnsmasq reads its lease file only when it starts and keeps leases in memory (SIGHUP does not
   * re-read it; dnsmasq(8)), so dropping a lease means: stop it, rewrite the file, start it.
   * Returns whether dnsmasq was restarted.
   */
  private async releaseLeases(
    net: string,
    reservations: readonly Reservation[],
    released: readonly { mac: string; ip: string }[] = [],
  ): Promise<boolean> {
    const f = this.files(net);
    const before = await readText(f.leases);
    if (before === undefined || releaseLeases(before, reservations, released) === before) return false;
    const pid = this.pid(net);
    if (pid !== undefined) await this.stop(net, { keepFiles: true });
    // Read again: dnsmasq may have written leases until it stopped.
    const now = (await readText(f.leases)) ?? "";
    await writeIfChanged(f.leases, releaseLeases(now, reservations, released));
    if (pid === undefined) return false;
    await this.host.run(dnsmasqArgv(f.conf));
    return true;
  }

  async stop(net: string, opts: { keepFiles?: boolean } = {}): Promise<void> {
    const f = this.files(net);
    const pid = readPidFile(f.pid);
    if (pid !== undefined && signalOurProcess(pid, ["dnsmasq", f.conf], "SIGTERM")) {
      if (!(await waitForExit(pid, 3000))) signalOurProcess(pid, ["dnsmasq", f.conf], "SIGKILL");
      await waitForExit(pid, 2000);
    }
    await rm(f.pid, { force: true });
    if (!opts.keepFiles) {
      for (const file of [f.conf, f.hosts, f.names, f.leases, f.log]) await rm(file, { force: true });
      // The directory goes with the last network; another network's files keep it.
      await rmdir(this.p.dnsmasqDir).catch(() => undefined);
    }
  }
}
