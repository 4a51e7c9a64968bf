// `npm run bench [-- options]`: compares exaproxy with real peers on loopback. Installs what is
// missing, starts an nginx origin, then for each round, scenario and peer starts the peer fresh,
// loads it and reads its process tree's CPU and memory. Prints a markdown table and writes JSON, the
// same table and an SVG chart to bench/results/. See bench/README.md for the method.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { chartSvg } from './chart';
import { ensureDebian, ensureNpmPeers } from './install';
import { measure, variantsFor, type Measurement, type MeasureSettings } from './measure';
import { startOrigin } from './origin';
import { PEERS, REFERENCE_PEER, peerByName } from './peers';
import type { HelperProtocol, PeerSpec } from './peers/types';
import { fileLimit, planCores, runText } from './proc';
import { goals, goalsMarkdown } from './goals';
import { markdown, summarize } from './report';
import { SCENARIOS, scenarioByName, type Scenario } from './scenarios';

export interface BenchOptions {
  peers: PeerSpec[];
  scenarios: Scenario[];
  durationS: number;
  warmupS: number;
  rounds: number;
  idleConnections: number;
  helperChildren: number;
  outDir: string;
  install: boolean;
  smoke: boolean;
}

const USAGE = `usage: npm run bench -- [options]
  --peers=a,b,...        peers to run (default: all): ${PEERS.map((p) => p.name).join(', ')}
  --scenarios=a,b,...    scenarios to run (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --duration=S           seconds of load per measurement (default 5)
  --warmup=S             seconds of load before each measurement, not counted (default 1; 0 = none)
  --rounds=N             rounds; peers are interleaved within each round (default 3)
  --idle-connections=N   connections held in the idle scenario (default 10000, capped by ulimit -n)
  --helper-children=N    helper processes per peer in the helper scenario (default 5)
  --out=DIR              where results go (default bench/results)
  --smoke                exaproxy and ${REFERENCE_PEER}, small scenario, 2 s, 1 round (the CI smoke test)
  --no-install           do not install missing peers (fail on them instead)
  --list                 list the peers and scenarios and exit`;

class UsageError extends Error {}

function positiveNumber(option: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0) || !Number.isInteger(n)) {
    throw new UsageError(`${option}=${text}: expected a whole number ${allowZero ? '≥ 0' : '> 0'}`);
  }
  return n;
}

function pick<T extends { name: string }>(option: string, text: string, all: T[], find: (name: string) => T | undefined): T[] {
  return text.split(',').map((name) => {
    const found = find(name.trim());
    if (found === undefined) throw new UsageError(`${option}=${text}: unknown "${name}"; accepted: ${all.map((x) => x.name).join(', ')}`);
    return found;
  });
}

/** The fd limit caps the idle test: the peer holds two sockets per client connection. */
function idleCap(): number {
  return Math.max(10, Math.floor((fileLimit() - 300) / 2));
}

export function parseOptions(argv: string[]): BenchOptions | 'list' {
  const options: BenchOptions = {
    peers: PEERS,
    scenarios: SCENARIOS,
    durationS: 5,
    warmupS: 1,
    rounds: 3,
    idleConnections: 10000,
    helperChildren: 5,
    outDir: join(__dirname, 'results'),
    install: true,
    smoke: false,
  };
  const given = new Set<string>();
  for (const arg of argv) {
    const [option, text] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, ''];
    given.add(option);
    switch (option) {
      case '--peers': options.peers = pick(option, text, PEERS, peerByName); break;
      case '--scenarios': options.scenarios = pick(option, text, SCENARIOS, scenarioByName); break;
      case '--duration': options.durationS = positiveNumber(option, text); break;
      case '--warmup': options.warmupS = positiveNumber(option, text, true); break;
      case '--rounds': options.rounds = positiveNumber(option, text); break;
      case '--idle-connections': options.idleConnections = positiveNumber(option, text); break;
      case '--helper-children': options.helperChildren = positiveNumber(option, text); break;
      case '--out': options.outDir = text; break;
      case '--smoke': options.smoke = true; break;
      case '--no-install': options.install = false; break;
      case '--list': return 'list';
      case '--help': throw new UsageError('');
      default: throw new UsageError(`unknown option "${arg}"`);
    }
  }
  if (options.smoke) {
    if (!given.has('--peers')) options.peers = pick('--peers', `exaproxy,${REFERENCE_PEER}`, PEERS, peerByName);
    if (!given.has('--scenarios')) options.scenarios = pick('--scenarios', 'small', SCENARIOS, scenarioByName);
    if (!given.has('--duration')) options.durationS = 2;
    if (!given.has('--rounds')) options.rounds = 1;
  }
  options.idleConnections = Math.min(options.idleConnections, idleCap());
  return options;
}

function machine(): Record<string, string | number> {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    kernel: runText('uname', ['-r']).text,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

function versions(peers: PeerSpec[]): Record<string, string> {
  const result: Record<string, string> = {
    nginx: runText('nginx', ['-v']).text,
    wrk: runText('wrk', ['-v']).text.split('\n')[0] ?? 'unknown',
  };
  for (const peer of peers) result[peer.name] = peer.version();
  return result;
}

/**
 * The allow-all helper for a protocol: the project's example (examples/redirectors/<protocol>-allow.py)
 * when it is there, else bench/helpers/allow-all.py. Both peers of a comparison get the same program.
 */
function helperCommand(protocol: HelperProtocol): string[] {
  const python = runText('sh', ['-c', 'command -v /usr/bin/python3 || command -v python3']).text.split('\n')[0] || 'python3';
  const example = join(__dirname, '..', 'examples', 'redirectors', `${protocol}-allow.py`);
  return existsSync(example) ? [python, example] : [python, join(__dirname, 'helpers', 'allow-all.py'), protocol];
}

async function main(): Promise<number> {
  let parsed: BenchOptions | 'list';
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) console.error(`npm run bench: ${error.message}\n`);
    console.error(USAGE);
    return error.message ? 2 : 0;
  }
  if (parsed === 'list') {
    for (const p of PEERS) console.log(`peer      ${p.name.padEnd(18)} ${p.description}`);
    for (const s of SCENARIOS) console.log(`scenario  ${s.name.padEnd(18)} ${s.description}`);
    return 0;
  }
  const options = parsed;
  // The reference is always measured: every ratio is taken against it in the same round.
  const reference = peerByName(REFERENCE_PEER) as PeerSpec;
  const peers = options.peers.includes(reference) ? options.peers : [reference, ...options.peers];

  console.log('checking the peers and the load generator are installed…');
  if (options.install) {
    ensureDebian({ nginx: 'nginx', wrk: 'wrk', taskset: 'util-linux', ...Object.assign({}, ...peers.map((p) => p.debian ?? {})) });
    const npm = peers.flatMap((p) => p.npm ?? []);
    if (npm.length > 0) ensureNpmPeers(npm);
  }
  const cores = planCores();
  const started = new Date();
  const meta = {
    date: started.toISOString(),
    machine: machine(),
    versions: versions(peers),
    parameters: {
      peers: peers.map((p) => p.name),
      scenarios: options.scenarios.map((s) => ({ ...s, connections: s.kind === 'idle' ? options.idleConnections : s.connections })),
      durationS: options.durationS,
      warmupS: options.warmupS,
      rounds: options.rounds,
      helperChildren: options.helperChildren,
      helpers: { url: helperCommand('url').join(' '), squid: helperCommand('squid').join(' ') },
      cores: cores.peer === undefined ? 'one core: nothing pinned' : `peer on core ${cores.peer}; wrk, clients and origin on core ${cores.load}`,
      reference: REFERENCE_PEER,
    },
  };
  console.log(`machine: ${JSON.stringify(meta.machine)}`);
  for (const [name, version] of Object.entries(meta.versions)) console.log(`  ${name}: ${version}`);

  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-bench-'));
  console.log(`starting the nginx origin (config in ${dir})…`);
  const origin = await startOrigin(dir, cores.load);
  const settings: MeasureSettings = {
    dir,
    originPort: origin.port,
    cores,
    durationS: options.durationS,
    warmupS: options.warmupS,
    idleConnections: options.idleConnections,
    helperChildren: options.helperChildren,
    countNon200: options.smoke,
    helperCommand,
  };
  const measurements: Measurement[] = [];
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const scenario of options.scenarios) {
        const variants = variantsFor(scenario, peers, REFERENCE_PEER);
        // Each round starts with a different peer, so that no peer always runs on a cold or warm machine.
        const shift = (round - 1) % Math.max(1, variants.length);
        for (const variant of [...variants.slice(shift), ...variants.slice(0, shift)]) {
          process.stdout.write(`[round ${round}/${options.rounds}] ${scenario.name}: ${variant.label} … `);
          const m = await measure(settings, scenario, variant, round);
          measurements.push(m);
          console.log(describe(m));
        }
      }
    }
  } finally {
    await origin.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const summaries = summarize(measurements, options.scenarios, REFERENCE_PEER);
  const goalList = goals(measurements, summaries, REFERENCE_PEER);
  const table = `${markdown(summaries, REFERENCE_PEER)}\n${goalsMarkdown(goalList).join('\n')}`;
  const header = `## exaproxy bench, ${meta.date}\n\nMachine: ${meta.machine.nproc} × ${meta.machine.cpu}, Linux ${meta.machine.kernel}, node ${meta.machine.node}. ${options.durationS} s per measurement, ${options.rounds} round(s), medians; ${meta.parameters.cores}.\n`;
  console.log(`\n${header}\n${table}`);

  mkdirSync(options.outDir, { recursive: true });
  const stem = join(options.outDir, meta.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z'));
  writeFileSync(`${stem}.json`, `${JSON.stringify({ ...meta, measurements, summaries, goals: goalList }, null, 2)}\n`);
  writeFileSync(`${stem}.md`, `${header}\n${table}`);
  writeFileSync(`${stem}.svg`, chartSvg(summaries, REFERENCE_PEER, `exaproxy bench ${meta.date.slice(0, 10)}, ${meta.machine.nproc} × ${meta.machine.cpu}`));
  console.log(`results: ${stem}.json, ${stem}.md, ${stem}.svg`);

  // A peer that could not be measured fails the run; errors under load are reported (and asserted by
  // the smoke test) but a real peer's occasional hiccup should not void a long run's figures.
  const troubled = measurements.filter((m) => !m.ok);
  if (troubled.length > 0) {
    console.error(`\n${troubled.length} measurement(s) with a failure or errors (details above and in the JSON):`);
    for (const m of troubled) console.error(`  round ${m.round} ${m.scenario} ${m.variant}: ${(m.error ?? '').split('\n')[0]}`);
  }
  if (measurements.some((m) => !m.measured)) return 1;
  return 0;
}

function describe(m: Measurement): string {
  if (!m.measured) return `FAILED: ${m.error ?? ''}`;
  const trouble = m.ok ? '' : ` — ${m.error ?? ''}`;
  if (m.scenario === 'idle') return `${m.idleOpen} held, ${(m.rssPerConnKiB ?? 0).toFixed(2)} KiB RSS per connection${trouble}`;
  const chain = m.chainCpuRatio === undefined ? '' : `, ${m.chainCpuRatio.toFixed(2)}× front CPU`;
  const percent = (v: number | undefined): string => (v === undefined ? '?' : `${Math.round(v * 100)}%`);
  const cores = m.peerCoreBusy === undefined ? '' : `; cores busy: peer ${percent(m.peerCoreBusy)}, load ${percent(m.loadCoreBusy)}`;
  return `${Math.round(m.reqPerSec)} req/s, ${m.mibPerSec.toFixed(1)} MiB/s, ${m.cpuUsPerReq.toFixed(1)} µs CPU/req, p99 ${m.p99Ms.toFixed(2)} ms${chain}${cores}${trouble}`;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
