// Colour for people at a terminal: none when the stream is not a TTY, when NO_COLOR is set
// (no-color.org) or TERM is dumb. The escape codes are node's own (util.inspect.colors): no
// dependency, and util.styleText would second-guess the stream on newer Node versions.
import { inspect } from "node:util";

type Style = "red" | "green" | "yellow" | "cyan" | "bold" | ("red" | "bold")[];

function styled(style: Style, text: string): string {
  let out = text;
  for (const s of Array.isArray(style) ? style : [style]) {
    const [open, close] = inspect.colors[s] ?? [];
    if (open !== undefined && close !== undefined) out = `\u001b[${open}m${out}\u001b[${close}m`;
  }
  return out;
}

export function colourOn(stream: { isTTY?: boolean } = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

export function paint(style: Style, text: string, stream: { isTTY?: boolean } = process.stdout): string {
  return colourOn(stream) ? styled(style, text) : text;
}

const STATE_STYLE: Record<string, Style> = {
  running: "green",
  up: "green",
  ready: "green",
  removed: "green",
  stopped: "yellow",
  absent: "yellow",
  degraded: "red",
  crashed: "red",
  failed: "red",
  conflict: "red",
};

/** A state word in its colour (running green, stopped yellow, crashed red); other text as is. */
export function paintState(text: string, stream: { isTTY?: boolean } = process.stdout): string {
  const style = STATE_STYLE[text];
  return style ? paint(style, text, stream) : text;
}
