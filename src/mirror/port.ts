// The mirror's TCP port: the one place that reads LAB_MIRROR_PORT.
import { UsageError } from "../errors.js";

export const MIRROR_PORT_ENV = "LAB_MIRROR_PORT";
export const DEFAULT_MIRROR_PORT = 8080;

export function mirrorPort(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MIRROR_PORT_ENV];
  if (raw === undefined || raw === "") return DEFAULT_MIRROR_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new UsageError(`${MIRROR_PORT_ENV} must be a TCP port (1-65535), got ${JSON.stringify(raw)}`);
  }
  return port;
}
