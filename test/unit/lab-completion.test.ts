// Completion: the candidates `lab __complete` answers for a command line (program tree walk, option
// values, positional names from the name sources), and the bash, zsh and fish scripts run for real.
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Argument, Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { complete, FILES, type NameSources } from "../../src/cli/completion/candidates.js";
import { bashScript, fishScript, zshScript } from "../../src/cli/completion/scripts.js";

function program(): Command {
  const p = new Command("lab").option("--debug", "show causes");
  const vm = p.command("vm").description("virtual machines");
  vm.command("create <name>")
    .description("create a VM")
    .option("--role <role>", "cloud-config role")
    .option("--net <network>", "lab network")
    .option("--accel <accel>", "auto | kvm | tcg")
    .option("--wait [timeout]", "wait until ready")
    .option("--no-start", "do not boot");
  vm.command("start <name>").description("boot a stopped VM");
  vm.command("list").description("list: name, role, state");
  p.command("up")
    .description("bring a lab up")
    .addOption(new Option("-f, --file <file>", "the lab file"))
    .option("--plan", "what would change");
  p.command("fleet").option("--units-dir <dir>", "units").command("start <units...>");
  p.command("completion").addArgument(new Argument("<shell>").choices(["bash", "zsh", "fish"]));
  return p;
}

const sources: NameSources = {
  vms: async () => ["node1", "node2"],
  networks: async () => ["default", "test"],
  images: async () => ["lab-test"],
  catalog: async () => ["flatcar-stable"],
  mirror: async () => ["fleetd"],
  roles: async () => ["etcd", "kubernetes"],
  units: async (dir) => (dir ? [`${dir}/a.service`] : ["web.service", "db.service"]),
};

async function words(line: string): Promise<string[] | typeof FILES> {
  const r = await complete(program(), line.split(" ").slice(1), sources);
  return r === FILES ? r : r.map((c) => c.word);
}

describe("completion candidates", () => {
  it("walks subcommands and offers options only for a word starting with -", async () => {
    expect(await words("lab ")).toEqual(["vm", "up", "fleet", "completion"]);
    expect(await words("lab vm ")).toEqual(["create", "start", "list"]);
    expect(await words("lab up --")).toEqual(["--file", "-f", "--plan", "--debug", "--help"]);
    expect(await words("lab completion ")).toEqual(["bash", "zsh", "fish"]);
  });

  it("completes names by position and option values by option", async () => {
    expect(await words("lab vm start ")).toEqual(["node1", "node2"]);
    expect(await words("lab vm start node1 ")).toEqual([]);
    expect(await words("lab vm create ")).toEqual([]);
    expect(await words("lab vm create n --role ")).toEqual(["etcd", "kubernetes"]);
    expect(await words("lab vm create n --net ")).toEqual(["default", "test"]);
    expect(await words("lab vm create n --accel ")).toEqual(["auto", "kvm", "tcg"]);
    expect(await words("lab up -f ")).toBe(FILES);
    // An optional value (--wait [timeout]) does not swallow the next word.
    expect(await words("lab vm create --wait ")).toEqual([]);
    expect(await words("lab fleet start a.service ")).toEqual(["web.service", "db.service"]);
    expect(await words("lab fleet --units-dir /u start ")).toEqual(["/u/a.service"]);
  });
});

function hasShell(sh: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${sh}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A stand-in `lab` for the scripts: answers __complete with fixed lines and logs its words. */
async function fakeLab(answer: string): Promise<{ dir: string; log: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "lab-compl-"));
  const log = path.join(dir, "words");
  await writeFile(
    path.join(dir, "lab"),
    `#!/bin/sh\n[ "$1" = __complete ] || exit 1\nshift\nprintf '%s|' "$@" > ${log}\nprintf '${answer}'\n`,
    { mode: 0o755 },
  );
  return { dir, log };
}

describe("completion scripts", () => {
  it.skipIf(!hasShell("bash"))(
    "bash: passes the words typed so far and filters by the current word",
    async () => {
      const { dir, log } = await fakeLab("create\\tcreate a VM\\nconsole\\tattach\\nlist\\tlist VMs\\n");
      const script = `${bashScript("lab")}
COMP_WORDS=(lab vm c); COMP_CWORD=2
_lab_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const out = execFileSync("bash", ["-c", script], {
        encoding: "utf8",
        env: { PATH: `${dir}:/usr/bin:/bin` },
      });
      expect(out.split("\n").filter(Boolean)).toEqual(["create", "console"]);
      expect(execFileSync("cat", [log], { encoding: "utf8" })).toBe("vm|c|");
    },
  );

  it.skipIf(!hasShell("zsh"))("zsh: valid syntax", () => {
    execFileSync("zsh", ["-n"], { input: zshScript("lab") });
    expect(zshScript("lab").startsWith("#compdef lab\n")).toBe(true);
  });

  it.skipIf(!hasShell("fish"))("fish: offers what __complete answers, with descriptions", async () => {
    const { dir } = await fakeLab("node1\\tvm\\nnode2\\tvm\\n");
    const script = `${fishScript("lab")}\ncomplete -C'lab vm start '`;
    const out = execFileSync("fish", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
    });
    expect(out.split("\n").filter(Boolean)).toEqual(["node1\tvm", "node2\tvm"]);
  });
});
