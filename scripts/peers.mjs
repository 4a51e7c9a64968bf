// The real programs the tests drive, in one list: scripts/test.mjs installs the ones the
// chosen spec files need before it runs them, and .ci/run installs them all the same way.
// On Debian as root a missing one is installed with apt-get, a line per package; anywhere
// else the run stops at once with one line naming what is missing.
//
// Usage: node scripts/peers.mjs               ensure every peer (what .ci/run does)
//        node scripts/peers.mjs --no-install  only check them
//        node scripts/peers.mjs --list        print "command package scope" lines
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * command: what the tests run; package: the Debian package that has it; scope: 'all' when a
 * unit spec needs it, 'e2e' when only __test__/e2e specs (and the bench smoke) do;
 * linuxOnly: asked for on Linux only (util-linux has no macOS build).
 */
export const PEERS = [
  { command: 'curl', package: 'curl', scope: 'all' },
  { command: 'openssl', package: 'openssl', scope: 'all' },
  { command: 'python3', package: 'python3', scope: 'all' },
  { command: 'logger', package: 'bsdutils', scope: 'all' },
  { command: 'prlimit', package: 'util-linux', scope: 'all', linuxOnly: true },
  { command: 'setpriv', package: 'util-linux', scope: 'all', linuxOnly: true },
  { command: 'runuser', package: 'util-linux', scope: 'all', linuxOnly: true },
  { command: 'nginx', package: 'nginx', scope: 'e2e' },
  { command: 'haproxy', package: 'haproxy', scope: 'e2e' },
  { command: 'squid', package: 'squid', scope: 'e2e' },
  { command: 'squidGuard', package: 'squidguard', scope: 'e2e' },
  { command: 'c-icap', package: 'c-icap', scope: 'e2e' },
  { command: 'tinyproxy', package: 'tinyproxy', scope: 'e2e' },
  { command: 'wrk', package: 'wrk', scope: 'e2e' },
  { command: 'chromium', package: 'chromium', scope: 'e2e' },
  { command: 'nft', package: 'nftables', scope: 'e2e' },
  { command: 'ip', package: 'iproute2', scope: 'e2e' },
];

/** Whether `command` is on PATH or in an sbin folder (Debian puts daemons there, off a user's PATH). */
export function found(command) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The peers needed by these spec files (paths relative to the repository). */
export function peersFor(specFiles) {
  const e2e = specFiles.some((f) => f.includes('/e2e/'));
  return PEERS.filter((p) => (p.scope === 'all' || e2e) && (!p.linuxOnly || process.platform === 'linux'));
}

const say = (line) => process.stderr.write(`${line}\n`);
const asRoot = process.getuid?.() === 0;
const canApt = process.platform === 'linux' && asRoot && existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/dpkg');

function apt(args) {
  // Another apt run (an engineer's, a test's) may hold the dpkg lock: wait for it.
  return spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', '-y', '-qq', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Installs what is missing of `peers`, or exits with one line naming it. `why` says who
 * needs them, for that line; `install: false` only checks.
 */
export function ensurePeers(peers, why, { install = true } = {}) {
  const missing = peers.filter((p) => !found(p.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((p) => p.package))];
  const names = missing.map((p) => (p.command === p.package ? p.command : `${p.command} (${p.package})`)).join(', ');
  if (!install || !canApt) {
    const how = process.platform === 'linux' ? `as root: apt-get install ${packages.join(' ')}` : 'with your system\'s package manager';
    const runner = install ? 'this runner installs them only as root on Debian' : 'not installed (--no-install)';
    say(`exaproxy test: missing ${names}, needed by ${why}; ${runner}. Install them ${how}`);
    process.exit(1);
  }
  say(`exaproxy test: ${why} need ${names}: installing ${packages.length} Debian package(s)`);
  let updated = false;
  packages.forEach((pkg, i) => {
    say(`exaproxy test: [${i + 1}/${packages.length}] apt-get install ${pkg}`);
    let r = apt(['install', '--no-install-recommends', pkg]);
    if (r.status !== 0 && !updated) {
      // A fresh machine has no package lists yet (or stale ones): update once, then retry.
      updated = true;
      const u = apt(['update']);
      if (u.status !== 0) say(`exaproxy test: apt-get update failed: ${lastLines(u)}`);
      r = apt(['install', '--no-install-recommends', pkg]);
    }
    if (r.status !== 0) {
      say(`exaproxy test: apt-get install ${pkg} failed (${lastLines(r)}); install it by hand and run again`);
      process.exit(1);
    }
  });
  const still = missing.filter((p) => !found(p.command));
  if (still.length > 0) {
    say(`exaproxy test: installed ${packages.join(' ')} but ${still.map((p) => p.command).join(', ')} still not found on PATH or in /usr/sbin`);
    process.exit(1);
  }
}

function lastLines(r) {
  const text = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim() || (r.error?.message ?? `exit status ${r.status}`);
  return text.split('\n').slice(-2).join(' | ');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--list')) {
    for (const p of PEERS) console.log(`${p.command} ${p.package} ${p.scope}`);
  } else {
    ensurePeers(PEERS, 'the tests and the bench smoke', { install: !process.argv.includes('--no-install') });
  }
}
