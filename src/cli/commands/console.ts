// lab vm console NAME (attach the terminal; Ctrl-] detaches) and lab vm logs NAME [-f]
import { open } from "node:fs/promises";
import net from "node:net";
import { labApi } from "../../client/api.js";

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

export async function vmLogsCommand(name: string, opts: { follow?: boolean; lines?: string }): Promise<void> {
  const { paths, labDirs } = await import("../../state/paths.js");
  await labApi().vms.get(name);
  const file = paths(labDirs()).vm(name).serialLog;
  let position = 0;
  let handle = await open(file, "r").catch(() => undefined);
  if (!handle && !opts.follow) {
    process.stderr.write(`no console output yet (${file})\n`);
    return;
  }
  const pump = async () => {
    handle ??= await open(file, "r").catch(() => undefined);
    const h = handle;
    if (!h) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      process.stdout.write(buf.subarray(0, bytesRead));
    }
  };
  await pump();
  if (!opts.follow) return;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    await pump();
  }
}
