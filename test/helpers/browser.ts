// Debian's chromium, driven by playwright-core, started inside a test namespace (so 127.0.0.1 is
// that namespace's loopback, where the namespace's labd listens).
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export interface NsBrowser {
  browser: Browser;
  close: () => Promise<void>;
}

export async function launchInNs(ns: string): Promise<NsBrowser> {
  const dir = await mkdtemp(path.join(tmpdir(), "lab-browser-"));
  // playwright talks to chromium over inherited pipes (fds 3 and 4); `ip netns exec` keeps them.
  const wrapper = path.join(dir, "chromium-in-ns");
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec '${ns}' ${CHROMIUM} "$@"\n`);
  await chmod(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    headless: true,
    chromiumSandbox: false, // root: chromium's sandbox refuses to run as root
    args: ["--disable-gpu", "--disable-dev-shm-usage"],
    timeout: 120_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
