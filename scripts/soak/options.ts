/**
 * The soak's options: `npm run soak -- --minutes=N …`. Every figure has a default that a
 * CI machine (2 cores, ulimit raised by the script) carries; the bounds of the verdicts are
 * options too, so the report can state them.
 */
export interface SoakOptions {
  minutes: number;
  /** daemon.workers: each has its own open-file limit, so 10,000 idle clients fit in 20,000 files */
  workers: number;
  /** keep-alive connections that ask again and again (the legitimate load) */
  keepalive: number;
  /** requests per second per keep-alive connection, at most */
  rate: number;
  /** connections opened, asked once, then held idle */
  idle: number;
  /** clients that send a head one byte a second and never finish it */
  slowloris: number;
  /** CONNECT tunnels moving 1 MiB each way, one after another, at once */
  tunnels: number;
  /** uploads (1–4 MiB, sha256 checked by the origin), one after another, at once */
  uploads: number;
  /** seconds between two helper kills (SIGKILL of one helper process) */
  helperKillEvery: number;
  /** http.header-timeout of the proxy, seconds: when slowloris clients must be closed */
  headerTimeout: number;
  /** the RSS growth allowed after the warm-up, MiB */
  rssBoundMiB: number;
  /** the open files allowed above the count before the load, once it is over */
  fdSlack: number;
  /** the loaded p99 latency allowed, as a factor of the unloaded p99 */
  latencyFactor: number;
  /** where the report goes */
  out: string;
}

const HELP = `npm run soak -- [--minutes=1] [--workers=2] [--idle=10000] [--slowloris=500] [--keepalive=16] [--rate=20]
  [--tunnels=2] [--uploads=2] [--helper-kill-every=10] [--header-timeout=5]
  [--rss-bound=64] [--fd-slack=16] [--latency-factor=10] [--out=soak-results]
Runs one exaproxy (dist/, so run npm run build first) with a url helper under all the loads at
once for --minutes, samples it every second, prints progress, and writes soak.json and
soak.svg to --out. Exits 1 when a verdict fails. Smaller machines: lower --idle and --slowloris.`;

export function parseOptions(argv: string[]): SoakOptions {
  const o: SoakOptions = {
    minutes: 1,
    workers: 2,
    keepalive: 16,
    rate: 20,
    idle: 10_000,
    slowloris: 500,
    tunnels: 2,
    uploads: 2,
    helperKillEvery: 10,
    headerTimeout: 5,
    rssBoundMiB: 64,
    fdSlack: 16,
    latencyFactor: 10,
    out: 'soak-results',
  };
  const numeric: Record<string, keyof SoakOptions> = {
    minutes: 'minutes',
    workers: 'workers',
    keepalive: 'keepalive',
    rate: 'rate',
    idle: 'idle',
    slowloris: 'slowloris',
    tunnels: 'tunnels',
    uploads: 'uploads',
    'helper-kill-every': 'helperKillEvery',
    'header-timeout': 'headerTimeout',
    'rss-bound': 'rssBoundMiB',
    'fd-slack': 'fdSlack',
    'latency-factor': 'latencyFactor',
  };
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help') {
      console.log(HELP);
      process.exit(0);
    }
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (m?.[1] === 'out') {
      o.out = m[2]!;
      continue;
    }
    const key = m ? numeric[m[1]!] : undefined;
    const value = Number(m?.[2]);
    if (key === undefined || !Number.isFinite(value) || value < 0) {
      console.error(`soak: ${arg}: not an option with a number ≥ 0 (see npm run soak -- --help)`);
      process.exit(2);
    }
    (o[key] as number) = value;
  }
  if (o.minutes <= 0 || o.keepalive < 1 || o.rate <= 0 || o.headerTimeout < 1 || o.workers < 1) {
    console.error('soak: --minutes, --rate must be above 0, --keepalive, --workers and --header-timeout at least 1');
    process.exit(2);
  }
  return o;
}
