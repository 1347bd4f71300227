// systemd unit files as fleet sees them: an ordered list of {section, name, value} options.
// Follows systemd's syntax: '#' and ';' start comments, a trailing backslash joins the next line
// (the backslash becomes a space), repeated keys stay separate options, specifiers (%i, %n, ...)
// are left for systemd on the machine to expand.
import { UsageError } from "../errors.js";

export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

export function parseUnitFile(text: string, fileName = "unit file"): UnitOption[] {
  const options: UnitOption[] = [];
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let section: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) {
      const m = /^\[([^\]]+)\]\s*$/.exec(line);
      if (!m) throw new UsageError(`${fileName}:${lineNo}: malformed section header ${JSON.stringify(line)}`);
      section = m[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0)
      throw new UsageError(`${fileName}:${lineNo}: expected KEY=VALUE, got ${JSON.stringify(line)}`);
    if (section === undefined) throw new UsageError(`${fileName}:${lineNo}: option outside of any [Section]`);
    const name = line.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw new UsageError(`${fileName}:${lineNo}: invalid option name ${JSON.stringify(name)}`);
    let value = line.slice(eq + 1);
    while (value.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      value = `${value.trimEnd().slice(0, -1)} ${lines[++i]!}`;
    }
    if (value.trimEnd().endsWith("\\")) value = value.trimEnd().slice(0, -1);
    options.push({ section, name, value: value.trim() });
  }
  return options;
}

/** Renders options back to a unit file (for `lab fleet cat`). */
export function serializeUnitFile(options: readonly UnitOption[]): string {
  const out: string[] = [];
  let section: string | undefined;
  for (const o of options) {
    if (o.section !== section) {
      if (section !== undefined) out.push("");
      out.push(`[${o.section}]`);
      section = o.section;
    }
    out.push(`${o.name}=${o.value}`);
  }
  return `${out.join("\n")}\n`;
}

export function optionValues(options: readonly UnitOption[], section: string, name: string): string[] {
  return options.filter((o) => o.section === section && o.name === name).map((o) => o.value);
}

/** Whether two option lists are the same unit: fleet keeps the order, so field by field in order. */
export function sameUnitOptions(a: readonly UnitOption[], b: readonly UnitOption[]): boolean {
  return (
    a.length === b.length &&
    a.every((o, i) => o.section === b[i]!.section && o.name === b[i]!.name && o.value === b[i]!.value)
  );
}
