// Fault injection for tests of rollback and crash safety: LAB_FAULTS="net-up:dnsmasq,..." makes
// the named point throw. Read at each call so tests can set it per daemon.
import { InternalError } from "../errors.js";

export function faultPoint(name: string): void {
  const faults = (process.env.LAB_FAULTS ?? "").split(",").map((s) => s.trim());
  if (faults.includes(name))
    throw new InternalError(`injected fault at ${name}`, { hint: "LAB_FAULTS is set" });
}
