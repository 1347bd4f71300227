// Cloud-config that installs fleetd from the lab mirror on images that do not ship fleet (Flatcar
// dropped it): a oneshot unit downloads it, `sha256sum --check` holds it to the digest the mirror
// index recorded, and fleet.service / fleet.socket run it from /opt/bin. It is merged into a role
// template as `extra` data, so no value is ever pasted into YAML text; every value that reaches a
// unit file is checked against a strict pattern first, so none can add a line or a command.
import { readFile } from "node:fs/promises";
import path from "node:path";
import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.js";
import { parseYamlData } from "../yaml-data.js";
import { TEMPLATE_EXTENSION } from "./render.js";
import { isPlainObject } from "./tree.js";

export interface FleetInstallInput {
  /** The network's gateway, where labd serves the mirror. */
  gateway: string;
  port: number;
  /** Artifact name in the mirror (normally "fleetd"). */
  artifact: string;
  sha256: string;
}

export const FLEETD_PATH = "/opt/bin/fleetd";
const DOWNLOAD_PATH = `${FLEETD_PATH}.download`;
export const FLEETD_CHECKSUM_FILE = "/etc/lab/fleetd.sha256";
export const FLEET_INSTALL_UNIT = "fleet-install.service";

/** Guests that run no init system (lab-test: busybox as PID 1) never start units: nothing to install. */
const GUESTS_WITHOUT_UNITS: readonly string[] = ["lab-test"];

/** Whether an image needs fleetd from the mirror for a role that runs fleet. */
export function imageNeedsFleetd(manifest: { fleet: boolean; guest?: string }): boolean {
  return !manifest.fleet && !GUESTS_WITHOUT_UNITS.includes(manifest.guest ?? "");
}

/** A role needs fleet when its template configures fleet or starts fleet.service. */
export function templateUsesFleet(tree: unknown): boolean {
  if (!isPlainObject(tree) || !isPlainObject(tree.coreos)) return false;
  const units = Array.isArray(tree.coreos.units) ? tree.coreos.units : [];
  return tree.coreos.fleet !== undefined || units.some((u) => isPlainObject(u) && u.name === "fleet.service");
}

export async function roleUsesFleet(templatesDir: string, role: string): Promise<boolean> {
  const file = path.join(templatesDir, role + TEMPLATE_EXTENSION);
  return templateUsesFleet(parseYamlData(await readFile(file, "utf8"), file));
}

function checked(input: FleetInstallInput): FleetInstallInput {
  const bad = (what: string) => new UsageError(`fleet-install: invalid ${what}`, { details: { ...input } });
  if (!ipaddr.IPv4.isValidFourPartDecimal(input.gateway))
    throw bad(`gateway ${JSON.stringify(input.gateway)}`);
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw bad(`port ${input.port}`);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(input.artifact))
    throw bad(`artifact ${JSON.stringify(input.artifact)}`);
  if (!/^[0-9a-f]{64}$/.test(input.sha256)) throw bad(`sha256 ${JSON.stringify(input.sha256)}`);
  return input;
}

const lines = (...l: string[]) => `${l.join("\n")}\n`;

function installUnit(url: string): string {
  return lines(
    "[Unit]",
    "Description=Install fleetd from the lab mirror (sha256 checked)",
    "Wants=network-online.target",
    "After=network-online.target",
    "Before=fleet.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    "ExecStartPre=/usr/bin/mkdir -p /opt/bin",
    `ExecStartPre=/usr/bin/rm -f ${DOWNLOAD_PATH}`,
    // The mirror lives in labd: retry while the network or the daemon comes up.
    `ExecStart=/usr/bin/curl --fail --silent --show-error --retry 10 --retry-connrefused --retry-delay 3 --output ${DOWNLOAD_PATH} ${url}`,
    `ExecStart=/usr/bin/sha256sum --check --strict ${FLEETD_CHECKSUM_FILE}`,
    `ExecStart=/usr/bin/chmod 0755 ${DOWNLOAD_PATH}`,
    `ExecStart=/usr/bin/mv -f ${DOWNLOAD_PATH} ${FLEETD_PATH}`,
  );
}

// Modelled on CoreOS's own fleet.service/fleet.socket (and the lab-fleet image's): fleetd serves its
// API only on sockets systemd passes it.
const FLEET_SERVICE = lines(
  "[Unit]",
  "Description=fleet daemon (installed from the lab mirror)",
  `Requires=${FLEET_INSTALL_UNIT}`,
  `After=${FLEET_INSTALL_UNIT} etcd.service etcd2.service`,
  "Wants=fleet.socket",
  "After=fleet.socket",
  "",
  "[Service]",
  "Environment=GOMAXPROCS=1",
  `ExecStart=${FLEETD_PATH}`,
  "Restart=always",
  "RestartSec=10s",
  "",
  "[Install]",
  "WantedBy=multi-user.target",
);

const FLEET_SOCKET = lines(
  "[Unit]",
  "Description=fleet API sockets",
  "PartOf=fleet.service",
  "",
  "[Socket]",
  "ListenStream=/run/fleet.sock",
  "ListenStream=49153",
  "Service=fleet.service",
);

/** The `extra` cloud-config for renderCloudConfig: merged over the role's template, arrays appended. */
export function fleetInstallExtra(raw: FleetInstallInput): Record<string, unknown> {
  const input = checked(raw);
  const url = `http://${input.gateway}:${input.port}/${input.artifact}`;
  return {
    write_files: [
      { path: FLEETD_CHECKSUM_FILE, permissions: "0644", content: `${input.sha256}  ${DOWNLOAD_PATH}\n` },
    ],
    coreos: {
      units: [
        { name: FLEET_INSTALL_UNIT, content: installUnit(url) },
        { name: "fleet.socket", content: FLEET_SOCKET },
        // Written before any unit is started (coreos-cloudinit writes all, reloads, then starts),
        // so the template's "start fleet.service" starts this one.
        { name: "fleet.service", content: FLEET_SERVICE },
      ],
    },
  };
}
