// Whether a connection to the monitor was opened by one of our own worker processes, i.e. a
// proxy client asked the proxy to fetch a monitor URL (security.local lets it reach
// 127.0.0.1). Headers can be turned off (http.via=false, http.transparent), the socket cannot:
// on Linux the kernel lists both ends of a local TCP connection in /proc/net/tcp{,6} with the
// inode of each socket, and /proc/<pid>/fd shows which process holds that inode.
// Elsewhere (no /proc) the answer is "no" and the header checks of control.ts remain.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { isIPv4 } from 'node:net';

interface Entry {
  local: string;
  remote: string;
  uid: number;
  inode: string;
}

const LITTLE = endianness() === 'LE';

/** "0100007F:1F90" (IPv4) or 32 hex digits + port (IPv6): each 32-bit word is in host byte order. */
function decode(field: string): string {
  const [hex, portHex] = field.split(':');
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8).match(/../g)!.map((b) => parseInt(b, 16));
    bytes.push(...(LITTLE ? word.reverse() : word));
  }
  return `${addressOf(bytes)}:${parseInt(portHex, 16)}`;
}

function addressOf(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is written as IPv4, like Node's plain IPv4 sockets.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

function normal(address: string, port: number): string {
  const a = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(a)) return `${a}:${port}`;
  // Expand "::1" to the eight groups decode() writes.
  const [head, tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.map((g) => parseInt(g, 16).toString(16)).join(':')}:${port}`;
}

function entries(): Entry[] {
  const out: Entry[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({ local: decode(f[1]), remote: decode(f[2]), uid: Number(f[7]), inode: f[9] });
    }
  }
  return out;
}

/** The uid a process runs as (from /proc/<pid>/status, readable even when its fd folder is not). */
function uidOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the peer of a connection we accepted (the peer at `remote`, us at `local`) is a
 * socket held by one of `pids`. A worker that dropped privileges is not dumpable, so its fd
 * folder may be unreadable: then a peer socket owned by that worker's uid counts as ours
 * (any other process of daemon.user may not use the control actions either).
 */
export function openedBy(pids: readonly number[], remote: { address: string; port: number }, local: { address: string; port: number }): boolean {
  if (pids.length === 0) return false;
  const peer = normal(remote.address, remote.port);
  const us = normal(local.address, local.port);
  const entry = entries().find((e) => e.local === peer && e.remote === us);
  if (entry === undefined || entry.inode === '0') return false;
  const link = `socket:[${entry.inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      if (uidOf(pid) === entry.uid) return true;
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}
