// Where `lab vm ssh` connects: the VM's address, the user, lab's key and the known_hosts file that
// labd keeps from the host keys the guest printed (vm/ssh-target.ts resolves it).
export const DEFAULT_SSH_USER = "core";

export interface SshTarget {
  name: string;
  ip: string;
  user: string;
  keyFile: string;
  knownHostsFile: string;
  /** How many host keys the guest has reported (0: not booted far enough, or no sshd). */
  hostKeys: number;
}
