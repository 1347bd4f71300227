// The only code that starts external programs. Every call takes an argv array and never a
// shell string, so names containing `$(...)`, spaces or quotes are plain arguments.
import os from "node:os";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import { HostToolError, MissingToolError } from "../errors.js";
import { packageFor, TOOL_PATH } from "./tools.js";

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  env?: Record<string, string>;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface SpawnOptions {
  /** File that receives stdout and stderr. */
  logFile?: string;
  env?: Record<string, string>;
}

export interface Spawned {
  pid: number;
  /** Resolves with the exit status once the process ends (only while we are its parent). */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface Host {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-lived process in its own session so it outlives the daemon. */
  spawn(argv: readonly string[], opts?: SpawnOptions): Promise<Spawned>;
  /**
   * Streams `input` through a filter (e.g. `bzip2 -dc`) into `outputFile`, so large downloads
   * never sit in memory. An error of `input` itself (a dropped connection) is rethrown as is.
   */
  pipe(
    argv: readonly string[],
    input: Readable,
    outputFile: string,
    opts?: { env?: Record<string, string> },
  ): Promise<RunResult>;
  /**
   * Runs an interactive program on this terminal (stdin, stdout and stderr inherited) and returns
   * its exit status (128 + signal number when a signal ended it). For the CLI's `lab vm ssh`.
   */
  exec(argv: readonly string[]): Promise<number>;
}

const STDERR_TAIL_LINES = 20;

export function tail(text: string, lines = STDERR_TAIL_LINES): string {
  const all = text.trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

function baseEnv(extra?: Record<string, string>): Record<string, string> {
  const path = process.env.PATH ? `${process.env.PATH}:${TOOL_PATH}` : TOOL_PATH;
  return { ...(process.env as Record<string, string>), PATH: path, LC_ALL: "C", ...extra };
}

export function createHost(): Host {
  return {
    async run(argv, opts = {}) {
      const [file, ...args] = argv;
      if (!file) throw new Error("empty argv");
      const started = performance.now();
      const result = await execa(file, args, {
        input: opts.input,
        timeout: opts.timeoutMs,
        reject: false,
        env: baseEnv(opts.env),
        extendEnv: false,
        stripFinalNewline: false,
        shell: false,
      });
      const durationMs = performance.now() - started;
      if (result.failed && (result.code === "ENOENT" || /ENOENT/.test(String(result.message)))) {
        throw new MissingToolError(file, packageFor(file));
      }
      const exitCode = result.exitCode ?? -1;
      const out: RunResult = {
        argv,
        exitCode,
        stdout: String(result.stdout ?? ""),
        stderr: String(result.stderr ?? ""),
        durationMs,
      };
      if (result.timedOut) {
        throw new HostToolError(argv, undefined, `timed out after ${opts.timeoutMs} ms\n${tail(out.stderr)}`);
      }
      if (exitCode !== 0 && !opts.allowFailure) {
        throw new HostToolError(argv, exitCode, tail(out.stderr || out.stdout));
      }
      return out;
    },

    async spawn(argv, opts = {}) {
      const [file, ...args] = argv;
      if (!file) throw new Error("empty argv");
      const out = opts.logFile ? { file: opts.logFile, append: true } : "ignore";
      {
        const child = execa(file, args, {
          detached: true,
          stdin: "ignore",
          stdout: out,
          stderr: out,
          env: baseEnv(opts.env),
          extendEnv: false,
          reject: false,
          cleanup: false,
          shell: false,
        });
        const spawnError = await new Promise<Error | undefined>((resolve) => {
          child.once("spawn", () => resolve(undefined));
          child.once("error", (e) => resolve(e));
        });
        if (spawnError || child.pid === undefined) {
          if (spawnError && /ENOENT/.test(spawnError.message))
            throw new MissingToolError(file, packageFor(file));
          throw new HostToolError(argv, undefined, spawnError?.message ?? "could not start");
        }
        child.unref();
        const exited = child.then((r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null }));
        return { pid: child.pid, exited };
      }
    },

    async pipe(argv, input, outputFile, opts = {}) {
      const [file, ...args] = argv;
      if (!file) throw new Error("empty argv");
      const started = performance.now();
      const child = execa(file, args, {
        stdin: "pipe",
        stdout: { file: outputFile },
        stderr: "pipe",
        env: baseEnv(opts.env),
        extendEnv: false,
        reject: false,
        shell: false,
      });
      // Only an error of the input counts as the input's: pipeline() also fails with EPIPE when
      // the filter exits early, and then the filter's own exit status tells the real story.
      let inputError: unknown;
      input.once("error", (err) => {
        inputError = err;
      });
      const feeding = pipeline(input, child.stdin).catch(() => child.kill());
      const result = await child;
      await feeding;
      if (inputError) throw inputError;
      if (result.failed && (result.code === "ENOENT" || /ENOENT/.test(String(result.message)))) {
        throw new MissingToolError(file, packageFor(file));
      }
      const out: RunResult = {
        argv,
        exitCode: result.exitCode ?? -1,
        stdout: "",
        stderr: String(result.stderr ?? ""),
        durationMs: performance.now() - started,
      };
      if (out.exitCode !== 0) throw new HostToolError(argv, result.exitCode, tail(out.stderr));
      return out;
    },

    async exec(argv) {
      const [file, ...args] = argv;
      if (!file) throw new Error("empty argv");
      // Ctrl-C belongs to the program in front (ssh passes it on); this process waits for it.
      const ignore = () => undefined;
      process.on("SIGINT", ignore);
      try {
        const result = await execa(file, args, {
          stdio: "inherit",
          reject: false,
          shell: false,
          // The user's own locale, unlike run(): ssh forwards LANG/LC_* to an interactive shell.
          env: { PATH: baseEnv().PATH! },
        });
        if (result.failed && result.exitCode === undefined && /ENOENT/.test(String(result.message)))
          throw new MissingToolError(file, packageFor(file));
        if (result.exitCode !== undefined) return result.exitCode;
        return 128 + (os.constants.signals[result.signal as NodeJS.Signals] ?? 0);
      } finally {
        process.off("SIGINT", ignore);
      }
    },
  };
}
