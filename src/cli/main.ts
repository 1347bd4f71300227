// The `lab` entry point: parses the command line against the declared commands (cli/program.ts)
// and reports errors. The only file that calls process.exit. It imports only what every command
// needs: the error report and the help topics load when they are used.
import { CommanderError } from "./commander.js";
import { buildProgram } from "./program.js";

// `lab vm list | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

async function main(): Promise<void> {
  const argv = process.argv;
  const topic = argv[2] === "help" ? (await import("./exit-codes.js")).helpTopic(argv) : undefined;
  if (topic) {
    process.stdout.write(topic);
    return;
  }
  const program = buildProgram(argv);
  // The completion scripts' hidden helper takes the typed words as they are (options included).
  if (argv[2] === "__complete") {
    const { completeCommand } = await import("./commands/completion.js");
    return completeCommand(argv.slice(3), program);
  }
  // Every level, not only the root: a subcommand's own usage error would otherwise exit 1.
  const override = (c: typeof program): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  override(program);
  const wantsJson = argv.includes("--json");
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const { reportError } = await import("./output.js");
    process.exitCode = reportError(err, { json: wantsJson, debug: argv.includes("--debug") });
  }
}

await main();
// Exits even when handles remain open (labd's VM watchers after a stop, keep-alive sockets).
process.exit(process.exitCode ?? 0);
