// The project's performance goals (issue 16), read from one run's figures: each one met, missed or
// not measured, with the ratio (or difference) taken in the same rounds. Reported, never asserted.
import type { Measurement } from './measure';
import { median, pairedRatio, type Metric, type ScenarioSummary, type VariantSummary } from './report';

export type GoalStatus = 'met' | 'missed' | 'not measured';

export interface Goal {
  /** Stable key, for `npm run bench:compare` across runs. */
  id: string;
  goal: string;
  target: string;
  value: number | undefined;
  /** What `value` is: a ratio (×), or a figure in MiB / KiB. */
  unit: '×' | 'MiB' | 'KiB';
  /** Which way is better, for bench:compare. */
  lower: boolean;
  status: GoalStatus;
  /** What is printed beside the value (a related figure, the count it was taken at). */
  detail?: string;
  /** Shown for information: the project has no target for it. */
  info?: boolean;
}

/** Median over rounds of a.metric − b.metric, both taken in the same round of the same scenario. */
export function pairedDifference(all: Measurement[], scenario: string, a: string, b: string, metric: Metric): number | undefined {
  const differences: number[] = [];
  for (const ma of all) {
    if (ma.scenario !== scenario || ma.variant !== a || !ma.measured) continue;
    const mb = all.find((m) => m.scenario === scenario && m.variant === b && m.round === ma.round && m.measured);
    const va = ma[metric];
    const vb = mb?.[metric];
    if (typeof va === 'number' && typeof vb === 'number') differences.push(va - vb);
  }
  return median(differences);
}

interface GoalSpec {
  id: string;
  goal: string;
  target: string;
  unit: Goal['unit'];
  /** The bound: at most (lower is better) or at least. */
  atMost?: number;
  atLeast?: number;
  info?: boolean;
  value: number | undefined;
  detail?: string;
}

function judged(spec: GoalSpec): Goal {
  const { value } = spec;
  const lower = spec.atMost !== undefined;
  const met = value === undefined ? undefined : lower ? value <= (spec.atMost as number) : value >= (spec.atLeast as number);
  return {
    id: spec.id,
    goal: spec.goal,
    target: spec.target,
    value,
    unit: spec.unit,
    lower,
    status: met === undefined ? 'not measured' : met ? 'met' : 'missed',
    ...(spec.detail === undefined ? {} : { detail: spec.detail }),
    ...(spec.info ? { info: true } : {}),
  };
}

function fixed(n: number | undefined, digits = 2): string {
  return n === undefined ? '–' : n.toFixed(digits);
}

/** The goals, in the order of the issue; `reference` is HAProxy. */
export function goals(all: Measurement[], summaries: ScenarioSummary[], reference: string): Goal[] {
  const find = (scenario: string, variant: string): VariantSummary | undefined =>
    summaries.find((s) => s.scenario === scenario)?.variants.find((v) => v.variant === variant);
  const ratio = (scenario: string, a: string, b: string, metric: Metric): number | undefined => pairedRatio(all, scenario, a, b, metric);
  const KiB = 1024;
  const rssDelta = pairedDifference(all, 'small', 'exaproxy', 'relay', 'peakRssKiB');
  const small = find('small', 'exaproxy');
  const relaySmall = find('small', 'relay');
  const idle = find('idle', 'exaproxy');
  const helperCached = ratio('helper', 'exaproxy+url+cache', 'squid+squid', 'reqPerSec');
  return [
    judged({
      id: 'connect-vs-squid',
      goal: 'CONNECT tunnels: exaproxy CPU per MiB ÷ squid',
      target: '≤ 0.8×',
      unit: '×',
      atMost: 0.8,
      value: ratio('connect', 'exaproxy', 'squid', 'cpuMsPerMiB'),
    }),
    judged({
      id: '1m-vs-relay',
      goal: '1 MiB: exaproxy CPU per MiB ÷ relay',
      target: '≤ 1.05×',
      unit: '×',
      atMost: 1.05,
      value: ratio('1m', 'exaproxy', 'relay', 'cpuMsPerMiB'),
    }),
    judged({
      id: '1m-vs-haproxy',
      goal: `1 MiB: exaproxy CPU per MiB ÷ ${reference}`,
      target: '≤ 1.15×',
      unit: '×',
      atMost: 1.15,
      value: find('1m', 'exaproxy')?.ratio.cpuMsPerMiB,
    }),
    judged({
      id: 'small-rss-vs-relay',
      goal: 'peak RSS under the small load: exaproxy (every process) − relay, MiB',
      target: '≤ 24 MiB',
      unit: 'MiB',
      atMost: 24,
      value: rssDelta === undefined ? undefined : rssDelta / KiB,
      detail:
        small?.median.peakRssKiB === undefined
          ? undefined
          : `exaproxy ${fixed(small.median.peakRssKiB / KiB, 1)} MiB (${small.processes ?? 'one process'}), relay ${fixed(relaySmall?.median.peakRssKiB === undefined ? undefined : relaySmall.median.peakRssKiB / KiB, 1)} MiB`,
    }),
    judged({
      id: 'idle-per-connection',
      goal: 'idle keep-alive: exaproxy KiB of RSS per connection',
      target: '≤ 4 KiB',
      unit: 'KiB',
      atMost: 4,
      value: idle?.median.rssPerConnKiB,
      detail: idle?.idleOpen === undefined ? undefined : `at ${Math.round(idle.idleOpen).toLocaleString('en-US')} connections`,
    }),
    judged({
      id: 'small-vs-haproxy',
      goal: `small keep-alive: exaproxy CPU per request ÷ ${reference}`,
      target: '≤ 1.25×',
      unit: '×',
      atMost: 1.25,
      value: small?.ratio.cpuUsPerReq,
    }),
    judged({
      id: 'helper-vs-squid',
      goal: 'allow-all helper, cache off: exaproxy+url req/s ÷ squid+squid req/s',
      target: '≥ 3×',
      unit: '×',
      atLeast: 3,
      value: ratio('helper', 'exaproxy+url', 'squid+squid', 'reqPerSec'),
      detail: helperCached === undefined ? undefined : `cache on (exaproxy+url+cache): ${fixed(helperCached)}×`,
    }),
    judged({
      id: 'close-vs-haproxy',
      goal: `close (a connection per request): exaproxy CPU per request ÷ ${reference}`,
      target: '≤ 1.8×',
      unit: '×',
      atMost: 1.8,
      value: find('close', 'exaproxy')?.ratio.cpuUsPerReq,
    }),
    judged({
      id: 'workers-scaling',
      goal: 'small keep-alive: exaproxy-workers req/s ÷ exaproxy (1 worker) req/s',
      target: '≥ 1.8×',
      unit: '×',
      atLeast: 1.8,
      value: ratio('small', 'exaproxy-workers', 'exaproxy', 'reqPerSec'),
    }),
    judged({
      id: 'chain-vs-front',
      goal: `chain: exaproxy CPU ÷ front ${reference} CPU on the same traffic`,
      target: '≤ 1.5× (info)',
      unit: '×',
      atMost: 1.5,
      info: true,
      value: find('chain', 'exaproxy')?.median.chainCpuRatio,
    }),
  ];
}

/** A goal's value as printed: `1.23×`, `31.2 MiB`, `4.10 KiB`. */
export function goalValue(g: Pick<Goal, 'value' | 'unit'>): string {
  if (g.value === undefined) return '–';
  return g.unit === '×' ? `${g.value.toFixed(2)}×` : `${g.value.toFixed(g.unit === 'MiB' ? 1 : 2)} ${g.unit}`;
}

export function goalsMarkdown(goalList: Goal[]): string[] {
  const lines = ['### Goals (ratios taken in the same run)', '', '| goal | target | value | status | |', '|---|---|---:|---|---|'];
  for (const g of goalList) lines.push(`| ${g.goal} | ${g.target} | ${goalValue(g)} | ${g.status} | ${g.detail ?? ''} |`);
  const met = goalList.filter((g) => !g.info && g.status === 'met').length;
  const counted = goalList.filter((g) => !g.info).length;
  lines.push('', `${met} of ${counted} goals met; ${goalList.filter((g) => !g.info && g.status === 'not measured').length} not measured in this run.`, '');
  return lines;
}
