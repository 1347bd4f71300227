// The page's files: our own from web/ in the package, xterm.js from its npm package (no CDN).
// Only a fixed list is served; no request path is ever joined onto a directory.
import { open, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const own = (name: string) => fileURLToPath(new URL(`../../web/${name}`, import.meta.url));

export interface Asset {
  file: () => string;
  type: string;
  /** Served without the token: the bootstrap that takes the token from the URL, and nothing with data. */
  public?: boolean;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

export const ASSETS: Record<string, Asset> = {
  "/": { file: () => own("index.html"), type: "text/html; charset=utf-8", public: true },
  "/boot.js": { file: () => own("boot.js"), type: JS, public: true },
  "/assets/app.js": { file: () => own("app.js"), type: JS },
  "/assets/draw.js": { file: () => own("draw.js"), type: JS },
  "/assets/style.css": { file: () => own("style.css"), type: CSS },
  "/assets/xterm.js": { file: () => require.resolve("@xterm/xterm/lib/xterm.js"), type: JS },
  "/assets/xterm.css": { file: () => require.resolve("@xterm/xterm/css/xterm.css"), type: CSS },
  "/assets/addon-fit.js": { file: () => require.resolve("@xterm/addon-fit/lib/addon-fit.js"), type: JS },
};

export function readAsset(a: Asset): Promise<Buffer> {
  return readFile(a.file());
}

/** The last `limit` events of the log, read from its end (the log only grows). */
export async function recentEvents(file: string, limit: number): Promise<unknown[]> {
  const TAIL = 512 * 1024;
  const fh = await open(file, "r").catch(() => undefined);
  if (!fh) return [];
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - TAIL);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const lines = buf.toString("utf8").split("\n");
    if (start > 0) lines.shift(); // cut mid-line
    const out: unknown[] = [];
    for (const line of lines.filter((l) => l.trim()).slice(-limit)) {
      try {
        out.push(JSON.parse(line));
      } catch {
        // A line cut short by a crash: `lab events` skips it too.
      }
    }
    return out;
  } finally {
    await fh.close();
  }
}
