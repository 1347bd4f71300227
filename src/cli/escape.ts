// Guest output made safe for a terminal: control characters (C0, DEL, C1) become visible escapes
// like \x1b, so a logged "ESC[6n" cannot make the terminal answer into the shell. Newline and tab
// stay; the CR of a CRLF pair is dropped (serial consoles end lines with it), a lone CR is shown.

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const hex = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;

export function escapeControl(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(CONTROL, hex);
}
