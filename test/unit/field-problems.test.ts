import { describe, expect, it } from "vitest";
import { z } from "zod";
import { firstProblemText, formatFieldPath, problemsError } from "../../src/field-problems.js";

describe("field problems", () => {
  it("quotes keys that are not simple words", () => {
    expect(formatFieldPath(["write_files", 0, "odd key"])).toBe('write_files[0]["odd key"]');
  });

  it("words the first zod issue the same for every schema", () => {
    const schema = z.strictObject({ a: z.array(z.object({ n: z.number() })) });
    const bad = (data: unknown) => {
      const r = schema.safeParse(data);
      if (r.success) throw new Error("expected a failure");
      return firstProblemText(r.error);
    };
    expect(bad({ a: [{ n: "x" }] })).toBe("a[0].n: expected a number");
    expect(bad({ a: [], extra: 1 })).toBe("extra: unknown key");
    expect(bad([])).toBe("(top level): expected a mapping");
  });

  it("lists every problem under a one-line headline", () => {
    const err = problemsError("f.yaml", [
      { path: "a", message: "one" },
      { path: "b", message: "two" },
    ]);
    expect(err.message).toBe("f.yaml: 2 problems\n  a: one\n  b: two");
    expect(err.exitCode).toBe(2);
  });
});
