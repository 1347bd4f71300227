// The `lab` entry point: parses the command line against the declared commands (cli/program.ts)
// and reports errors. The only file that calls process.exit.
import { CommanderError } from "commander";
import { reportError } from "./output.js";
import { buildProgram } from "./program.js";

// `lab vm list | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

async function main(): Promise<void> {
  const argv = process.argv;
  const program = buildProgram(argv);
  program.exitOverride();
  const wantsJson = argv.includes("--json");
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(err, { json: wantsJson, debug: argv.includes("--debug") });
  }
}

await main();
// Exits even when handles remain open (labd's VM watchers after a stop, keep-alive sockets).
process.exit(process.exitCode ?? 0);
