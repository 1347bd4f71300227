// The daemon's event log: JSON lines in $LAB_HOME/events.jsonl, plus live subscribers for `lab events -f`.
import { appendFile } from "node:fs/promises";

export interface LabEvent {
  time: string;
  type: string;
  [key: string]: unknown;
}

type Listener = (e: LabEvent) => void;

export class EventLog {
  private listeners = new Set<Listener>();
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  emit(type: string, data: Record<string, unknown> = {}): LabEvent {
    const event: LabEvent = { time: new Date().toISOString(), type, ...data };
    const line = `${JSON.stringify(event)}\n`;
    this.writing = this.writing.then(() => appendFile(this.file, line).catch(() => undefined));
    for (const l of this.listeners) l(event);
    return event;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  flush(): Promise<void> {
    return this.writing;
  }
}
