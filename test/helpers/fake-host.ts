// A recording stand-in for the Host interface of src/host/host.ts, for unit tests of planners and
// failure paths: every program run is recorded (argv as given), and answered from a script, in
// order, the first answer whose `match` fits. An answer with exitCode != 0 throws as the real
// host does unless allowFailure is set; one with `throws` rejects with that error. A run nothing
// in the script matches succeeds with empty output (set `strict` to make it throw instead).
import type { Readable } from "node:stream";
import { HostToolError } from "../../src/errors.js";
import type { Host, RunOptions, RunResult, Spawned, SpawnOptions } from "../../src/host/host.js";

export interface Answer {
  /** The argv's leading words (["ip", "link", "del"]) or a test on the whole argv. */
  match: readonly string[] | ((argv: readonly string[]) => boolean);
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  throws?: Error;
  /** Answer only this many times (unlimited when unset). */
  times?: number;
  /** What the program would leave behind (a file it writes), done before the answer. */
  effect?: (argv: readonly string[]) => Promise<void>;
}

export interface FakeHost extends Host {
  /** Every run/spawn/pipe/exec argv, in order. */
  calls: string[][];
  /** The calls as space-joined strings (for toEqual on a sequence). */
  lines(): string[];
}

export function fakeHost(script: Answer[] = [], opts: { strict?: boolean } = {}): FakeHost {
  const calls: string[][] = [];
  const left = script.map((a) => a.times ?? Number.POSITIVE_INFINITY);
  const fits = (a: Answer, argv: readonly string[]) =>
    typeof a.match === "function" ? a.match(argv) : a.match.every((w, i) => argv[i] === w);
  const answer = (argv: readonly string[]): Answer | undefined => {
    const i = script.findIndex((a, k) => left[k]! > 0 && fits(a, argv));
    if (i < 0) return undefined;
    left[i]! -= 1;
    return script[i];
  };
  async function run(argv: readonly string[], o: RunOptions = {}): Promise<RunResult> {
    calls.push([...argv]);
    const a = answer(argv);
    if (!a && opts.strict) throw new Error(`fake host: no answer for ${argv.join(" ")}`);
    if (a?.throws) throw a.throws;
    await a?.effect?.(argv);
    const result = {
      argv,
      exitCode: a?.exitCode ?? 0,
      stdout: a?.stdout ?? "",
      stderr: a?.stderr ?? "",
      durationMs: 0,
    };
    if (result.exitCode !== 0 && !o.allowFailure)
      throw new HostToolError(argv, result.exitCode, result.stderr);
    return result;
  }
  return {
    calls,
    lines: () => calls.map((c) => c.join(" ")),
    run,
    async spawn(argv: readonly string[], _o?: SpawnOptions): Promise<Spawned> {
      await run(argv);
      return { pid: 424242, exited: new Promise(() => undefined) };
    },
    pipe: (argv: readonly string[], _input: Readable, _out: string) => run(argv),
    exec: async (argv: readonly string[]) => (await run(argv, { allowFailure: true })).exitCode,
  };
}
