// Shares a VM's serial console among any number of `lab vm console` clients: qemu's console socket
// takes one client, so the daemon holds that one connection and fans output out to every client
// on its own socket, passing their keystrokes back.
import { rmSync } from "node:fs";
import { chmod, chown } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { groupDir, labGroupId } from "../state/group.js";

interface Hub {
  server: net.Server;
  upstream?: net.Socket;
  clients: Set<net.Socket>;
}

export class ConsoleHubs {
  private hubs = new Map<string, Hub>();

  /** Makes sure a hub for this VM listens on `muxPath`; returns the path. */
  async ensure(name: string, consoleSock: string, muxPath: string): Promise<string> {
    const existing = this.hubs.get(name);
    if (existing) return muxPath;
    rmSync(muxPath, { force: true });
    const hub: Hub = { server: net.createServer(), clients: new Set() };
    hub.server.on("connection", (client) => this.join(hub, client, consoleSock));
    await groupDir(path.dirname(muxPath));
    await new Promise<void>((resolve, reject) => {
      hub.server.once("error", reject);
      hub.server.listen(muxPath, () => resolve());
    });
    // Members of the socket's group may attach, as they may through labd's own socket.
    await chmod(muxPath, 0o660);
    await chown(muxPath, 0, (await labGroupId()) ?? 0);
    this.hubs.set(name, hub);
    return muxPath;
  }

  private join(hub: Hub, client: net.Socket, consoleSock: string): void {
    hub.clients.add(client);
    if (!hub.upstream || hub.upstream.destroyed) {
      const up = net.createConnection(consoleSock);
      up.on("data", (d) => {
        for (const c of hub.clients) c.write(d);
      });
      up.on("error", () => undefined);
      up.on("close", () => {
        for (const c of hub.clients) c.end();
        hub.upstream = undefined;
      });
      hub.upstream = up;
    }
    client.on("data", (d) => hub.upstream?.write(d));
    client.on("error", () => undefined);
    client.on("close", () => hub.clients.delete(client));
  }

  close(name: string): void {
    const hub = this.hubs.get(name);
    if (!hub) return;
    for (const c of hub.clients) c.destroy();
    hub.upstream?.destroy();
    hub.server.close();
    this.hubs.delete(name);
  }

  closeAll(): void {
    for (const name of [...this.hubs.keys()]) this.close(name);
  }
}
