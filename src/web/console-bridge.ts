// A browser's console: one websocket joined to the VM's console hub (src/vm/console-hub.ts), the
// same shared attachment `lab vm console` uses, so the page is one more viewer among any number.
import net from "node:net";
import type { WebSocket } from "ws";

/** Asks labd for the VM's hub socket (POST /v1/vms/NAME/console); throws the API's error. */
export type HubLocator = (vm: string) => Promise<string>;

export async function bridgeConsole(ws: WebSocket, vm: string, locate: HubLocator): Promise<void> {
  let socketPath: string;
  try {
    socketPath = await locate(vm);
  } catch (err) {
    ws.send(JSON.stringify({ error: (err as Error).message }));
    ws.close(1011, "no console");
    return;
  }
  const hub = net.createConnection(socketPath);
  hub.on("data", (d) => {
    if (ws.readyState === ws.OPEN) ws.send(d, { binary: true });
  });
  hub.on("error", () => ws.close(1011, "console hub failed"));
  hub.on("close", () => ws.close(1000, "console closed"));
  ws.on("message", (d: Buffer | string) => {
    if (!hub.destroyed) hub.write(d);
  });
  ws.on("close", () => hub.destroy());
  ws.on("error", () => hub.destroy());
}
