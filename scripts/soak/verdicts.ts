/**
 * The soak's pass/fail, each verdict with its figures and the bound it was held to.
 */
import { percentile } from './keepalive';
import type { SoakOptions } from './options';
import type { Sample } from './sampler';
import { SLOWLORIS_MARGIN_S } from './slowloris';
import type { Tally } from './tally';

export interface Verdict {
  name: string;
  pass: boolean;
  detail: string;
}

export interface RunFigures {
  samples: Sample[];
  latencies: { t: number; ms: number }[];
  warmupS: number;
  baselineP99: number;
  baselineFailures: number;
  fdsBefore: number;
  fdsAfter: number;
  idleReached: number;
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

export function verdicts(o: SoakOptions, k: Tally, f: RunFigures): Verdict[] {
  const afterWarmup = f.samples.filter((s) => s.t >= f.warmupS);
  const warm = median(afterWarmup.slice(0, 10).map((s) => s.rssMiB));
  const end = median(afterWarmup.slice(-10).map((s) => s.rssMiB));
  const growth = end - warm;
  const p99 = percentile(f.latencies.filter((l) => l.t >= f.warmupS).map((l) => l.ms), 0.99);
  const latencyBound = o.latencyFactor * Math.max(f.baselineP99, 1);
  return [
    {
      name: 'memory',
      pass: afterWarmup.length >= 2 && growth <= o.rssBoundMiB,
      detail: `RSS ${warm.toFixed(1)} MiB after the warm-up (${f.warmupS} s), ${end.toFixed(1)} MiB at the end: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB (bound ${o.rssBoundMiB} MiB)`,
    },
    {
      name: 'open files',
      pass: f.fdsAfter <= f.fdsBefore + o.fdSlack,
      detail: `${f.fdsBefore} before the load, ${f.fdsAfter} once every client left (bound +${o.fdSlack})`,
    },
    {
      name: 'checksums',
      pass: k.checksumMismatches === 0 && k.transferFailures === 0 && (o.tunnels === 0 || k.tunnelsOk > 0) && (o.uploads === 0 || k.uploadsOk > 0),
      detail: `${k.tunnelsOk} tunnels of 1 MiB and ${k.uploadsOk} uploads equal; ${k.checksumMismatches} differed, ${k.transferFailures} failed`,
    },
    {
      name: 'slowloris',
      pass: k.slowlorisLate === 0 && k.slowlorisEarly === 0 && (o.slowloris === 0 || k.slowlorisClosed > 0),
      detail: `${k.slowlorisClosed} closed at http.header-timeout (${o.headerTimeout} s, within −1/+${SLOWLORIS_MARGIN_S} s), ${k.slowlorisEarly} earlier, ${k.slowlorisLate} later`,
    },
    {
      name: 'idle connections',
      pass: f.idleReached >= o.idle && k.idleDropped === 0,
      detail: `${f.idleReached} of ${o.idle} held open, ${k.idleDropped} closed by the proxy`,
    },
    {
      name: 'legitimate requests',
      pass: k.failures === 0 && f.baselineFailures === 0 && k.answers > 0,
      detail: `${k.answers} answered 200 with the whole document, ${k.failures + f.baselineFailures} failed`,
    },
    {
      name: 'latency',
      pass: Number.isFinite(p99) && p99 <= latencyBound,
      detail: `p99 ${p99.toFixed(1)} ms under the soak after the warm-up, ${f.baselineP99.toFixed(1)} ms unloaded (the larger of before and after; bound ×${o.latencyFactor}: ${latencyBound.toFixed(1)} ms)`,
    },
  ];
}
