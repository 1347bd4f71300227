// Every unit shipped in units/ parses as fleet would read it and passes the [X-Fleet] checks.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseUnitFile } from "../../src/fleet/unit-file.js";
import { checkXFleet, validateUnitName } from "../../src/fleet/xfleet.js";

const dir = path.join(import.meta.dirname, "../../units");
const units = readdirSync(dir).filter((f) => /\.(service|socket|timer)$/.test(f));

describe("units/", () => {
  it.each(units)("%s parses and passes the X-Fleet checks", (file) => {
    validateUnitName(file);
    const options = parseUnitFile(readFileSync(path.join(dir, file), "utf8"), file);
    expect(options.length).toBeGreaterThan(0);
    expect(() => checkXFleet(options, file)).not.toThrow();
  });
});
