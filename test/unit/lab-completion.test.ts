import { execFileSync } from "node:child_process";
import { Argument, Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { bashScript, completionTree, zshScript } from "../../src/cli/commands/completion.js";

function program(): Command {
  const p = new Command("lab").option("--debug", "show causes");
  const vm = p.command("vm").description("virtual machines");
  vm.command("create <name>")
    .description("create a VM")
    .option("--role <role>", "cloud-config role")
    .option("--no-start", "do not boot");
  vm.command("list").description("list: name, role, state");
  p.command("up")
    .description("bring a lab up")
    .addOption(new Option("-f, --file <file>", "the lab file"))
    .option("--plan", "what would change");
  p.command("completion").addArgument(new Argument("<shell>").choices(["bash", "zsh"]));
  return p;
}

function hasShell(sh: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${sh}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Runs the bash completion function for a command line and returns its candidates. */
function complete(line: string): string[] {
  const words = line.split(" ");
  const script = `${bashScript(program())}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_lab_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync("bash", ["-c", script], { encoding: "utf8" }).split("\n").filter(Boolean);
}

describe("shell completion", () => {
  it("walks commands, subcommands, options and argument choices", () => {
    const tree = completionTree(program());
    expect(tree.map((n) => n.path)).toEqual([
      "lab",
      "lab vm",
      "lab vm create",
      "lab vm list",
      "lab up",
      "lab completion",
    ]);
    const words = (p: string) => tree.find((n) => n.path === p)!.words.map((w) => w.word);
    expect(words("lab")).toEqual(["vm", "up", "completion", "--debug", "--help"]);
    expect(words("lab up")).toEqual(["--file", "-f", "--plan", "--help"]);
    expect(words("lab completion")).toEqual(["--help", "bash", "zsh"]);
    expect(tree.find((n) => n.path === "lab up")!.valueOptions).toEqual(["--file", "-f"]);
  });

  it.skipIf(!hasShell("bash"))("bash: valid syntax, completes subcommands and options by position", () => {
    execFileSync("bash", ["-n"], { input: bashScript(program()) });
    expect(complete("lab ")).toEqual(["vm", "up", "completion", "--debug", "--help"]);
    expect(complete("lab vm c")).toEqual(["create"]);
    expect(complete("lab vm create n1 --r")).toEqual(["--role"]);
    expect(complete("lab completion ")).toEqual(["--help", "bash", "zsh"]);
  });

  it.skipIf(!hasShell("zsh"))("zsh: valid syntax", () => {
    execFileSync("zsh", ["-n"], { input: zshScript(program()) });
  });

  it("zsh: describes each candidate and escapes colons and quotes", () => {
    const script = zshScript(program());
    expect(script.startsWith("#compdef lab\n")).toBe(true);
    expect(script).toContain("'list:list: name, role, state'");
    expect(script).toContain("compdef _lab lab");
  });
});
