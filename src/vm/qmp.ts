// A minimal QMP client: one connection per command, capabilities negotiated, events ignored.
import net from "node:net";

export interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

export function qmpCommand(
  socket: string,
  execute: string,
  args?: Record<string, unknown>,
  timeoutMs = 3000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket);
    let buffer = "";
    let stage: "greeting" | "caps" | "command" = "greeting";
    const timer = setTimeout(
      () => finish(new Error(`QMP ${execute} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err?: Error, value?: unknown) => {
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const send = (cmd: string, a?: Record<string, unknown>) =>
      conn.write(`${JSON.stringify(a ? { execute: cmd, arguments: a } : { execute: cmd })}\n`);
    conn.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        if (!line) continue;
        const msg = JSON.parse(line) as QmpReply & { QMP?: unknown; event?: string };
        if (msg.event) continue;
        if (stage === "greeting" && msg.QMP) {
          stage = "caps";
          send("qmp_capabilities");
        } else if (stage === "caps") {
          if (msg.error) return finish(new Error(msg.error.desc));
          stage = "command";
          send(execute, args);
        } else if (stage === "command") {
          return msg.error
            ? finish(new Error(`QMP ${execute}: ${msg.error.desc}`))
            : finish(undefined, msg.return);
        }
      }
    });
    conn.on("error", (err) => finish(err));
    conn.on("close", () => {
      // `quit` closes the connection without a reply when qemu exits first.
      if (stage === "command" && execute === "quit") finish(undefined, {});
      else finish(new Error(`QMP connection closed during ${execute}`));
    });
  });
}
