import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SingleFlight, swapDirectory, tempArea, writeIfChanged } from "../../src/state/atomic.js";

describe("SingleFlight", () => {
  it("shares one run between callers and forwards its progress to each", async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    let finish: (n: number) => void = () => undefined;
    const heard: string[] = [];
    const work = (progress: (m: string) => void) => {
      runs++;
      progress("started");
      return new Promise<number>((resolve) => {
        finish = (n) => {
          progress("done");
          resolve(n);
        };
      });
    };
    const first = flights.run("k", work, (m) => heard.push(`a:${m}`));
    const second = flights.run("k", work, (m) => heard.push(`b:${m}`));
    finish(7);
    expect(await Promise.all([first, second])).toEqual([7, 7]);
    expect(runs).toBe(1);
    expect(heard).toEqual(["a:started", "a:done", "b:done"]);
    expect(flights.running("k")).toBeUndefined();
    await flights.run("k", async () => ++runs);
    expect(runs).toBe(2);
  });

  it("keeps a success when asked to, and forgets a failure", async () => {
    const flights = new SingleFlight<string>({ keepResults: true });
    await expect(flights.run("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await flights.run("k", async () => "ok")).toBe("ok");
    expect(await flights.run("k", async () => "again")).toBe("ok");
  });
});

describe("files", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "lab-atomic-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("swaps a directory in for an old one and leaves no temp entries", async () => {
    const target = path.join(root, "d");
    await mkdir(target);
    await writeFile(path.join(target, "old"), "1");
    const area = tempArea(root);
    const staging = area.claim("d");
    await mkdir(staging);
    await writeFile(path.join(staging, "new"), "2");
    await swapDirectory(staging, target);
    expect(await readdir(target)).toEqual(["new"]);
    expect(await readdir(root)).toEqual(["d"]);
  });

  it("puts the old directory back when the new one cannot be renamed in", async () => {
    const target = path.join(root, "d");
    await mkdir(target);
    await writeFile(path.join(target, "old"), "1");
    await expect(swapDirectory(path.join(root, "missing"), target)).rejects.toThrow(/ENOENT/);
    expect(await readdir(target)).toEqual(["old"]);
    expect(await readdir(root)).toEqual(["d"]);
  });

  it("cleans temp entries of dead processes, never those in use", async () => {
    const area = tempArea(root);
    const mine = area.claim("busy");
    await writeFile(mine, "");
    await writeFile(path.join(root, `.tmp-${2 ** 31 - 1}-00-dead`), "");
    expect(await area.cleanStale()).toEqual([`.tmp-${2 ** 31 - 1}-00-dead`]);
    expect(await readdir(root)).toEqual([path.basename(mine)]);
    await area.release(mine);
    expect(await readdir(root)).toEqual([]);
  });

  it("writes only when the content differs", async () => {
    const f = path.join(root, "f");
    expect(await writeIfChanged(f, "a")).toBe(true);
    expect(await writeIfChanged(f, "a")).toBe(false);
    expect(await readFile(f, "utf8")).toBe("a");
  });
});
