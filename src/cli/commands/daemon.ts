// lab daemon run|start|stop|status
import { type LabApi, labApi } from "../../client/api.js";
import { isAlive, readPidFile } from "../../host/proc.js";
import { labDirs, paths } from "../../state/paths.js";
import { printJson, printKeyValues } from "../output.js";

export async function daemonRunCommand(opts: { autostarted?: boolean }): Promise<void> {
  const { startDaemon } = await import("../../daemon/labd.js");
  const { ConflictError } = await import("../../errors.js");
  process.chdir("/");
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} labd: ${msg}\n`);
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon(labDirs(), log);
  } catch (err) {
    // Several clients may autostart at once; the ones that lose the race just leave.
    if (opts.autostarted && err instanceof ConflictError) return;
    throw err;
  }
  log(`listening on ${daemon.ctx.paths.socket} (pid ${process.pid})`);
  const shutdown = (signal: string) => {
    log(`${signal}: stopping (VMs and networks keep running)`);
    void daemon.stop().catch(() => undefined);
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // Returns once stopped; the entry point then exits (VM watchers and timers are left behind).
  await daemon.stopped;
}

export async function daemonStartCommand(): Promise<void> {
  const api = labApi();
  await api.daemon.status();
  process.stdout.write(`labd is running (${api.client.socket})\n`);
}

export async function daemonStopCommand(): Promise<void> {
  const p = paths(labDirs());
  const pid = readPidFile(p.pidFile);
  try {
    await labApi().daemon.stop({ noAutostart: true });
  } catch {
    process.stdout.write("labd is not running\n");
    return;
  }
  const deadline = Date.now() + 10_000;
  while (pid !== undefined && isAlive(pid) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  process.stdout.write("labd stopped\n");
}

export async function daemonStatusCommand(opts: { json?: boolean }): Promise<void> {
  let info: Awaited<ReturnType<LabApi["daemon"]["status"]>> | undefined;
  try {
    info = await labApi().daemon.status({ noAutostart: true });
  } catch {
    info = undefined;
  }
  // Exit 3 when stopped, as service managers' status commands do (see 'lab help exit-codes').
  if (!info) process.exitCode = 3;
  // One shape, running or not: labd's fields are null when it is not running.
  const none = { pid: null, home: null, run: null, uptimeSeconds: null, ovs: null };
  if (opts.json) return printJson({ running: !!info, ...(info ?? none) });
  if (!info) {
    process.stdout.write("labd is not running (it starts on demand, or with 'lab daemon start')\n");
    return;
  }
  printKeyValues([
    ["state", "running"],
    ["pid", info.pid],
    ["home", info.home],
    ["run", info.run],
    ["uptime", `${info.uptimeSeconds}s`],
  ]);
}
