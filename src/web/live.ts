// The page's live feed (server-sent events): every event of labd's log as it happens, and the
// picture again after each event and every few seconds (uptimes move, a VM can die between events).
import type { ServerResponse } from "node:http";
import type { EventLog, LabEvent } from "../state/events.js";
import { gatherState, type StateSource, type WebState } from "./state.js";

export const REFRESH_MS = 5000;
/** Events come in bursts (a VM start emits several): one picture after the burst. */
const SETTLE_MS = 150;

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private settle?: NodeJS.Timeout;
  private running?: Promise<WebState>;
  private again = false;

  constructor(
    private readonly events: EventLog,
    private readonly source: StateSource,
    private readonly log: (msg: string) => void,
  ) {}

  /** The picture now (one gathering at a time; callers during one share it). */
  state(): Promise<WebState> {
    this.running ??= gatherState(this.source).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  add(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    res.write("retry: 2000\n\n");
    this.clients.add(res);
    res.on("close", () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    if (!this.unsubscribe) {
      this.unsubscribe = this.events.subscribe((e) => this.onEvent(e));
      this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    }
    this.refresh();
  }

  private onEvent(e: LabEvent): void {
    this.broadcast("lab", e);
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.refresh(), SETTLE_MS);
  }

  private refresh(): void {
    if (this.running) {
      // A gathering under way may have read the state before the change that asked for this one.
      this.again = true;
      return;
    }
    this.state()
      .then((s) => this.broadcast("state", s))
      .catch((err) => this.log(`web: gathering the picture failed: ${(err as Error).message}`))
      .finally(() => {
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private broadcast(kind: string, data: unknown): void {
    const frame = `event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) if (!c.destroyed) c.write(frame);
  }

  closeAll(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.stop();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.timer);
    clearTimeout(this.settle);
  }
}
