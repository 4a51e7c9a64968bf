// Whether another user may read, write or run a file: access(2) answers only for ourselves, and
// exaproxy started as root checks, before it switches, what daemon.user will be able to do.
// The rule is the kernel's for mode bits: owner, else group (primary or supplementary), else
// others, and search (x) on every folder on the way. ACLs and read-only mounts are not seen.
import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import type { Account } from './privileges';

/** A user with its groups; undefined stands for the current process (access(2) itself). */
export interface Who extends Account {
  groups: number[];
}

/** 'create': make and remove files in a folder (w and x on it). */
export type Need = 'read' | 'write' | 'run' | 'create';

/** The account with its supplementary groups (`id -G`, which asks NSS), else its own group only. */
export function withGroups(account: Account): Who {
  try {
    const out = execFileSync('id', ['-G', account.name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const groups = out.trim().split(/\s+/).map(Number).filter(Number.isInteger);
    return { ...account, groups: groups.includes(account.gid) ? groups : [account.gid, ...groups] };
  } catch {
    return { ...account, groups: [account.gid] };
  }
}

/** What denial() says of a path that does not exist (when it must). */
export const MISSING = 'it does not exist';

const BIT: Record<Need | 'search', number> = { read: 4, write: 2, run: 1, search: 1, create: 2 };

function permits(stat: Stats, who: Who, need: Need | 'search'): boolean {
  const bit = BIT[need];
  // root reads and writes anything; it runs a file only if some x bit is set.
  if (who.uid === 0) return need !== 'run' || (stat.mode & 0o111) !== 0;
  if (stat.uid === who.uid) return ((stat.mode >> 6) & bit) !== 0;
  if (who.groups.includes(stat.gid)) return ((stat.mode >> 3) & bit) !== 0;
  return (stat.mode & bit) !== 0;
}

function selfPermits(path: string, need: Need | 'search'): boolean {
  const mode = need === 'read' ? constants.R_OK : need === 'write' || need === 'create' ? constants.W_OK : constants.X_OK;
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `who` (undefined: this process) may not use `path` as needed: undefined when it may, ''
 * when the file's own mode forbids it, else the reason ("/root is not searchable by nobody").
 * A missing file is fine to write when its nearest existing folder is writable (it is created
 * there); a missing file to read or run is reported as missing.
 */
export function denial(path: string, need: Need, who: Who | undefined): string | undefined {
  const name = who?.name ?? 'this user';
  const can = (p: string, n: Need | 'search'): boolean => {
    if (who === undefined) return selfPermits(p, n);
    try {
      return permits(statSync(p), who, n);
    } catch {
      return false;
    }
  };
  let target = resolve(path);
  let missing = false;
  try {
    target = realpathSync(target);
  } catch {
    missing = true;
  }
  if (missing && need !== 'write') return MISSING;
  // The nearest folder that exists: a missing file (and folders) would be created in it.
  let existing = missing ? dirname(target) : target;
  while (missing) {
    try {
      existing = realpathSync(existing);
      break;
    } catch {
      if (existing === dirname(existing)) break;
      existing = dirname(existing);
    }
  }
  // Search permission on every folder above.
  const folders: string[] = [];
  for (let d = dirname(existing); ; d = dirname(d)) {
    folders.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const folder of folders) if (!can(folder, 'search')) return `${folder} is not searchable by ${name}`;
  if (missing) {
    if (!can(existing, 'search') || !can(existing, 'write')) return `${name} cannot create files in ${existing}`;
    return undefined;
  }
  const folder = isFolder(target);
  if (need === 'create') return folder && can(target, 'search') && can(target, 'write') ? undefined : '';
  if (need === 'run' && folder) return 'it is a folder';
  if (folder && need === 'write') return 'it is a folder';
  if (folder && !can(target, 'search')) return `${target} is not searchable by ${name}`;
  return can(target, need) ? undefined : '';
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
