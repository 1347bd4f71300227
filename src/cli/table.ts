// Plain text tables for `lab ... list` and friends: a header row and aligned columns, two spaces
// plus one space of padding each side between columns, no borders, trailing blanks trimmed, a
// cell with line breaks spread over several lines. Written here instead of loading a table
// library: every command that prints a table pays its load time, and nothing more is needed.

// East Asian wide and fullwidth characters take two columns in a terminal.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;

// Colour codes (cli/colour.ts) take no columns.
const SGR = /\x1b\[[0-9;]*m/g;

/** How many terminal columns `text` takes. */
export function textWidth(text: string): number {
  let n = 0;
  for (const ch of text.replace(SGR, "")) n += WIDE.test(ch) ? 2 : 1;
  return n;
}

const padEnd = (text: string, width: number) => text + " ".repeat(Math.max(0, width - textWidth(text)));

/** The table as text, one line per row (more for cells with line breaks), ending in a newline. */
export function formatTable(head: string[], rows: string[][]): string {
  const all = [head, ...rows].map((r) => r.map((c) => c.split("\n")));
  const columns = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, k) =>
    Math.max(0, ...all.map((r) => Math.max(0, ...(r[k] ?? [""]).map(textWidth)))),
  );
  const out: string[] = [];
  for (const row of all) {
    const height = Math.max(1, ...row.map((lines) => lines.length));
    for (let i = 0; i < height; i++) {
      const cells = widths.map((w, k) => ` ${padEnd(row[k]?.[i] ?? "", w)} `);
      out.push(cells.join("  ").trimEnd().replace(/^ /, ""));
    }
  }
  return `${out.join("\n")}\n`;
}
