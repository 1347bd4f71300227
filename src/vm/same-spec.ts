// The one rule for "is this VM the one asked for": `vm create` on a name that exists and `lab up`'s
// planner both compare through it, so a VM `lab up` calls unchanged is one `vm create` accepts, and
// one `vm create` refuses is a conflict for `lab up` too. Every field a user sets and cannot change
// without destroying the VM counts; a field the asker leaves out (undefined) is not compared.

/** The fields that make up a VM's shape; `ip` is the address it holds. */
export interface SpecShape {
  role: string;
  image: string;
  network: string;
  memoryMiB: number;
  cpus: number;
  restart: string;
  configDrive: string;
  /** Unset while the VM holds no address. */
  ip?: string;
  /** Port forwards, sorted HOST:GUEST/PROTO joined by commas. */
  ports?: string;
}

export interface SpecDifference {
  what: string;
  have: string | number | undefined;
  want: string | number;
}

const FIELDS: [keyof SpecShape, string][] = [
  ["role", "role"],
  ["image", "image"],
  ["network", "network"],
  ["memoryMiB", "memory (MiB)"],
  ["cpus", "cpus"],
  ["restart", "restart"],
  ["configDrive", "config drive"],
  ["ip", "ip"],
  ["ports", "ports"],
];

/** What differs between the VM that exists and the one asked for; empty when they are the same. */
export function specDifferences(have: SpecShape, want: Partial<SpecShape>): SpecDifference[] {
  const out: SpecDifference[] = [];
  for (const [key, what] of FIELDS) {
    const w = want[key];
    if (w !== undefined && have[key] !== w) out.push({ what, have: have[key], want: w });
  }
  return out;
}
