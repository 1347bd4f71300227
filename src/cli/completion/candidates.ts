// What `lab __complete WORD...` answers: the command line so far is walked through the program
// tree (the same one --help shows); the last word is the one being completed. Names come from labd
// (never autostarted: no daemon, no names), roles from cloud-config/, units from units/ (or the
// --units-dir on the line). One candidate per line, "WORD<TAB>DESCRIPTION"; FILES means "complete
// file names" to the shell scripts.
import type { Command, Option } from "commander";

export const FILES = "__files__";

export interface Candidate {
  word: string;
  description: string;
}

/** Sources of names; each answers [] when it cannot (labd down, no permission). */
export interface NameSources {
  vms(): Promise<string[]>;
  networks(): Promise<string[]>;
  images(): Promise<string[]>;
  catalog(): Promise<string[]>;
  mirror(): Promise<string[]>;
  roles(): Promise<string[]>;
  units(dir?: string): Promise<string[]>;
}

type Kind = keyof NameSources | "files" | "none" | { choices: string[] };

const hidden = (c: Command) => (c as unknown as { _hidden?: boolean })._hidden === true;

/** The values an option takes, by its long flag; others complete file names or nothing. */
const OPTION_VALUES: Record<string, Kind> = {
  "--net": "networks",
  "--image": "images",
  "--role": "roles",
  "--vm": "vms",
  "--config-drive": { choices: ["iso", "9p"] },
  "--restart": { choices: ["no", "on-failure", "always"] },
  "--accel": { choices: ["auto", "kvm", "tcg"] },
  "--for": { choices: [] },
  "--type": {
    choices: [
      "vm.*",
      "network.*",
      "image.*",
      "mirror.*",
      "daemon.*",
      "vm.started",
      "vm.stopped",
      "vm.created",
      "vm.destroyed",
    ],
  },
  "--file": "files",
  "--units-dir": "files",
  "--ssh-key": "files",
  "--output": "files",
};

/** What a command's positional argument names, by command path. */
function argumentKind(path: string, argName: string, choices: readonly string[] | undefined): Kind {
  if (choices && choices.length > 0) return { choices: [...choices] };
  if (path === "lab vm create" || path === "lab image import" || path === "lab mirror import") {
    return argName === "path" || argName === "file" ? "files" : "none";
  }
  if (path.startsWith("lab vm ")) return argName === "name" ? "vms" : "none";
  if (path.startsWith("lab net ")) return "networks";
  if (path === "lab image pull") return "catalog";
  if (path.startsWith("lab image ")) return "images";
  if (path === "lab mirror add") return "none";
  if (path.startsWith("lab mirror ")) return "mirror";
  if (path.startsWith("lab fleet ")) return "units";
  if (["lab exec", "lab shell", "lab rm", "lab cp"].includes(path)) return "vms";
  return "none";
}

function findOption(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

const takesValue = (o: Option) => o.required || o.optional;

async function kindWords(
  kind: Kind,
  src: NameSources,
  unitsDir?: string,
): Promise<Candidate[] | typeof FILES> {
  if (kind === "files") return FILES;
  if (kind === "none") return [];
  if (typeof kind === "object") return kind.choices.map((word) => ({ word, description: "" }));
  const names = kind === "units" ? await src.units(unitsDir) : await src[kind]();
  return names.map((word) => ({ word, description: kind.replace(/s$/, "") }));
}

/** Candidates for the last of `words` (the words after the program name). */
export async function complete(
  root: Command,
  words: string[],
  src: NameSources,
): Promise<Candidate[] | typeof FILES> {
  let cmd = root;
  let path = root.name();
  let positional = 0;
  let unitsDir: string | undefined;
  const done = words.slice(0, -1);
  for (let i = 0; i < done.length; i++) {
    const w = done[i]!;
    if (w === "--") break;
    if (w.startsWith("-")) {
      const [flag, inline] = w.split("=", 2) as [string, string | undefined];
      const o = findOption(cmd, flag);
      if (o && takesValue(o) && inline === undefined && !o.optional) {
        if (o.long === "--units-dir") unitsDir = done[i + 1];
        i++;
      }
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub && positional === 0) {
      cmd = sub;
      path = `${path} ${sub.name()}`;
      continue;
    }
    positional++;
  }
  const prev = done[done.length - 1];
  const cur = words[words.length - 1] ?? "";
  if (prev?.startsWith("-") && !prev.includes("=")) {
    const o = findOption(cmd, prev);
    if (o?.required) return kindWords(OPTION_VALUES[o.long ?? ""] ?? "files", src, unitsDir);
  }
  if (cur.startsWith("-")) {
    const out: Candidate[] = [];
    for (let c: Command | null = cmd; c; c = c.parent) {
      for (const o of c.options)
        if (!o.hidden)
          for (const f of [o.long, o.short]) if (f) out.push({ word: f, description: o.description });
      if (c === root) break;
    }
    out.push({ word: "--help", description: "show help" });
    return out;
  }
  const subs = cmd.commands.filter((c) => !hidden(c) && c.name() !== "help");
  if (subs.length > 0 && positional === 0)
    return subs.map((c) => ({ word: c.name(), description: c.description() }));
  const args = cmd.registeredArguments;
  const arg = args[Math.min(positional, args.length - 1)];
  if (!arg || (positional >= args.length && !arg.variadic)) return [];
  return kindWords(argumentKind(path, arg.name(), arg.argChoices), src, unitsDir);
}
