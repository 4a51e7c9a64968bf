// Installs what the selected peers and the load generator need and is not there yet: Debian packages
// through apt-get, npm peers into bench/.peers/ (its own package.json, gitignored, so the project's
// own dependencies never carry benchmark-only packages).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PEERS_DIR = join(__dirname, '.peers');

/** Versions are pinned so that a re-run measures the same code. */
const NPM_PEERS: Record<string, string> = { proxy: '4.1.0', 'proxy-chain': '3.0.1' };

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], cwd?: string): boolean {
  console.log(`  $ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

/** Installs the Debian packages whose command is missing: `{ command: package }`. */
export function ensureDebian(needed: Record<string, string>): void {
  const missing = Object.entries(needed).filter(([command]) => !onPath(command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  console.log(`installing Debian packages: ${packages.join(' ')}`);
  if (!run('apt-get', ['install', '-y', '--no-install-recommends', ...packages])) {
    // A fresh machine may have no package lists yet.
    run('apt-get', ['update']);
    if (!run('apt-get', ['install', '-y', '--no-install-recommends', ...packages])) {
      throw new Error(`apt-get could not install ${packages.join(' ')}: install them by hand (as root) and run the bench again`);
    }
  }
  // Debian starts the services it installs: the bench runs its own copies on free ports, so stop those.
  for (const service of ['nginx', 'haproxy', 'squid', 'tinyproxy']) {
    if (packages.includes(service)) spawnSync('sh', ['-c', `service ${service} stop`], { stdio: 'ignore' });
  }
}

/** Installs the npm peers into bench/.peers/ when the wanted ones are missing. */
export function ensureNpmPeers(names: string[]): void {
  const missing = names.filter((name) => !existsSync(join(PEERS_DIR, 'node_modules', name, 'package.json')));
  if (missing.length === 0) return;
  mkdirSync(PEERS_DIR, { recursive: true });
  const dependencies = Object.fromEntries(Object.entries(NPM_PEERS));
  writeFileSync(
    join(PEERS_DIR, 'package.json'),
    `${JSON.stringify({ name: 'exaproxy-bench-peers', private: true, description: 'Peers for npm run bench (not a dependency of exaproxy)', dependencies }, null, 2)}\n`,
  );
  console.log(`installing npm peers into ${PEERS_DIR}: ${missing.join(' ')}`);
  if (!run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev'], PEERS_DIR)) {
    throw new Error(`npm could not install ${missing.join(' ')} into ${PEERS_DIR}: run \`npm install\` there and look at its error`);
  }
}
