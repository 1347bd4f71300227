// Cloud-config that installs programs from the lab mirror, on every image (Flatcar ships neither
// etcd nor fleet). A role template's units name what they need as `Requires=lab-install@NAME.service`;
// that template unit downloads NAME from the mirror to /opt/bin, and `sha256sum --check` holds it
// to the digest the mirror index recorded when the drive was written, before anything runs it.
// It is merged into the template as `extra` data, so no value is ever pasted into YAML text; every
// value that reaches a unit file is checked against a strict pattern first.
import { readFile } from "node:fs/promises";
import path from "node:path";
import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.js";
import { parseYamlData } from "../yaml-data.js";
import { readIncludes, TEMPLATE_EXTENSION } from "./render.js";
import { includedFiles, type PlaceholderValues, substitutePlaceholders } from "./template.js";
import { isPlainObject } from "./tree.js";

export interface MirrorArtifactPin {
  /** Artifact name in the mirror, also the program's name in /opt/bin (e.g. "etcd", "fleetd"). */
  name: string;
  sha256: string;
}

export interface MirrorInstallInput {
  /** The network's gateway, where labd serves the mirror. */
  gateway: string;
  port: number;
  artifacts: MirrorArtifactPin[];
}

export const INSTALL_DIR = "/opt/bin";
export const CHECKSUM_DIR = "/etc/lab/artifacts";
export const INSTALL_UNIT = "lab-install@.service";
/** The role templates' unit that reports ssh host keys on the console (include/lab-hostkeys.service). */
export const HOSTKEYS_UNIT = "lab-hostkeys.service";

/** Guests that run no init system (lab-test: busybox as PID 1) never start units: nothing to install. */
const GUESTS_WITHOUT_UNITS: readonly string[] = ["lab-test"];

/** Whether the image's guest runs the units a role template starts. */
export function imageRunsUnits(manifest: { guest?: string }): boolean {
  return !GUESTS_WITHOUT_UNITS.includes(manifest.guest ?? "");
}

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const REQUIRED = /lab-install@([A-Za-z0-9_-][A-Za-z0-9._-]*)\.service/g;

/** The artifacts a role template's units install (`lab-install@NAME.service`), in order, once each. */
export function templateArtifacts(tree: unknown): string[] {
  if (!isPlainObject(tree) || !isPlainObject(tree.coreos) || !Array.isArray(tree.coreos.units)) return [];
  const names = new Set<string>();
  for (const u of tree.coreos.units) {
    if (!isPlainObject(u)) continue;
    for (const text of [u.name, u.content])
      if (typeof text === "string") for (const m of text.matchAll(REQUIRED)) names.add(m[1]!);
  }
  return [...names];
}

/** A role's template with its includes read (cloud-config/include/), placeholders filled with stand-ins. */
async function roleTemplate(templatesDir: string, role: string): Promise<unknown> {
  const file = path.join(templatesDir, role + TEMPLATE_EXTENSION);
  const tree = parseYamlData(await readFile(file, "utf8"), file);
  const includes = await readIncludes(templatesDir, includedFiles(tree));
  return substitutePlaceholders(tree, file, PLACEHOLDER_STAND_INS, [], includes);
}

/** The artifacts a role's template installs; unit contents taken from cloud-config/include/ count too. */
export async function roleArtifacts(templatesDir: string, role: string): Promise<string[]> {
  return templateArtifacts(await roleTemplate(templatesDir, role));
}

/** The names of the units a role's template writes or starts. */
export async function roleUnitNames(templatesDir: string, role: string): Promise<string[]> {
  const tree = await roleTemplate(templatesDir, role);
  if (!isPlainObject(tree) || !isPlainObject(tree.coreos) || !Array.isArray(tree.coreos.units)) return [];
  return tree.coreos.units.flatMap((u) => (isPlainObject(u) && typeof u.name === "string" ? [u.name] : []));
}

// Placeholder values do not decide which units a template has: any well-formed value will do.
const PLACEHOLDER_STAND_INS: PlaceholderValues = {
  name: "x",
  ip: "192.0.2.1",
  prefix: "24",
  gateway: "192.0.2.1",
  dns: "192.0.2.1",
  domain: "x",
  etcd_endpoint: "http://192.0.2.1:2379",
  role: "x",
  fleet_metadata: "role=x",
  mirror_url: "http://192.0.2.1:1",
  kubelet_config: "x",
};

function checked(input: MirrorInstallInput): MirrorInstallInput {
  const bad = (what: string) => new UsageError(`mirror install: invalid ${what}`, { details: { ...input } });
  if (!ipaddr.IPv4.isValidFourPartDecimal(input.gateway))
    throw bad(`gateway ${JSON.stringify(input.gateway)}`);
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw bad(`port ${input.port}`);
  for (const a of input.artifacts) {
    if (!NAME.test(a.name)) throw bad(`artifact ${JSON.stringify(a.name)}`);
    if (!/^[0-9a-f]{64}$/.test(a.sha256)) throw bad(`sha256 ${JSON.stringify(a.sha256)}`);
  }
  return input;
}

const lines = (...l: string[]) => `${l.join("\n")}\n`;

/** One template unit for every artifact: %i is the artifact's name (checked against NAME above). */
function installUnit(base: string): string {
  const download = `${INSTALL_DIR}/%i.download`;
  return lines(
    "[Unit]",
    "Description=Install %i from the lab mirror (sha256 checked)",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStartPre=/usr/bin/mkdir -p ${INSTALL_DIR}`,
    `ExecStartPre=/usr/bin/rm -f ${download}`,
    // The mirror lives in labd: retry while the network or the daemon comes up.
    `ExecStart=/usr/bin/curl --fail --silent --show-error --retry 10 --retry-connrefused --retry-delay 3 --output ${download} ${base}/%i`,
    `ExecStart=/usr/bin/sha256sum --check --strict ${CHECKSUM_DIR}/%i.sha256`,
    `ExecStart=/usr/bin/chmod 0755 ${download}`,
    `ExecStart=/usr/bin/mv -f ${download} ${INSTALL_DIR}/%i`,
  );
}

/** The `extra` cloud-config for renderCloudConfig: merged over the role's template, arrays appended. */
export function mirrorInstallExtra(raw: MirrorInstallInput): Record<string, unknown> {
  const input = checked(raw);
  return {
    write_files: input.artifacts.map((a) => ({
      path: `${CHECKSUM_DIR}/${a.name}.sha256`,
      permissions: "0644",
      content: `${a.sha256}  ${INSTALL_DIR}/${a.name}.download\n`,
    })),
    coreos: {
      // Written before any unit is started (coreos-cloudinit writes all, reloads, then starts).
      units: [{ name: INSTALL_UNIT, content: installUnit(`http://${input.gateway}:${input.port}`) }],
    },
  };
}
