// Declarations of the short top-level verbs (rm, shell, exec, cp), of VM snapshots
// (`lab vm snapshot ...`) and of whole-lab snapshots (`lab snapshot ...`).
import { type Command, Option } from "./commander.js";
import { json, lazy } from "./program-lazy.js";

const sshOptions = (cmd: Command) =>
  cmd
    .option("--user <user>", "remote user", "core")
    .option("--accept-new", "trust the host key the VM presents if it has not reported one yet");

export function nameCommands(program: Command): void {
  const file = "./commands/names.js";
  program
    .command("rm <name...>")
    .description("destroy VMs (the same as 'lab vm destroy'; MAC and IP stay reserved)")
    .option("--forget", "also release the VMs' MAC and IP")
    .addOption(json())
    .action(lazy(file, "rmCommand"));
  sshOptions(program.command("shell <name>"))
    .description("an interactive shell on the VM (ssh with lab's key, as 'lab vm ssh')")
    .action(lazy(file, "shellCommand"));
  sshOptions(program.command("exec <name> <command...>"))
    .description("run a command on the VM (no terminal) and exit with its exit code")
    .addHelpText(
      "after",
      "\nArguments are passed as given (each quoted for the remote shell); ssh's own failures exit 255.\n\nExamples:\n  lab exec node1 -- uname -a\n  lab exec node1 -- sh -c 'echo $HOSTNAME'",
    )
    .action(lazy(file, "execCommand"));
  sshOptions(program.command("cp <source> <dest>"))
    .description("copy files between this host and a VM (NAME:PATH is on the VM), over scp")
    .option("-r, --recursive", "copy directories")
    .addHelpText(
      "after",
      "\nExamples:\n  lab cp node1:/etc/os-release .\n  lab cp ./app.tar node1:/tmp/\n  lab cp -r ./conf node1:conf",
    )
    .action(lazy(file, "cpCommand"));
}

export function vmSnapshotCommands(vm: Command): void {
  const file = "./commands/snapshot.js";
  const snap = vm
    .command("snapshot")
    .description("internal qcow2 snapshots of one VM (disk, and memory when it runs)")
    .addHelpText(
      "after",
      "\nA running VM's snapshot holds its disk and memory (QMP savevm): restoring it resumes the VM\nwhere it was. A stopped VM's snapshot holds its disk only (qemu-img snapshot); restoring a\ndisk-only snapshot needs the VM stopped. A VM with a 9p config drive cannot save its memory.\n\nExamples:\n  lab vm snapshot save node1 before-upgrade\n  lab vm snapshot list node1\n  lab vm snapshot restore node1 before-upgrade\n  lab vm snapshot rm node1 before-upgrade",
    );
  snap
    .command("save <name> <snapshot>")
    .description("save a snapshot (a name already taken is an error)")
    .addOption(json())
    .action(lazy(file, "vmSnapshotSaveCommand"));
  snap
    .command("restore <name> <snapshot>")
    .description("return the VM to a snapshot")
    .addOption(json())
    .action(lazy(file, "vmSnapshotRestoreCommand"));
  snap
    .command("list <name>")
    .description("the VM's snapshots: name, size of saved memory, date")
    .addOption(json())
    .action(lazy(file, "vmSnapshotListCommand"));
  snap
    .command("rm <name> <snapshot>")
    .description("delete a snapshot (absent is fine)")
    .addOption(json())
    .action(lazy(file, "vmSnapshotRmCommand"));
}

export function labSnapshotCommands(program: Command): void {
  const file = "./commands/snapshot.js";
  const labFile = () => new Option("-f, --file <file>", "the lab file").default("lab.yaml");
  const snap = program
    .command("snapshot")
    .description("snapshots of every VM of a lab file, taken at one paused instant")
    .addHelpText(
      "after",
      "\nsave pauses every running VM of the lab (QMP stop), saves each one's disk and memory, then\nresumes them all: one consistent cut. Stopped VMs get a disk-only snapshot. MACs and IPs are\nkept (they belong to the names). restore first checks that every VM has the snapshot, then\npauses them all and restores each; if one fails, the VMs already restored go back to how they\nwere just before, so no lab is left half-restored.\n\nExamples:\n  lab snapshot save clean -f examples/demo.yaml\n  lab snapshot restore clean -f examples/demo.yaml",
    );
  snap
    .command("save <snapshot>")
    .description("save every VM of the lab file (disks and memory)")
    .addOption(labFile())
    .addOption(json())
    .action(lazy(file, "labSnapshotSaveCommand"));
  snap
    .command("restore <snapshot>")
    .description("return every VM of the lab file to the snapshot, or none of them")
    .addOption(labFile())
    .addOption(json())
    .action(lazy(file, "labSnapshotRestoreCommand"));
}
