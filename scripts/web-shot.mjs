#!/usr/bin/env zx
// A screenshot of the lab's web page: `lab web` for the URL, then Debian's chromium (driven by
// playwright-core) renders the page once the picture has arrived. Used by `npm run demo`, and by
// `npx zx scripts/demo.mjs --shot` alone.
import fs from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { $ } from "zx";

const root = path.resolve(import.meta.dirname, "..");

export async function webScreenshot(out = path.join(root, ".cache/lab.png")) {
  const r = await $({ nothrow: true })`node ${path.join(root, "bin/lab.js")} web --json`;
  if (r.exitCode !== 0) throw new Error(`lab web failed: ${r.stderr.trim()}`);
  const { url } = JSON.parse(r.stdout);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    chromiumSandbox: process.getuid?.() !== 0, // chromium's sandbox refuses to run as root
    args: ["--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    // The first picture comes over the live feed; the events list is filled before it.
    await page.locator("body[data-updated]").waitFor({ timeout: 60_000 });
    await page
      .locator("svg g.vm")
      .first()
      .waitFor({ timeout: 60_000 })
      .catch(() => undefined);
    await page
      .locator("svg g.vm")
      .first()
      .click()
      .catch(() => undefined);
    await page
      .locator("#console-note", { hasText: "attached" })
      .waitFor({ timeout: 30_000 })
      .catch(() => undefined);
    await page.keyboard.press("Enter");
    await page
      .locator("#term .xterm-rows", { hasText: "#" })
      .waitFor({ timeout: 10_000 })
      .catch(() => undefined);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
  return out;
}
