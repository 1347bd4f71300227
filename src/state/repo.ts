// Where lab's own files live (cloud-config/, images/, units/): the package root, found from this
// module's location so it works from src/ (tests) and dist/ (the installed CLI).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function repoRoot(): string {
  if (cached) return cached;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) {
      cached = dir;
      return dir;
    }
  }
  cached = path.resolve(here, "..", "..");
  return cached;
}
