// lab doctor [--json]
import { runDoctor } from "../../doctor/doctor.js";
import { UsageError } from "../../errors.js";
import { createHost } from "../../host/host.js";
import { printJson } from "../output.js";

export async function doctorCommand(opts: { json?: boolean }): Promise<void> {
  const checks = await runDoctor(createHost());
  const failed = checks.filter((c) => c.required && !c.ok);
  if (opts.json) printJson({ ok: failed.length === 0, checks });
  else {
    for (const c of checks) {
      const mark = c.ok ? "ok  " : c.required ? "FAIL" : "warn";
      process.stdout.write(`${mark}  ${c.name.padEnd(18)} ${c.detail}\n`);
      if (!c.ok && c.fix) process.stdout.write(`      ${"".padEnd(18)} fix: ${c.fix}\n`);
    }
  }
  if (failed.length > 0) {
    throw new UsageError(
      `${failed.length} required check(s) failed: ${failed.map((c) => c.name).join(", ")}`,
      {
        hint: "run the fix commands above, or 'npm run setup'",
      },
    );
  }
}
