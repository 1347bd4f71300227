// lab vm console NAME (attach the terminal; Ctrl-] detaches) and lab vm logs NAME [-f]
import net from "node:net";
import { labApi } from "../../client/api.js";
import { checkLogsOpts, type LogsOpts, printLogs } from "../logs.js";

const DETACH = 0x1d; // Ctrl-]

export async function vmConsoleCommand(name: string): Promise<void> {
  const { socket } = await labApi().vms.console(name);
  const conn = net.createConnection(socket);
  await new Promise<void>((resolve, reject) => {
    conn.once("connect", () => resolve());
    conn.once("error", reject);
  });
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  process.stderr.write(`connected to ${name}'s serial console; Ctrl-] detaches\r\n`);
  await new Promise<void>((resolve) => {
    const done = () => {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      conn.destroy();
      resolve();
    };
    stdin.on("data", (d: Buffer) => {
      if (d.includes(DETACH)) return done();
      conn.write(d);
    });
    stdin.on("end", done);
    conn.on("data", (d) => process.stdout.write(d));
    conn.on("close", done);
  });
  process.stderr.write("\r\ndetached\r\n");
}

export async function vmLogsCommand(name: string, opts: LogsOpts): Promise<void> {
  const { paths, labDirs } = await import("../../state/paths.js");
  checkLogsOpts(opts);
  await labApi().vms.get(name);
  await printLogs(paths(labDirs()).vm(name).serialLog, opts);
}
