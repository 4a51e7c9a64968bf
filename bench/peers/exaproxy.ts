// exaproxy itself, started from bin/exaproxy.js (dist/ must be built: `npm run build:ts`).
// Its whole command line is built in exaproxyArguments() below and nowhere else: when an option is
// renamed, that function is the one place to change.
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runText, startProcess, stopProcess, waitForPort } from '../proc';
import type { PeerContext, PeerSpec } from './types';

const ROOT = join(__dirname, '..', '..');

/** redirector.program is split with shell-like quoting: quote what a space or quote would break. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command-line options for one benchmark start of exaproxy. */
export function exaproxyArguments(context: PeerContext, workers: number, extra: string[] = []): string[] {
  const args = [
    '--tcp4.host=127.0.0.1',
    `--tcp4.port=${context.port}`,
    '--web.enable=false',
    '--log.level=ERROR',
    '--usage.enable=false',
    // The origin is on this machine: allow it past the local-destination block, CONNECT included.
    `--security.local=127.0.0.1:${context.originPort}`,
    `--security.connect=${context.originPort}`,
    `--daemon.workers=${workers}`,
    // Other peers keep every idle upstream connection; the default cap (16) would add reconnects under 50 clients.
    '--http.upstream-max-idle-per-host=1000',
    ...extra,
  ];
  if (context.helper !== undefined) {
    args.push(
      '--redirector.enable=true',
      `--redirector.protocol=${context.helper}`,
      `--redirector.program=${(context.helperCommand ?? []).map(shellQuote).join(' ')}`,
      `--redirector.minimum=${context.helperChildren}`,
      `--redirector.maximum=${context.helperChildren}`,
      // Off by default, as in exaproxy: the helper goal is taken without it, the cache-on figure beside it.
      `--redirector.cache=${context.helperCache ? 60 : 0}`,
    );
  }
  return args;
}

function version(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = runText('git', ['-C', root, 'rev-parse', '--short', 'HEAD']).text;
  return `exaproxy ${pkg.version} (${commit}, node ${process.version})`;
}

function spec(name: string, workers: number, pinned: boolean, description: string, onlyScenarios?: string[], root = ROOT, extra: string[] = []): PeerSpec {
  return {
    name,
    onlyScenarios,
    description,
    helpers: ['url', 'squid'],
    helperCache: true,
    connect: true,
    pinned,
    version: () => version(root),
    async start(context) {
      if (!existsSync(join(root, 'dist', 'cli.js'))) {
        throw new Error(`${join(root, 'dist', 'cli.js')} is missing: run \`npm run build\` there before \`npm run bench\``);
      }
      const bin = join(root, 'bin', 'exaproxy.js');
      const started = startProcess(context.core, process.execPath, [bin, ...exaproxyArguments(context, workers, extra)]);
      await waitForPort(context.port, started, 'exaproxy');
      return { pid: started.child.pid as number, child: started.child, stop: () => stopProcess(started.child, 5000) };
    },
  };
}

export const exaproxy = spec('exaproxy', 1, true, 'exaproxy, daemon.workers=1 (one process)');

/** One worker per core, not pinned: compared with `exaproxy` for the two-worker scaling goal. */
export const exaproxyWorkers = spec(
  'exaproxy-workers',
  Math.max(2, cpus().length),
  false,
  `exaproxy, one worker per core (${Math.max(2, cpus().length)}), not pinned (small and 1m scenarios only)`,
  ['small', '1m'],
);

/** The tunnel relays compared in the connect scenario (the `exaproxy` peer runs the default, splice). */
export const exaproxyJsRelay = spec('exaproxy-js-relay', 1, true, 'exaproxy, one worker, tunnels relayed by Node streams (http.tunnel-relay=js; connect only)', ['connect'], ROOT, ['--http.tunnel-relay=js']);
export const exaproxyCopy = spec('exaproxy-copy', 1, true, 'exaproxy, one worker, tunnels copied through the relay thread\'s buffer (http.tunnel-relay=copy; connect only)', ['connect'], ROOT, ['--http.tunnel-relay=copy']);

/**
 * Another build of exaproxy, for before/after figures in one run: `EXAPROXY_BASELINE` names
 * a checkout (e.g. `git worktree add ../baseline <commit>`, then `npm run build` there).
 */
export const exaproxyBaseline = spec(
  'exaproxy-baseline',
  1,
  true,
  `exaproxy, one worker, built from ${process.env.EXAPROXY_BASELINE ?? ''}`,
  undefined,
  process.env.EXAPROXY_BASELINE ?? ROOT,
);
