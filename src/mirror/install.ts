// The programs lab's roles install from the mirror (etcd and fleetd for fleet; the rest are the
// Kubernetes list's), and how a user gets a missing one into the mirror. Which of them a VM
// installs is the role's business: cloudconfig/role-install.ts.

export const ETCD_ARTIFACT = "etcd";
export const FLEETD_ARTIFACT = "fleetd";

/** How to get an artifact into the mirror, for hints: the artifact list that names it, or a file. */
export function addArtifactHint(name: string): string {
  const set = name === ETCD_ARTIFACT || name === FLEETD_ARTIFACT ? "fleet" : "kubernetes";
  return `run 'lab mirror add --for ${set}' (downloads the upstream release), or on an offline host 'lab mirror import ${name} FILE'`;
}
