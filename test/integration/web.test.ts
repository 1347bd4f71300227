// The web page against a real lab: labd, OVS, dnsmasq and two lab-test guests under qemu in a
// namespace, the page in a real headless chromium in the same namespace.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VmStatus } from "../../src/vm/status.js";
import { CHROMIUM, launchInNs, type NsBrowser } from "../helpers/browser.js";
import { waitForReady } from "../helpers/guest.js";
import { createLabEnv, type LabEnv, repoRoot } from "../helpers/lab.js";
import { createNetns, deleteAllNetns, inNs } from "../helpers/netns.js";
import { skipUnless, VM_TOOLS } from "../helpers/require.js";

const skip = skipUnless([...VM_TOOLS, CHROMIUM]);
const bundle = path.join(repoRoot, ".cache/images/lab-test");
const SLOW = 120_000;

describe.skipIf(skip)("lab web (real labd, guests and chromium in a namespace)", () => {
  let lab: LabEnv;
  let nsb: NsBrowser;
  let page: Page;
  let url: string;
  const ips: Record<string, string> = {};

  beforeAll(async () => {
    if (!existsSync(path.join(bundle, "manifest.json")))
      throw new Error("run npm run setup first (builds the lab-test image)");
    lab = await createLabEnv(await createNetns("labW"));
    await lab.lab(["net", "up"]);
    await lab.lab(["image", "import", bundle, "--name", "lab-test"]);
    await lab.lab(["vm", "create", "w1", "--role", "etcd"]);
    await lab.lab(["vm", "create", "w2", "--role", "kubernetes"]);
    for (const name of ["w1", "w2"]) ips[name] = (await lab.labJson<VmStatus>(["vm", "show", name])).ip!;
    url = (await lab.labJson<{ url: string }>(["web"])).url;
    nsb = await launchInNs(lab.ns);
    page = await nsb.browser.newPage();
    await page.goto(url);
  });

  afterAll(async () => {
    await nsb?.close();
    await lab?.cleanup();
    await deleteAllNetns();
  });

  it("prints a loopback URL with a token from a root:lab 0640 file, and refuses a bad --listen", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:7780\/#token=[A-Za-z0-9_-]{40,}$/);
    const st = statSync(path.join(lab.run, "web.token"));
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.uid).toBe(0);
    const listening = String((await inNs(lab.ns, ["ss", "-Hltn", "sport = :7780"])).stdout);
    expect(listening).toMatch(/127\.0\.0\.1:7780/);
    expect(listening).not.toMatch(/0\.0\.0\.0:7780|\*:7780/);
    const bad = await lab.lab(["web", "--listen", "localhost:99999"], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/not an IP address/);
  });

  it("draws both VMs with their IPs, and the network they sit on", async () => {
    for (const name of ["w1", "w2"]) {
      const vm = page.locator(`svg g.vm[data-vm="${name}"]`);
      await vm.waitFor({ timeout: SLOW });
      expect(await vm.getAttribute("data-state")).toBe("running");
      expect(await vm.textContent()).toContain(ips[name]);
    }
    expect(await page.locator('svg g.net[data-net="default"]').textContent()).toMatch(/172\.16\.\d+\.0\/24/);
  });

  it("turns a VM stopped by the CLI stopped on the page, without a reload", async () => {
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await lab.lab(["vm", "stop", "w2", "--timeout", "3"]); // the busybox guest ignores ACPI: no 30 s wait
    await page.locator('svg g.vm[data-vm="w2"][data-state="stopped"]').waitFor({ timeout: SLOW });
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    await page.locator('#event-list li[data-type="vm.stopped"][data-vm="w2"]').waitFor({ timeout: SLOW });
    await page.selectOption("#filter-vm", "w2");
    const shownVms = await page
      .locator("#event-list li")
      .evaluateAll((lis) => lis.map((li) => (li as unknown as { dataset: { vm: string } }).dataset.vm));
    expect(shownVms.length).toBeGreaterThan(1);
    expect(new Set(shownVms)).toEqual(new Set(["w2"]));
    await page.selectOption("#filter-vm", "");
  });

  it("runs what is typed into a VM's console in the guest and shows its output", async () => {
    await waitForReady(lab.run, "w1");
    await page.locator('svg g.vm[data-vm="w1"]').click();
    await page.locator("#console-note", { hasText: "attached" }).waitFor({ timeout: SLOW });
    await page.locator("#term .xterm").click();
    await page.keyboard.press("Enter");
    await page.locator("#term .xterm-rows", { hasText: "w1#" }).waitFor({ timeout: SLOW });
    // The shell computes 42: the echoed command line alone cannot show it.
    await page.keyboard.type("echo web-$((6*7))-$(hostname)");
    await page.keyboard.press("Enter");
    await page.locator("#term .xterm-rows", { hasText: "web-42-w1" }).waitFor({ timeout: SLOW });
  });

  it("starts a VM from the page only after the confirmation is accepted", async () => {
    await page.locator('svg g.vm[data-vm="w2"]').click();
    const start = page.locator('#console button[data-action="start"]');
    await expect.poll(() => start.isEnabled(), { timeout: SLOW }).toBe(true);
    page.once("dialog", (d) => void d.dismiss());
    await start.click();
    await page.locator("#console-name", { hasText: "w2" }).waitFor();
    expect((await lab.labJson<VmStatus>(["vm", "show", "w2"])).state).toBe("stopped");
    page.once("dialog", (d) => {
      expect(d.message()).toBe("Start VM w2?");
      void d.accept();
    });
    await start.click();
    await page.locator('svg g.vm[data-vm="w2"][data-state="running"]').waitFor({ timeout: SLOW });
    expect((await lab.labJson<VmStatus>(["vm", "show", "w2"])).state).toBe("running");
  });

  it("refuses HTTP and websocket requests without the right token", async () => {
    const base = url.slice(0, url.indexOf("#"));
    const stranger = await nsb.browser.newContext();
    const p = await stranger.newPage();
    await p.goto(base);
    await p.locator("#boot", { hasText: "needs the URL" }).waitFor({ timeout: SLOW });
    const statuses = await p.evaluate(async () => {
      const get = async (path: string, headers: Record<string, string> = {}) =>
        (await fetch(path, { headers })).status;
      return {
        state: await get("/api/state"),
        wrong: await get("/api/state", { authorization: "Bearer not-the-token" }),
        app: await get("/assets/app.js"),
        events: await get("/api/events"),
        stop: (await fetch("/api/vms/w1/stop", { method: "POST" })).status,
      };
    });
    expect(statuses).toEqual({ state: 401, wrong: 401, app: 401, events: 401, stop: 401 });
    const ws = await p.evaluate(
      (protocols) => {
        const host = () => (globalThis as unknown as { location: { host: string } }).location.host;
        return Promise.all(
          protocols.map(
            (proto) =>
              new Promise<string>((resolve) => {
                const s = new WebSocket(`ws://${host()}/api/vms/w1/console`, proto);
                s.onopen = () => resolve("opened");
                s.onclose = () => resolve("refused");
              }),
          ),
        );
      },
      [[], ["lab-token.not-the-token"]],
    );
    expect(ws).toEqual(["refused", "refused"]);
    await stranger.close();
    // The same requests with the token work (so the refusals above are about the token).
    const token = url.slice(url.indexOf("#token=") + "#token=".length);
    const withToken = await page.evaluate(async (t) => {
      const host = () => (globalThis as unknown as { location: { host: string } }).location.host;
      const state = (await fetch("/api/state", { headers: { authorization: `Bearer ${t}` } })).status;
      const ws = await new Promise<string>((resolve) => {
        const s = new WebSocket(`ws://${host()}/api/vms/w1/console`, [`lab-token.${t}`]);
        s.onopen = () => {
          s.close();
          resolve("opened");
        };
        s.onclose = () => resolve("refused");
      });
      return { state, ws };
    }, token);
    expect(withToken).toEqual({ state: 200, ws: "opened" });
    expect((await lab.labJson<VmStatus>(["vm", "show", "w1"])).state).toBe("running");
  });

  it("turns a VM whose qemu dies red without a reload, and follows the browser's dark mode", async () => {
    const { pid } = await lab.labJson<VmStatus>(["vm", "show", "w2"]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL"); // this test's own qemu, in this test's namespace
    await page.locator('svg g.vm[data-vm="w2"][data-state="crashed"]').waitFor({ timeout: SLOW });
    const stroke = await page
      .locator('svg g.vm[data-vm="w2"] rect')
      .evaluate(
        (r) =>
          (
            globalThis as unknown as { getComputedStyle: (e: unknown) => { stroke: string } }
          ).getComputedStyle(r).stroke,
      );
    expect(stroke).toBe("rgb(214, 69, 69)"); // --crashed in light mode
    const dark = await nsb.browser.newContext({ colorScheme: "dark" });
    const d = await dark.newPage();
    await d.goto(url);
    await d.locator('svg g.vm[data-vm="w1"]').waitFor({ timeout: SLOW });
    const bg = await d.evaluate(() => {
      const g = globalThis as unknown as {
        getComputedStyle: (e: unknown) => { backgroundColor: string };
        document: { body: unknown };
      };
      return g.getComputedStyle(g.document.body).backgroundColor;
    });
    expect(bg).toBe("rgb(18, 22, 28)"); // --bg in dark mode
    await dark.close();
  });
});
