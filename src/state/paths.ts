// Every file and directory name lab uses on disk, in one place. Nothing else builds paths.
import path from "node:path";

export interface LabDirs {
  home: string;
  run: string;
}

export function labDirs(env: NodeJS.ProcessEnv = process.env): LabDirs {
  return {
    home: path.resolve(env.LAB_HOME || "/var/lib/lab"),
    run: path.resolve(env.LAB_RUN || "/run/lab"),
  };
}

export function paths(dirs: LabDirs) {
  const { home, run } = dirs;
  return {
    home,
    run,
    ledger: path.join(home, "lab.json"),
    ledgerLock: path.join(home, "lab.lock"),
    events: path.join(home, "events.jsonl"),
    imagesDir: path.join(home, "images"),
    image: (name: string) => imageFiles(path.join(home, "images", name)),
    vmsDir: path.join(home, "vms"),
    /** VM directories the ledger let go of, moved here (never deleted) by the daemon. */
    quarantineDir: path.join(home, "quarantine"),
    vm: (name: string) =>
      vmFiles(path.join(home, "vms", name), path.join(run, "vms", name), path.join(run, "consoles"), name),
    /** Console sockets and serial logs: group-readable (root:lab, 0750), unlike each VM's run dir. */
    consolesDir: path.join(run, "consoles"),
    mirrorDir: path.join(home, "mirror"),
    mirror: mirrorFiles(path.join(home, "mirror")),
    sshDir: path.join(home, "ssh"),
    ssh: {
      privateKey: path.join(home, "ssh", "id_ed25519"),
      publicKey: path.join(home, "ssh", "id_ed25519.pub"),
      knownHosts: path.join(home, "ssh", "known_hosts"),
    },
    socket: path.join(run, "labd.sock"),
    pidFile: path.join(run, "labd.pid"),
    daemonLog: path.join(run, "labd.log"),
    /** The web page's token (root:lab 0640), read by `lab web`. */
    webToken: path.join(run, "web.token"),
    ovsDir: path.join(run, "ovs"),
    ovs: {
      db: path.join(run, "ovs", "conf.db"),
      dbSock: path.join(run, "ovs", "db.sock"),
      dbPid: path.join(run, "ovs", "ovsdb-server.pid"),
      dbLog: path.join(run, "ovs", "ovsdb-server.log"),
      dbCtl: path.join(run, "ovs", "ovsdb-server.ctl"),
      switchPid: path.join(run, "ovs", "ovs-vswitchd.pid"),
      switchLog: path.join(run, "ovs", "ovs-vswitchd.log"),
      switchCtl: path.join(run, "ovs", "ovs-vswitchd.ctl"),
    },
    dnsmasqDir: path.join(run, "dnsmasq"),
    dnsmasq: (net: string) => ({
      conf: path.join(run, "dnsmasq", `${net}.conf`),
      hosts: path.join(run, "dnsmasq", `${net}.hosts`),
      names: path.join(run, "dnsmasq", `${net}.names`),
      leases: path.join(run, "dnsmasq", `${net}.leases`),
      pid: path.join(run, "dnsmasq", `${net}.pid`),
      log: path.join(run, "dnsmasq", `${net}.log`),
    }),
  };
}

export type LabPaths = ReturnType<typeof paths>;

function imageFiles(dir: string) {
  return { dir, manifest: path.join(dir, "manifest.json") };
}

/** Artifact names are validated (src/mirror/names.ts) before they get here; temp names start with a dot. */
function mirrorFiles(dir: string) {
  return {
    index: path.join(dir, "index.json"),
    artifact: (name: string) => path.join(dir, name),
  };
}

function vmFiles(dir: string, runDir: string, consoles: string, name: string) {
  return {
    dir,
    disk: path.join(dir, "disk.qcow2"),
    configDir: path.join(dir, "config-2"),
    configIso: path.join(dir, "config-2.iso"),
    record: path.join(dir, "vm.json"),
    runDir,
    pid: path.join(runDir, "qemu.pid"),
    qmp: path.join(runDir, "qmp.sock"),
    console: path.join(runDir, "console.sock"),
    consoleMux: path.join(consoles, `${name}.sock`),
    serialLog: path.join(consoles, `${name}.log`),
    qemuLog: path.join(runDir, "qemu.log"),
  };
}
