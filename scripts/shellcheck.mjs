#!/usr/bin/env node
// `npm run lint` part 3: shellcheck over every shell file the repository tracks, found by name
// (*.sh) or by an sh/bash/dash/ash shebang (guest scripts in images/, cloud-config includes,
// test helpers). Findings are fixed, or disabled inline with the reason beside the directive.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const SHEBANG = /^#!\s*(\/usr\/bin\/env\s+)?(\S*\/)?(sh|bash|dash|ash)(\s|$)/;

function shellFiles() {
  const tracked = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  });
  return tracked
    .split("\0")
    .filter(Boolean)
    .filter((f) => {
      if (f.endsWith(".sh")) return true;
      try {
        return SHEBANG.test(readFileSync(path.join(root, f), "utf8").slice(0, 100).split("\n")[0] ?? "");
      } catch {
        return false;
      }
    })
    .sort();
}

const files = shellFiles();
const r = spawnSync("shellcheck", ["--external-sources", ...files], { cwd: root, stdio: "inherit" });
if (r.error) {
  console.error(`shellcheck: ${r.error.message}\nhint: apt-get install shellcheck   (or run: npm run setup)`);
  process.exitCode = 1;
} else {
  process.exitCode = r.status ?? 1;
  if (r.status === 0) console.log(`shellcheck: ${files.length} shell files clean`);
}
