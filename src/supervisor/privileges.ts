// daemon.user: give up root once the listening sockets are bound (ExaProxy's BUG fixed: the
// group set is the user's group, and it is set before the user id, while we still may).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

export class PrivilegeError extends Error {}

/** The passwd entry of `name` (from /etc/passwd, else `getent passwd` for LDAP/NSS users). */
export function lookupUser(name: string): Account | undefined {
  const line = passwdLine(name);
  if (line === undefined) return undefined;
  const fields = line.split(':');
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

function passwdLine(name: string): string | undefined {
  try {
    const found = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    if (found !== undefined) return found;
  } catch {
    // no /etc/passwd: ask NSS below
  }
  try {
    return execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * When running as root: switch to `user` (supplementary groups, then group, then user id).
 * Does nothing when not root or when `user` is empty. Throws PrivilegeError rather than keep
 * running as root after a failed drop.
 */
export function dropPrivileges(user: string | undefined): Account | undefined {
  if (user === undefined || user === '' || process.getuid?.() !== 0) return undefined;
  const account = lookupUser(user);
  if (account === undefined) {
    throw new PrivilegeError(`daemon.user: no user named '${user}' on this system; create it or set daemon.user to an existing unprivileged user`);
  }
  try {
    // initgroups is in Node but missing from @types/node 20.
    (process as { initgroups?: (user: string, group: number) => void }).initgroups?.(account.name, account.gid);
    process.setgid?.(account.gid);
    process.setuid?.(account.uid);
  } catch (err) {
    throw new PrivilegeError(`daemon.user: could not switch to ${user} (uid ${account.uid}, gid ${account.gid}): ${(err as Error).message}; refusing to run as root`);
  }
  if (process.getuid?.() === 0 || process.geteuid?.() === 0) {
    throw new PrivilegeError(`daemon.user: still root after switching to ${user}; refusing to run as root`);
  }
  return account;
}
