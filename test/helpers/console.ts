// Drives `lab vm console NAME` through a pseudo-terminal, the way a person would.
import * as pty from "node-pty";
import { type LabEnv, labBin } from "./lab.js";

export interface ConsoleSession {
  write(text: string): void;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Sends the detach key and returns the CLI's exit code. */
  detach(): Promise<number>;
  screen(): string;
}

export async function openConsole(lab: LabEnv, vm: string): Promise<ConsoleSession> {
  const term = pty.spawn("ip", ["netns", "exec", lab.ns, process.execPath, labBin, "vm", "console", vm], {
    env: { ...lab.env, TERM: "dumb" },
    cols: 200,
    rows: 30,
  });
  let screen = "";
  term.onData((d) => {
    screen += d;
  });
  const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  const waitFor = async (re: RegExp, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!re.test(screen) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!re.test(screen)) throw new Error(`console never showed ${re}; screen:\n${screen.slice(-1500)}`);
  };
  await waitFor(/Ctrl-\] detaches/);
  term.write("\r");
  await waitFor(new RegExp(`${vm}# `));
  return {
    write: (text) => term.write(text),
    waitFor,
    detach: () => {
      term.write("\x1d");
      return exited;
    },
    screen: () => screen,
  };
}
