// Turns the measurements of every round into medians, ratios to the reference (HAProxy in the same
// round) and the markdown tables printed on stdout.
import type { Measurement } from './measure';
import type { Scenario } from './scenarios';

/** The figures kept per measurement and compared; `lower` says which direction is better. */
export const METRICS = {
  reqPerSec: { title: 'req/s', lower: false },
  mibPerSec: { title: 'MiB/s', lower: false },
  cpuUsPerReq: { title: 'CPU µs/req', lower: true },
  cpuMsPerMiB: { title: 'CPU ms/MiB', lower: true },
  p50Ms: { title: 'p50 ms', lower: true },
  p99Ms: { title: 'p99 ms', lower: true },
  peakRssKiB: { title: 'peak RSS MiB', lower: true, scale: 1 / 1024 },
  chainCpuRatio: { title: 'peer CPU ÷ front HAProxy CPU', lower: true },
  rssPerConnKiB: { title: 'KiB RSS per idle conn', lower: true },
} as const;
export type Metric = keyof typeof METRICS;

export interface VariantSummary {
  variant: string;
  peer: string;
  rounds: number;
  failures: string[];
  notes: string[];
  /** Median over the successful rounds. */
  median: Partial<Record<Metric, number>>;
  /** Median over the rounds of (figure ÷ the reference's figure in the same round and scenario). */
  ratio: Partial<Record<Metric, number>>;
  errors: number;
  idleOpen?: number;
  /** The peak RSS per process, medians over rounds: `primary 40.1 + worker 38.2 MiB` (unset for one process). */
  processes?: string;
}

export interface ScenarioSummary {
  scenario: string;
  description: string;
  variants: VariantSummary[];
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function value(m: Measurement, metric: Metric): number | undefined {
  const v = m[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Median over rounds of a.metric ÷ b.metric, both taken in the same round of the same scenario. */
export function pairedRatio(all: Measurement[], scenario: string, a: string, b: string, metric: Metric): number | undefined {
  const ratios: number[] = [];
  for (const ma of all) {
    if (ma.scenario !== scenario || ma.variant !== a || !ma.measured) continue;
    const mb = all.find((m) => m.scenario === scenario && m.variant === b && m.round === ma.round && m.measured);
    const va = value(ma, metric);
    const vb = mb ? value(mb, metric) : undefined;
    if (va !== undefined && vb !== undefined && vb > 0) ratios.push(va / vb);
  }
  return median(ratios);
}

/** The median peak RSS of each kind of process over the rounds, as printed in the tables. */
function processes(runs: Measurement[]): string | undefined {
  const roles = [...new Set(runs.flatMap((m) => (m.peakRssProcesses ?? []).map((p) => p.role)))];
  if (roles.length === 0 || (roles.length === 1 && roles[0] === 'process')) return undefined;
  const parts = roles.map((role) => {
    const peaks = runs.flatMap((m) => (m.peakRssProcesses ?? []).filter((p) => p.role === role));
    const mib = (median(peaks.map((p) => p.kib)) ?? 0) / 1024;
    const count = median(peaks.map((p) => p.count)) ?? 1;
    return `${role}${count > 1 ? ` ×${count}` : ''} ${mib.toFixed(1)}`;
  });
  return `${parts.join(' + ')} MiB`;
}

export function summarize(all: Measurement[], scenarios: Scenario[], reference: string): ScenarioSummary[] {
  return scenarios.map((scenario) => {
    const inScenario = all.filter((m) => m.scenario === scenario.name);
    const labels = [...new Set(inScenario.map((m) => m.variant))];
    const variants = labels.map((label): VariantSummary => {
      const runs = inScenario.filter((m) => m.variant === label);
      const ok = runs.filter((m) => m.measured);
      const summary: VariantSummary = {
        variant: label,
        peer: runs[0]?.peer ?? label,
        rounds: ok.length,
        failures: runs.filter((m) => !m.ok).map((m) => `round ${m.round}: ${m.error ?? 'failed'}`),
        notes: [...new Set(runs.flatMap((m) => (m.note === undefined ? [] : [m.note])))].map((note) => {
          const closes = runs.reduce((sum, m) => sum + (m.closesNotCounted ?? 0), 0);
          return closes > 0 ? `${note} (${closes} over ${runs.length} round(s))` : note;
        }),
        median: {},
        ratio: {},
        errors: runs.reduce((sum, m) => sum + m.statusErrors + m.socketErrors + (m.idleFailed ?? 0), 0),
        idleOpen: median(ok.map((m) => m.idleOpen ?? 0)),
        processes: processes(ok),
      };
      for (const metric of Object.keys(METRICS) as Metric[]) {
        const m = median(ok.map((r) => value(r, metric)).filter((v): v is number => v !== undefined));
        if (m !== undefined) summary.median[metric] = m;
        const r = pairedRatio(all, scenario.name, label, reference, metric);
        if (r !== undefined) summary.ratio[metric] = r;
      }
      return summary;
    });
    return { scenario: scenario.name, description: scenario.description, variants };
  });
}

function format(n: number | undefined, digits = 1): string {
  if (n === undefined) return '–';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) < 10 ? Math.max(digits, 2) : digits);
}

/** A figure in the unit its column shows (RSS is kept in KiB but read in MiB). */
function scaled(metric: Metric, n: number | undefined): number | undefined {
  const info = METRICS[metric];
  return n === undefined ? undefined : n * ('scale' in info ? info.scale : 1);
}

function ratio(n: number | undefined): string {
  return n === undefined ? '–' : `${n.toFixed(2)}×`;
}

/** The columns each kind of scenario shows. */
export function columnsFor(scenario: string): Metric[] {
  if (scenario === 'idle') return ['rssPerConnKiB', 'peakRssKiB'];
  if (scenario === 'chain') return ['reqPerSec', 'cpuUsPerReq', 'chainCpuRatio', 'p50Ms', 'p99Ms'];
  if (scenario === '100k' || scenario === '1m' || scenario === 'connect') return ['mibPerSec', 'cpuMsPerMiB', 'reqPerSec', 'p50Ms', 'p99Ms', 'peakRssKiB'];
  return ['reqPerSec', 'cpuUsPerReq', 'p50Ms', 'p99Ms', 'peakRssKiB'];
}

/** The table of each scenario (the goals follow, from goals.ts). */
export function markdown(summaries: ScenarioSummary[], reference: string): string {
  const perProcess = (columns: Metric[]): boolean => columns.includes('peakRssKiB');
  const lines: string[] = [];
  for (const s of summaries) {
    const columns = columnsFor(s.scenario);
    lines.push(`### ${s.scenario}: ${s.description}`, '');
    const head = ['peer', ...columns.flatMap((c) => [METRICS[c].title, `× ${reference}`]), ...(perProcess(columns) ? ['peak RSS per process'] : []), 'errors', 'rounds'];
    if (s.scenario === 'idle') head.splice(1, 0, 'connections');
    lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const v of s.variants) {
      const cells = [
        v.variant,
        ...columns.flatMap((c) => [format(scaled(c, v.median[c])), ratio(v.ratio[c])]),
        ...(perProcess(columns) ? [v.processes ?? 'one process'] : []),
        String(v.errors),
        String(v.rounds),
      ];
      if (s.scenario === 'idle') cells.splice(1, 0, format(v.idleOpen, 0));
      lines.push(`| ${cells.join(' | ')} |`);
    }
    const footnotes = s.variants.flatMap((v) => [...v.notes.map((n) => `- ${v.variant}: ${n}`), ...v.failures.map((f) => `- ${v.variant} failed: ${f.split('\n')[0]}`)]);
    if (footnotes.length > 0) lines.push('', ...footnotes);
    lines.push('');
  }
  return lines.join('\n');
}
