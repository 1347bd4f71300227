// Names become paths and interface names, so they are validated once, here, at the edge.
import { UsageError } from "../errors.js";

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Linux interface names hold at most 15 characters. */
export const IFNAMSIZ = 15;
export const VM_NAME_MAX = 11; // tap "lab-<name>"
export const NET_NAME_MAX = 9; // bridge "labbr-<name>"

function checkLabel(kind: string, name: string, max: number): string {
  if (typeof name !== "string" || name.length === 0) throw new UsageError(`${kind} name is empty`);
  if (name.length > max || !LABEL.test(name)) {
    throw new UsageError(`invalid ${kind} name ${JSON.stringify(name)}`, {
      hint: `use 1-${max} lowercase letters, digits and '-', starting and ending with a letter or digit (interface names derived from it must fit ${IFNAMSIZ} characters)`,
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

export const tapName = (vm: string) => `lab-${vm}`;
export const defaultBridgeName = (net: string) => (net === "default" ? "labbr0" : `labbr-${net}`);
