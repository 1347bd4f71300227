// Declarations of the resource commands (net, vm, mirror, image, fleet): options, help and
// which module implements each; nothing here runs until commander calls an action.
import type { Command } from "commander";
import { IGNORE_MISSING, json, lazy, listing } from "./program-lazy.js";
import { vmSnapshotCommands } from "./program-names.js";

const WAIT = [
  "--wait [timeout]",
  "return once the guest is ready (LAB-READY or its ssh host keys, as 'lab up' waits); TIMEOUT like 300, 90s, 5m (default 180s, 600s for host keys); write --wait=5m",
] as const;

export function netCommands(program: Command): void {
  const net = program
    .command("net")
    .description("lab networks: an OVS bridge with NAT and dnsmasq DHCP/DNS")
    .addHelpText(
      "after",
      "\nExamples:\n  lab net up                         # 'default': labbr0, 172.16.11.0/24, domain 'lab'\n  lab net up test --subnet 10.10.0.0/24 --domain test\n  lab net status --json\n  lab net down test",
    );
  net
    .command("up [name]")
    .description("create or repair a network (idempotent); NAME defaults to 'default'")
    .option(
      "--subnet <cidr>",
      "private IPv4 subnet, /16 to /29 (default 172.16.11.0/24, or the next free /24)",
    )
    .option("--bridge <ifname>", "OVS bridge name (default labbr0 for 'default', labbr-NAME otherwise)")
    .option("--domain <domain>", "DNS domain answered by dnsmasq (VMs are NAME.DOMAIN)", undefined)
    .option("--dhcp-range <start-end>", "dynamic DHCP range (default: upper half of the subnet)")
    .addOption(json())
    .action(lazy("./commands/net.js", "netUpCommand"));
  net
    .command("down [name]")
    .description("remove a network's bridge, rules and dnsmasq (absent is fine)")
    .addOption(json())
    .action(lazy("./commands/net.js", "netDownCommand"));
  listing(
    net.command("status [name]").description("show networks with their bridge, dnsmasq and reservations"),
  ).action(lazy("./commands/net.js", "netStatusCommand"));
  listing(net.command("list").description("list networks")).action(
    lazy("./commands/net.js", "netListCommand"),
  );
}

export function vmCommands(program: Command): void {
  const vm = program
    .command("vm")
    .description("virtual machines: qcow2 overlays, config-2 cloud-config drives, stable MAC and IP")
    .addHelpText(
      "after",
      "\nExamples:\n  lab vm create etcd --role etcd --ip 172.16.11.10\n  lab vm create node1 --role kubernetes --ssh-key ~/.ssh/id_ed25519.pub\n  lab vm list\n  lab vm console node1          # Ctrl-] detaches\n  lab vm destroy node1 --forget # also release its MAC and IP",
    );
  const file = "./commands/vm.js";
  vm.command("create <name>")
    .description("create a VM (and start it unless --no-start); its MAC and IP stay with the name")
    .option(
      "--role <role>",
      "cloud-config role: a template in cloud-config/ (etcd, kubernetes, ...; default plain: no fleet)",
    )
    .option(
      "--publish <ports>",
      "forward a host port to the VM: HOST:GUEST[/tcp|udp] (repeatable)",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--image <name>", "base image (default: the only image there is)")
    .option("--memory <size>", "memory in MiB, or with M/G (default 1024; 256 for the test image)")
    .option("--cpus <n>", "virtual CPUs (default 1)")
    .option("--net <network>", "lab network (default 'default')")
    .option(
      "--ssh-key <file>",
      "authorise this public key for 'core' (repeatable)",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--ip <address>", "fixed address in the network (default: the next free one from .10)")
    .option("--no-start", "create the disk and drive but do not boot")
    .option(
      "--config-drive <kind>",
      "iso (ISO9660 volume labelled config-2) or 9p (mount_tag config-2)",
      "iso",
    )
    .option("--restart <policy>", "no | on-failure | always", "no")
    .option("--accel <accel>", "auto | kvm | tcg (auto: KVM when it really works)", "auto")
    .option(...WAIT)
    .addOption(json())
    .action(lazy(file, "vmCreateCommand"));
  vm.command("start <name>")
    .description("boot a stopped VM")
    .option(...WAIT)
    .addOption(json())
    .action(lazy(file, "vmStartCommand"));
  vm.command("stop <name>")
    .description("power off (ACPI), killing qemu after the timeout")
    .option("--timeout <seconds>", "how long the guest gets to power off", "30")
    .addOption(json())
    .action(lazy(file, "vmStopCommand"));
  vm.command("restart <name>")
    .description("stop, then start")
    .option(...WAIT)
    .addOption(json())
    .action(lazy(file, "vmRestartCommand"));
  vm.command("destroy <name>")
    .alias("rm")
    .description("remove the VM's disk, drive and port (MAC and IP stay reserved for the name)")
    .option("--forget", "also release the VM's MAC and IP")
    .option(...IGNORE_MISSING)
    .addOption(json())
    .action(lazy(file, "vmDestroyCommand"));
  listing(vm.command("list").description("name, role, state, IP, MAC, image, uptime")).action(
    lazy(file, "vmListCommand"),
  );
  vm.command("show <name>")
    .description("everything about one VM")
    .addOption(json())
    .action(lazy(file, "vmShowCommand"));
  vm.command("ip <name>")
    .description("print the VM's IP address")
    .addOption(json())
    .action(lazy(file, "vmIpCommand"));
  vm.command("console <name>")
    .description("attach this terminal to the VM's serial console (Ctrl-] detaches)")
    .action(lazy("./commands/console.js", "vmConsoleCommand"));
  vm.command("logs <name>")
    .description("print the VM's serial console log, control characters escaped")
    .option("-f, --follow", "keep printing new output")
    .option("-n, --tail <lines>", "only the last N lines (with -f: then follow)")
    .option("--since <when>", "only lines logged since a duration ago (10m, 2h) or a date and time")
    .option("-t, --timestamps", "start each line with the time labd saw it logged (about 1 s exact)")
    .option("--raw", "print the bytes as logged (control characters reach the terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  lab vm logs node1 -n 20\n  lab vm logs node1 --since 10m -t\n  lab vm logs node1 -f",
    )
    .action(lazy("./commands/console.js", "vmLogsCommand"));
  vm.command("ssh <name> [command...]")
    .description("ssh into the VM with lab's own key; host key checked against what its console reported")
    .option("--user <user>", "remote user", "core")
    .option("--accept-new", "trust the host key the VM presents if it has not reported one yet")
    .addHelpText("after", "\nExamples:\n  lab vm ssh node1\n  lab vm ssh node1 -- systemctl status fleet")
    .action(lazy("./commands/ssh.js", "vmSshCommand"));
  vmSnapshotCommands(vm);
}

export function mirrorCommands(program: Command): void {
  const mirror = program
    .command("mirror")
    .description("artifacts (fleetd, etcd, kube binaries) served over HTTP at each lab network's gateway")
    .addHelpText(
      "after",
      "\nExamples:\n  lab mirror add fleetd https://example.org/fleetd --sha256 HEX  # downloaded once, checked\n  lab mirror add --for kubernetes     # every artifact in units/kubernetes.artifacts.yaml\n  lab mirror import fleetd ./fleetd\n  lab mirror list                     # VMs fetch http://GATEWAY:8080/NAME (env LAB_MIRROR_PORT)\n  lab mirror rm fleetd",
    );
  const file = "./commands/mirror.js";
  mirror
    .command("add [name] [url]")
    .description(
      "download an artifact once and keep it if its sha256 matches (same digest again: no-op); --for SET adds a whole list",
    )
    .option("--sha256 <hex>", "expected sha256 of the file (required with NAME URL)")
    .option("--for <set>", "add every artifact in units/SET.artifacts.yaml instead of NAME URL")
    .option("--units-dir <dir>", "where --for finds SET.artifacts.yaml (default: units/)")
    .addOption(json())
    .addHelpText(
      "after",
      "\nSET.artifacts.yaml lists name, url and sha256 (pinned) or sha256_url (the digest file the project\npublishes beside it) per artifact. Artifacts already there with that digest are not downloaded again;\nthe first failure stops the run, and those added before it stay.\n\nExamples:\n  lab mirror add fleetd https://example.org/fleetd --sha256 HEX\n  lab mirror add --for kubernetes              # everything in units/kubernetes.artifacts.yaml\n  lab mirror add --for kubernetes --json       # [{name, url, sha256, status: added|present}]\n  lab mirror add --for web --units-dir ./my-units",
    )
    .action(lazy(file, "mirrorAddCommand"));
  mirror
    .command("import <name> <file>")
    .description("copy a local file into the mirror")
    .option("--sha256 <hex>", "refuse the file unless it has this sha256")
    .addOption(json())
    .action(lazy(file, "mirrorImportCommand"));
  listing(
    mirror.command("list").description("name, size, sha256, source, and where the mirror is served"),
  ).action(lazy(file, "mirrorListCommand"));
  mirror
    .command("rm <name>")
    .description("remove an artifact (not there: exit 3 unless --ignore-missing)")
    .option(...IGNORE_MISSING)
    .addOption(json())
    .action(lazy(file, "mirrorRmCommand"));
}

export function imageCommands(program: Command): void {
  const image = program
    .command("image")
    .description("base images: pull Flatcar from the catalog, import your own qcow2/raw disk or bundle")
    .addHelpText(
      "after",
      "\nExamples:\n  lab image catalog                           # what 'pull' knows\n  lab image pull flatcar-stable               # current stable release, SHA512-checked\n  lab image import ./disk.qcow2 --name mine   # a qcow2 or raw disk\n  lab image import .cache/images/lab-test     # a bundle directory with manifest.json\n  lab image list\n  lab image rm mine                           # refused while a VM uses it",
    );
  const file = "./commands/image.js";
  image
    .command("pull <name>")
    .description("download a catalog image's current release, verify and store it (same release: no-op)")
    .option(
      "--base-url <url>",
      "release server instead of Flatcar's; may hold {channel} (env LAB_IMAGE_BASE_URL)",
    )
    .option("--release <version>", "a specific release instead of the channel's current one")
    .addOption(json())
    .action(lazy(file, "imagePullCommand"));
  image
    .command("import <path>")
    .description("store a qcow2/raw disk file, or a bundle directory with manifest.json (disk, kernel...)")
    .option("--name <name>", "image name (required for a disk file; default for a bundle: its manifest's)")
    .addOption(json())
    .action(lazy(file, "imageImportCommand"));
  listing(
    image.command("list").description("name, version, format, size, guest, fleet, boot, used by"),
  ).action(lazy(file, "imageListCommand"));
  image
    .command("rm <name>")
    .description("remove an image (refused while a VM's disk is based on it)")
    .option(...IGNORE_MISSING)
    .addOption(json())
    .action(lazy(file, "imageRmCommand"));
  listing(image.command("catalog").description("images 'lab image pull' knows, and which are pulled")).action(
    lazy(file, "imageCatalogCommand"),
  );
}

export function fleetCommands(program: Command): void {
  const fleet = program
    .command("fleet")
    .description("fleet units on the lab's machines, with fleetctl's verbs (fleet v1 API)")
    .option("--endpoint <url>", "fleet API (default: $FLEETCTL_ENDPOINT, else http://<etcd machine>:49153)")
    .option(
      "--retry-for <seconds>",
      "how long to retry fleet's 5xx answers and refused or dropped connections (default: 60, or --timeout when waiting)",
    )
    .addHelpText(
      "after",
      "\nUnits and globs resolve against units/ (or --units-dir, or explicit paths):\n  lab fleet start 'kube-*.service'\n  lab fleet start web@1.service          # instance of web@.service\n  lab fleet list-machines\n  lab fleet list-units --json\n  lab fleet destroy 'kube-*'",
    );
  const file = "./commands/fleet.js";
  const stateVerb = (name: string, desc: string, fn: string, waits: boolean) => {
    const c = fleet
      .command(`${name} <units...>`)
      .description(desc)
      .option("--units-dir <dir>", "where unit names and globs resolve (default: units/)")
      .option("--replace", "replace a unit whose contents in fleet differ from the file");
    if (waits) {
      c.option("--no-block", "return once fleet accepted the change")
        .option("--block-attempts <n>", "give up after N checks (one a second; 0 = until --timeout)")
        .option("--timeout <seconds>", "give up after this long", "300");
    }
    c.addOption(json()).action(lazy(file, fn));
  };
  stateVerb("submit", "send unit files to fleet (desired state inactive)", "fleetSubmitCommand", false);
  stateVerb("load", "schedule units onto machines and load them into systemd", "fleetLoadCommand", true);
  stateVerb("start", "launch units and wait until systemd has them active", "fleetStartCommand", true);
  for (const [name, desc, fn] of [
    ["stop", "stop running units (desired state loaded)", "fleetStopCommand"],
    ["unload", "unload units from their machines (desired state inactive)", "fleetUnloadCommand"],
    ["destroy", "remove units from fleet", "fleetDestroyCommand"],
  ] as const) {
    fleet.command(`${name} <units...>`).description(desc).addOption(json()).action(lazy(file, fn));
  }
  fleet
    .command("cat <unit>")
    .description("print a unit as fleet has it")
    .action(lazy(file, "fleetCatCommand"));
  fleet
    .command("status <unit>")
    .description("systemd's status of the unit, on the machine it runs on (over lab vm ssh)")
    .action(lazy(file, "fleetStatusCommand"));
  fleet
    .command("journal <unit>")
    .description("the unit's journal on its machine (over lab vm ssh)")
    .option("-f, --follow", "keep printing new entries")
    .option("--lines <n>", "how many recent lines", "10")
    .action(lazy(file, "fleetJournalCommand"));
  fleet
    .command("list-units")
    .description("units and their systemd state per machine")
    .addOption(json())
    .action(lazy(file, "fleetListUnitsCommand"));
  fleet
    .command("list-unit-files")
    .description("units fleet knows, desired and current state")
    .addOption(json())
    .action(lazy(file, "fleetListUnitFilesCommand"));
  fleet
    .command("list-machines")
    .description("machines in the fleet cluster with IP and metadata")
    .addOption(json())
    .action(lazy(file, "fleetListMachinesCommand"));
}
