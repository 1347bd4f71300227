// Starts a raw qemu for tests that boot an image bundle without lab; its stderr is shown only
// when it fails.
import { type ChildProcess, spawn } from "node:child_process";

export function spawnQemu(
  tag: string,
  args: string[],
): { proc: ChildProcess; exited: Promise<number | null> } {
  const proc = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.on("exit", (code) => {
      if (code !== 0 && stderr) console.error(`qemu ${tag}: ${stderr}`);
      resolve(code);
    });
  });
  return { proc, exited };
}
