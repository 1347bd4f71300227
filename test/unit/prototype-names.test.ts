// Names index data everywhere (ledger, X-Fleet options); a name that is also a property of every
// plain object must not find anything it was not given.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseUnitFile } from "../../src/fleet/unit-file.js";
import { checkXFleet } from "../../src/fleet/xfleet.js";
import { LedgerStore, readLedger } from "../../src/state/ledger.js";
import { validateVmName } from "../../src/state/names.js";
import { planIdentity } from "../../src/vm/identity.js";

const NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
const dir = mkdtempSync(path.join(tmpdir(), "lab-proto-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const net = {
  name: "default",
  subnet: "172.16.11.0/24",
  prefix: 24,
  gateway: "172.16.11.1",
  bridge: "labbr0",
  domain: "lab",
  dhcpStart: "172.16.11.128",
  dhcpEnd: "172.16.11.254",
  createdAt: "2026-01-01T00:00:00Z",
};

describe("names that are Object.prototype properties", () => {
  it("find no VM, network or identity in a ledger that does not hold them", async () => {
    const store = await LedgerStore.open(path.join(dir, "empty.json"));
    const l = store.read();
    for (const n of NAMES) {
      expect(l.vms[n]).toBeUndefined();
      expect(l.networks[n]).toBeUndefined();
      expect(l.identities[n]).toBeUndefined();
    }
  });

  it("are stored, found and read back as themselves; one that cannot be stored is refused", async () => {
    const file = path.join(dir, "lab.json");
    const store = await LedgerStore.open(file);
    // JSON and schema validation cannot keep a "__proto__" key: the update fails instead of losing it.
    await expect(
      store.update((l) => {
        l.networks.default = net;
        // An own key named __proto__: the record has no prototype, so this is data, not the accessor.
        // biome-ignore lint/suspicious/noProto: the point of the test
        // biome-ignore lint/complexity/useLiteralKeys: written as a computed key on purpose
        l.identities["__proto__"] = planIdentity(l, net, "__proto__");
      }),
    ).rejects.toThrow(/cannot hold a record named "__proto__"/);
    const STORABLE = NAMES.filter((n) => n !== "__proto__");
    await store.update((l) => {
      l.networks.default = net;
      for (const n of STORABLE) l.identities[n] = planIdentity(l, net, n);
    });
    const l = store.read();
    expect(Object.keys(l.identities).sort()).toEqual([...STORABLE].sort());
    expect(new Set(Object.values(l.identities).map((i) => i.ip)).size).toBe(STORABLE.length);
    // A kept identity is found by its own name, not invented from the prototype.
    expect(planIdentity(l, net, "constructor")).toEqual(l.identities.constructor);
    const reread = await readLedger(file);
    expect(Object.keys(reread.identities).sort()).toEqual([...STORABLE].sort());
    expect(reread.vms.constructor).toBeUndefined();
  });

  it("constructor is a valid VM name; the others are refused at the edge", () => {
    expect(validateVmName("constructor")).toBe("constructor");
    for (const n of ["__proto__", "toString", "hasOwnProperty"]) expect(() => validateVmName(n)).toThrow();
  });

  it("is no deprecated X-Fleet option", () => {
    const unit = parseUnitFile("[Service]\nExecStart=/bin/true\n[X-Fleet]\nconstructor=x\n");
    expect(() => checkXFleet(unit, "u.service")).toThrow(/unknown \[X-Fleet\] option constructor/);
  });
});
