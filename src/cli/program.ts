// The whole command tree of `lab` (so --help is complete), or only the group the command line
// names (so a command starts fast). Implementations load when their command runs.
import { Argument, Command, Option } from "./commander.js";
import { json, lazy } from "./program-lazy.js";
import { labSnapshotCommands, nameCommands } from "./program-names.js";
import {
  fleetCommands,
  imageCommands,
  mirrorCommands,
  netCommands,
  vmCommands,
} from "./program-resources.js";

function daemonCommands(program: Command): void {
  const daemon = program
    .command("daemon")
    .description("the lab daemon (labd), which owns state and processes");
  daemon
    .command("run")
    .description("run labd in the foreground (for a service manager)")
    .addOption(new Option("--autostarted").hideHelp())
    .action(lazy("./commands/daemon.js", "daemonRunCommand"));
  daemon
    .command("start")
    .description("start labd in the background")
    .action(lazy("./commands/daemon.js", "daemonStartCommand"));
  daemon
    .command("stop")
    .description("stop labd (VMs and networks keep running)")
    .action(lazy("./commands/daemon.js", "daemonStopCommand"));
  daemon
    .command("status")
    .description("is labd running, and where")
    .addOption(json())
    .action(lazy("./commands/daemon.js", "daemonStatusCommand"));
}

function labCommands(program: Command): void {
  const file = "./commands/up.js";
  // No default value: without -f and without ./lab.yaml, status and down are about all of labd.
  const labFile = () => new Option("-f, --file <file>", "the lab file (default: lab.yaml)");
  program
    .command("up")
    .description("create what a lab file declares and start what is stopped (idempotent)")
    .addOption(labFile())
    .option("--plan", "only show what would change (create/start/unchanged/conflict); change nothing")
    .option("--no-wait-nodes", "do not wait for the kubernetes machines' nodes to be Ready")
    .addOption(new Option("--json", "stream one JSON event per line (with --plan: the plan)"))
    .addHelpText(
      "after",
      "\nThe lab file declares networks (with their cluster plan), images, machine groups, fleet units and\nmirror artifacts; its schema is lab.schema.json. Everything is checked before anything is created.\nA second 'lab up' does nothing; a VM that exists with another spec is a conflict, never recreated.\nCtrl-C starts no new step and exits 130.\n\nExamples:\n  lab up                              # lab.yaml: etcd + 3 kubernetes machines on Flatcar\n  lab up -f examples/demo.yaml        # the offline demo (lab-test image)\n  lab up -f examples/demo.yaml --plan\n  lab up --json | jq -c 'select(.state == \"done\")'",
    )
    .action(lazy(file, "upCommand"));
  program
    .command("down")
    .description(
      "remove a lab file's units, VMs and networks (absent is fine; images are kept); with no lab file, every VM and network labd knows, after asking",
    )
    .addOption(labFile())
    .option("--forget", "also release the VMs' MAC and IP addresses")
    .option("--plan", "only show what would be removed; change nothing")
    .option("-y, --yes", "do not ask (needed without a lab file when there is no terminal)")
    .addOption(json())
    .addHelpText(
      "after",
      "\nExamples:\n  lab down -f examples/demo.yaml --forget\n  lab down --plan        # no lab.yaml here: what removing everything would remove\n  lab down -y --forget   # no lab.yaml here: every VM and network, without asking",
    )
    .action(lazy(file, "downCommand"));
  program
    .command("status")
    .description(
      "a lab file's networks, VMs, and fleet machines and units when fleet answers; with no lab file, everything labd knows (as 'lab ls')",
    )
    .addOption(labFile())
    .addOption(json())
    .addHelpText("after", "\nExamples:\n  lab status -f examples/demo.yaml\n  lab status --json")
    .action(lazy(file, "statusCommand"));
  program
    .command("completion")
    .description(
      "print a shell completion script (commands, options, and VM, network, image, role and unit names)",
    )
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .addHelpText(
      "after",
      "\nNames are asked of labd at tab time (never started for it) and read from units/ and cloud-config/.\n\nExamples:\n  source <(lab completion bash)          # in ~/.bashrc\n  lab completion zsh > ~/.zfunc/_lab     # a directory in $fpath; then restart zsh\n  lab completion fish > ~/.config/fish/completions/lab.fish",
    )
    .action(async (shell: string, _opts: unknown, cmd: Command) => {
      const { completionCommand } = await import("./commands/completion.js");
      await completionCommand(shell, cmd.parent ?? cmd);
    });
}

function lsCommand(program: Command): void {
  program
    .command("ls")
    .description("everything labd knows, whatever lab file made it: networks, VMs, images")
    .addOption(json())
    .addHelpText(
      "after",
      "\nExamples:\n  lab ls\n  lab ls --json | jq '.vms[] | select(.state == \"running\") | .name'",
    )
    .action(lazy("./commands/ls.js", "lsCommand"));
}

function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check binaries, KVM, OVS datapath, iptables backend, forwarding and privileges")
    .addOption(json())
    .action(lazy("./commands/doctor.js", "doctorCommand"));
}

function eventsCommand(program: Command): void {
  program
    .command("events")
    .description("the daemon's events as they happen (with --since or -n: history first)")
    .addOption(new Option("-f, --follow", "keep printing new events (the default)").hideHelp())
    .option("--no-follow", "print the history (all of it, or --since/-n) and exit")
    .option("--since <when>", "history since a duration ago (10m, 2h) or a date and time")
    .option("-n, --tail <count>", "the last N events of the history")
    .option(
      "--type <type>",
      "only this type (vm.started) or group (vm.*); repeatable",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--vm <name>", "only events about this VM")
    .addOption(json())
    .addHelpText(
      "after",
      "\nExamples:\n  lab events                          # live, until Ctrl-C\n  lab events --since 1h --type vm.*   # the last hour's VM events, then live\n  lab events --no-follow -n 20 --json",
    )
    .action(lazy("./commands/events.js", "eventsCommand"));
}

function webCommand(program: Command): void {
  program
    .command("web")
    .description("the lab as a live web page (topology, states, events, consoles); prints its URL")
    .option("--listen <addr>", "listen on ADDR[:PORT] instead of 127.0.0.1:7780 (the token is still needed)")
    .addOption(json())
    .addHelpText(
      "after",
      "\nThe URL carries a secret token (the page reaches VM consoles: root shells); keep it private.\nFrom a laptop: ssh -L 7780:127.0.0.1:7780 HOST, run 'lab web' there, open the URL it prints.\n\nExamples:\n  lab web\n  lab web --listen 0.0.0.0:8080",
    )
    .action(lazy("./commands/web.js", "webCommand"));
}

function kubeconfigCommand(program: Command): void {
  program
    .command("kubeconfig")
    .description("a kubeconfig for kubectl on this host, from the API server's record in etcd")
    .option("-o, --output <file>", "write it to FILE (mode 0600) instead of printing it")
    .option("--endpoint <url>", "fleet API of the etcd machine (default: the lab's etcd machine)")
    .addHelpText(
      "after",
      "\nExamples:\n  lab kubeconfig -o lab.kubeconfig && KUBECONFIG=lab.kubeconfig kubectl get nodes",
    )
    .action(lazy("./commands/kube.js", "kubeconfigCommand"));
}

function recoverCommand(program: Command): void {
  program
    .command("recover")
    .description(
      "rebuild ledger entries (lab.json) from the records (vm.json) of VM directories it does not name",
    )
    .option("--plan", "only show what would be restored and why anything would not")
    .addOption(json())
    .addHelpText(
      "after",
      "\nExamples:\n  lab recover --plan   # after lab.json was lost or moved aside\n  lab recover && lab vm start node1",
    )
    .action(lazy("./commands/recover.js", "recoverCommand"));
}

/** Each top-level command name and what declares it, in the order help lists them. */
const GROUPS = new Map<string, (program: Command) => void>([
  ["doctor", doctorCommand],
  ["net", netCommands],
  ["vm", vmCommands],
  ["fleet", fleetCommands],
  ["kubeconfig", kubeconfigCommand],
  ["image", imageCommands],
  ["mirror", mirrorCommands],
  ["daemon", daemonCommands],
  ["up", labCommands],
  ["down", labCommands],
  ["status", labCommands],
  ["ls", lsCommand],
  ["completion", labCommands],
  ["recover", recoverCommand],
  ["events", eventsCommand],
  ["web", webCommand],
  ["rm", nameCommands],
  ["shell", nameCommands],
  ["exec", nameCommands],
  ["cp", nameCommands],
  ["snapshot", labSnapshotCommands],
]);

export function buildProgram(argv: readonly string[] = []): Command {
  const program = new Command("lab")
    .description("Turn this Linux host into a small cloud: networks, CoreOS-family VMs and fleet units.")
    .option("--debug", "show causes and stack traces of errors")
    .version("0.1.0")
    .showSuggestionAfterError()
    .addHelpText(
      "after",
      "\nGetting started:\n  lab doctor                 # what this host can do\n  lab net up                 # bridge + NAT + DHCP/DNS\n  lab vm create node1 --role kubernetes\n  lab help exit-codes        # what each exit code means\n\nState lives in $LAB_HOME (/var/lib/lab), sockets and pids in $LAB_RUN (/run/lab).",
    );
  // Declaring only the group the command line names saves start-up time; help, completion and
  // anything else get the whole tree.
  const only = GROUPS.get(argv[2] ?? "");
  for (const declare of only ? [only] : new Set(GROUPS.values())) declare(program);
  return program;
}
