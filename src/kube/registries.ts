// containerd registry configuration for lab.yaml's `registries:`, in the hosts.toml format of
// containerd 1.5+ (containerd/containerd docs/hosts.md): one file per registry host under
// /etc/containerd/certs.d/<host>/hosts.toml, read by the CRI plugin when its registry config_path
// points there. Pure: the credentials arrive as text read on the host by the caller.

export const CERTS_D = "/etc/containerd/certs.d";

export interface RegistryDecl {
  /** Registry host[:port] the pulls name, e.g. docker.io or registry.lab:5000. */
  host: string;
  /** Endpoints tried in order before the registry itself (http:// or https:// URLs). */
  mirrors: string[];
  /** The registry speaks plain HTTP, and TLS endpoints are not verified. */
  insecure: boolean;
}

export interface RegistryFile {
  path: string;
  content: string;
}

const q = (s: string) => JSON.stringify(s); // a TOML basic string for these plain values

/** docker.io pulls go to registry-1.docker.io (docs/hosts.md, the docker.io example). */
function serverOf(host: string, insecure: boolean): string {
  if (host === "docker.io") return "https://registry-1.docker.io";
  return `${insecure ? "http" : "https"}://${host}`;
}

/** "user:password" (one line) -> the Basic authorization header value. */
export function basicAuth(credentials: string): string {
  const line = credentials.replace(/\r?\n$/, "");
  if (line.includes("\n") || !/^[^:\s]+:\S+$/.test(line)) throw new Error("expected one line USER:PASSWORD");
  return `Basic ${Buffer.from(line).toString("base64")}`;
}

export function renderHostsToml(r: RegistryDecl, authorization?: string): string {
  const server = serverOf(r.host, r.insecure);
  const lines = [`# ${r.host}: written by lab from lab.yaml registries`, `server = ${q(server)}`];
  const hostBlock = (url: string, capabilities: string[]) => {
    lines.push("", `[host.${q(url)}]`, `  capabilities = [${capabilities.map(q).join(", ")}]`);
    if (r.insecure && url.startsWith("https://")) lines.push("  skip_verify = true");
    if (authorization) lines.push("", `[host.${q(url)}.header]`, `  authorization = ${q(authorization)}`);
  };
  for (const m of r.mirrors) hostBlock(m, ["pull", "resolve"]);
  hostBlock(server, ["pull", "resolve", "push"]);
  return `${lines.join("\n")}\n`;
}

/** The files for every registry; `auth` holds the authorization for hosts that have credentials. */
export function registryFiles(regs: RegistryDecl[], auth: ReadonlyMap<string, string>): RegistryFile[] {
  return regs.map((r) => ({
    path: `${CERTS_D}/${r.host}/hosts.toml`,
    content: renderHostsToml(r, auth.get(r.host)),
  }));
}
