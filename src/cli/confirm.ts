// Asking before something destructive: yes with -y; on a terminal, a y/N question; without one,
// a usage error (nobody can answer, and a script must say -y).
import { createInterface } from "node:readline/promises";
import { UsageError } from "../errors.js";

export async function confirm(question: string, opts: { yes?: boolean; what: string }): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY)
    throw new UsageError(`${opts.what}: refusing without a terminal to ask`, {
      hint: "pass -y (--yes) to confirm, or --plan to only see what it would do",
    });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
