// Names become paths and interface names, so they are validated once, here, at the edge.
import { createHash } from "node:crypto";
import { UsageError } from "../errors.js";

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Linux interface names hold at most 15 characters. */
export const IFNAMSIZ = 15;
/** Up to 11 characters the tap is "lab-<name>"; longer names get a hashed tap (tapName). */
export const VM_NAME_MAX = 32;
const TAP_PLAIN_MAX = 11;
export const NET_NAME_MAX = 9; // bridge "labbr-<name>"

function checkLabel(kind: string, name: string, max: number): string {
  if (typeof name !== "string" || name.length === 0) throw new UsageError(`${kind} name is empty`);
  if (name.length > max || !LABEL.test(name)) {
    throw new UsageError(`invalid ${kind} name ${JSON.stringify(name)}`, {
      hint: `use 1-${max} lowercase letters, digits and '-', starting and ending with a letter or digit`,
    });
  }
  return name;
}

export const validateVmName = (name: string) => checkLabel("VM", name, VM_NAME_MAX);
export const validateNetName = (name: string) => checkLabel("network", name, NET_NAME_MAX);
export const validateRoleName = (name: string) => checkLabel("role", name, 63);
export const validateImageName = (name: string) => checkLabel("image", name, 63);

export function validateIfName(name: string): string {
  if (name.length === 0 || name.length > IFNAMSIZ || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new UsageError(`invalid interface name ${JSON.stringify(name)}`, {
      hint: `use at most ${IFNAMSIZ} characters: letters, digits, '-', '_' or '.'`,
    });
  }
  return name;
}

/**
 * The VM's tap: "lab-<name>" when that fits IFNAMSIZ (so taps of running labs keep their names),
 * else "lab_" and 11 hex digits of the name's SHA-256. '_' is never in a VM name, so a hashed
 * tap cannot be a short name's tap; ownership is still proven by the link's alias, not the name.
 */
export function tapName(vm: string): string {
  if (vm.length <= TAP_PLAIN_MAX) return `${TAP_PREFIX}${vm}`;
  return `${HASHED_TAP_PREFIX}${createHash("sha256").update(vm).digest("hex").slice(0, TAP_PLAIN_MAX)}`;
}
export const TAP_PREFIX = "lab-";
export const HASHED_TAP_PREFIX = "lab_";
export const defaultBridgeName = (net: string) => (net === "default" ? "labbr0" : `labbr-${net}`);
