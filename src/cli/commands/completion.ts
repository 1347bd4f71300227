// lab completion bash|zsh|fish prints a script; the hidden `lab __complete WORD...` answers it at
// tab time from the program tree (src/cli/completion/candidates.ts) and labd, units/, cloud-config/.
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { complete, FILES } from "../completion/candidates.js";
import { bashScript, fishScript, zshScript } from "../completion/scripts.js";
import { labSources } from "../completion/sources.js";

export const SHELLS = ["bash", "zsh", "fish"] as const;

/** Prints the script; `program` is the root command (the action gets it from commander). */
export async function completionCommand(shell: string, program: Command): Promise<void> {
  const name = program.name();
  if (shell === "bash") process.stdout.write(bashScript(name));
  else if (shell === "zsh") process.stdout.write(zshScript(name));
  else if (shell === "fish") process.stdout.write(fishScript(name));
  else
    throw new UsageError(`no completion for shell ${JSON.stringify(shell)}`, {
      hint: "use bash, zsh or fish",
    });
}

/** `lab __complete WORD...`: the candidates for the last word, one "WORD<TAB>DESCRIPTION" a line. */
export async function completeCommand(words: string[], program: Command): Promise<void> {
  const r = await complete(program, words.length > 0 ? words : [""], labSources());
  if (r === FILES) {
    process.stdout.write(`${FILES}\n`);
    return;
  }
  for (const c of r) process.stdout.write(`${c.word}\t${c.description.replace(/\s+/g, " ")}\n`);
}
