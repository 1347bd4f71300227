// labd: the single writer of lab's state and the owner of the processes it starts.
// Start-up: one daemon per run directory (a short start-up lock plus the pid file), a ledger
// that must validate, then the control socket and a reconcile pass over what the ledger says.

import { chmod, chown, mkdir, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import lockfile from "proper-lockfile";
import type { LabContext } from "../context.js";
import { ConflictError } from "../errors.js";
import { createHost } from "../host/host.js";
import { isOurProcess, readPidFile } from "../host/proc.js";
import { mirrorPort } from "../mirror/port.js";
import { MirrorServers } from "../mirror/server.js";
import { Dnsmasq } from "../net/dnsmasq.js";
import { OvsInstance } from "../net/ovs-instance.js";
import { EventLog } from "../state/events.js";
import { labGroupId } from "../state/group.js";
import { LedgerStore } from "../state/ledger.js";
import { Mutex } from "../state/mutex.js";
import { type LabDirs, paths } from "../state/paths.js";
import { startLogTimes } from "../vm/log-times.js";
import { writeVmRecords } from "../vm/record.js";
import { VmSupervisor } from "../vm/supervisor.js";
import { createWebService, type LocalApi, webRoutes } from "../web/daemon.js";
import { reconcile } from "./reconcile.js";
import { buildRoutes } from "./routes.js";
import { createServer, localCaller } from "./server.js";

export const DAEMON_MARKERS = ["daemon", "run"];

export interface RunningDaemon {
  ctx: LabContext;
  server: Server;
  stop: () => Promise<void>;
  /** Settles when a stop (by signal or by the API) has finished. */
  stopped: Promise<void>;
}

function otherDaemon(pidFile: string): number | undefined {
  const pid = readPidFile(pidFile);
  return pid !== undefined && pid !== process.pid && isOurProcess(pid, DAEMON_MARKERS) ? pid : undefined;
}

export async function startDaemon(dirs: LabDirs, log: (msg: string) => void): Promise<RunningDaemon> {
  const p = paths(dirs);
  const mirror = new MirrorServers(p, mirrorPort(), log);
  await mkdir(p.run, { recursive: true, mode: 0o755 });
  await mkdir(p.home, { recursive: true, mode: 0o755 });
  const release = await lockfile.lock(p.socket, {
    realpath: false,
    stale: 5000,
    retries: { retries: 100, minTimeout: 50, maxTimeout: 200 },
  });
  let server: Server;
  let ctx: LabContext;
  let web: ReturnType<typeof createWebService> | undefined;
  let supervisor: VmSupervisor;
  let markReady: () => void = () => undefined;
  const reconciled = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  try {
    const other = otherDaemon(p.pidFile);
    if (other !== undefined) {
      throw new ConflictError(`labd is already running (pid ${other}) for ${p.run}`, {
        hint: "use 'lab daemon stop' first",
      });
    }
    const ledger = await LedgerStore.open(p.ledger);
    ledger.onCommit = (l) => writeVmRecords(p, l);
    // Keeps the ledger's id on disk and every VM's record (vm.json) in step, also for VMs made
    // before records existed. A missing ledger is not created by merely starting.
    if (ledger.existed) await ledger.update(() => undefined);
    const host = createHost();
    supervisor = new VmSupervisor({
      host,
      paths: p,
      ledger,
      events: new EventLog(p.events),
      ovs: new OvsInstance(host, p),
      dnsmasq: new Dnsmasq(host, p),
      lock: new Mutex(),
      mirror,
    });
    ctx = supervisor.ctx;
    await rm(p.socket, { force: true });
    let call: LocalApi | undefined;
    web = createWebService(ctx, (method, path, body) => call!(method, path, body), log);
    const routes = [...buildRoutes(ctx, () => stop(), reconciled), ...webRoutes(web)];
    call = localCaller(routes);
    server = createServer(routes, log);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p.socket, () => resolve());
    });
    await chmod(p.socket, 0o660);
    const gid = await labGroupId();
    if (gid !== undefined) await chown(p.socket, 0, gid);
    await writeFile(p.pidFile, `${process.pid}\n`);
  } finally {
    await release();
  }
  const stopLogTimes = startLogTimes(p.consolesDir);
  let stopping: Promise<void> | undefined;
  let settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  const stopped = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const stop = () => {
    stopping ??= (async () => {
      stopLogTimes();
      supervisor.stopAll();
      await mirror.stopAll();
      await web?.stop();
      server.close();
      server.closeAllConnections();
      await ctx.events.flush();
      if (readPidFile(p.pidFile) === process.pid) await rm(p.pidFile, { force: true });
      await rm(p.socket, { force: true });
    })();
    stopping.then(settle?.resolve, settle?.reject);
    return stopping;
  };
  ctx.events.emit("daemon.started", { pid: process.pid });
  try {
    await reconcile(ctx, supervisor, log);
  } finally {
    markReady();
  }
  return { ctx, server, stop, stopped };
}
