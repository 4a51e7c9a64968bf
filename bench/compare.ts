// `npm run bench:compare -- OLD.json NEW.json [--tolerance=0.1]`: two runs of `npm run bench` side by
// side: every goal and every ratio to the reference, with its change, and a flag on each exaproxy
// figure that got worse by more than the tolerance. Only ratios taken within a run are compared,
// never absolute times: the two runs may come from different machines. Exit status 1 when a
// regression is flagged, 2 when the files cannot be read.
import { readFileSync } from 'node:fs';
import { goalValue, type Goal } from './goals';
import { METRICS, columnsFor, type Metric, type ScenarioSummary } from './report';

/** The costs, flagged when they regress; throughput and latency ratios are shown but too noisy in short runs to flag. */
const FLAGGED = new Set<Metric>(['cpuUsPerReq', 'cpuMsPerMiB', 'peakRssKiB', 'rssPerConnKiB', 'chainCpuRatio']);

export interface BenchResults {
  date?: string;
  versions?: Record<string, string>;
  parameters?: { reference?: string };
  summaries: ScenarioSummary[];
  goals: Partial<Goal>[];
}

export interface Row {
  what: string;
  old: string;
  new: string;
  /** Relative change, new ÷ old − 1 (for goals in MiB or KiB: the difference in that unit). */
  change: string;
  flag: '' | 'regression' | 'better';
  note?: string;
}

export interface Comparison {
  goals: Row[];
  ratios: Row[];
  regressions: number;
}

function percent(change: number): string {
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

/**
 * How far a figure moved in its worse direction, in units of the tolerance: > 1 is a regression,
 * < -1 an improvement. Ratios move relatively; a goal in MiB or KiB (a difference, which may be near
 * zero) moves by the tolerance times its target.
 */
function movement(oldValue: number, newValue: number, lower: boolean, tolerance: number, absoluteScale?: number): { change: string; steps: number } {
  if (absoluteScale !== undefined) {
    const delta = newValue - oldValue;
    return { change: `${delta >= 0 ? '+' : ''}${delta.toFixed(2)}`, steps: ((lower ? delta : -delta) / absoluteScale) / tolerance };
  }
  const change = oldValue === 0 ? 0 : newValue / oldValue - 1;
  return { change: percent(change), steps: (lower ? change : -change) / tolerance };
}

function flagOf(steps: number): Row['flag'] {
  return steps > 1 ? 'regression' : steps < -1 ? 'better' : '';
}

/** The number a goal's target names (`≤ 24 MiB` → 24): the scale of its absolute tolerance. */
function targetNumber(target: string | undefined): number | undefined {
  const match = /([\d.]+)/.exec(target ?? '');
  return match ? Number(match[1]) : undefined;
}

function compareGoals(older: BenchResults, newer: BenchResults, tolerance: number): Row[] {
  const key = (g: Partial<Goal>): string => g.id ?? g.goal ?? '';
  const oldGoals = new Map(older.goals.map((g) => [key(g), g]));
  return newer.goals.map((g): Row => {
    const before = oldGoals.get(key(g));
    const what = `${g.goal ?? key(g)} (${g.target ?? ''})`;
    const now = `${goalValue({ value: g.value, unit: g.unit ?? '×' })} ${g.status ?? ''}`;
    if (before?.value === undefined || g.value === undefined) {
      return { what, old: before === undefined ? 'absent' : `– ${before.status ?? ''}`, new: now, change: '–', flag: '' };
    }
    const scale = g.unit === '×' || g.unit === undefined ? undefined : targetNumber(g.target);
    const moved = movement(before.value, g.value, g.lower ?? true, tolerance, scale);
    const flip = before.status !== g.status ? `${before.status} → ${g.status}` : undefined;
    return {
      what,
      old: `${goalValue({ value: before.value, unit: before.unit ?? g.unit ?? '×' })} ${before.status ?? ''}`,
      new: now,
      change: moved.change,
      flag: g.info ? '' : flagOf(moved.steps),
      ...(flip === undefined ? {} : { note: flip }),
    };
  });
}

function compareRatios(older: BenchResults, newer: BenchResults, tolerance: number, reference: string): Row[] {
  const rows: Row[] = [];
  for (const scenario of newer.summaries) {
    const oldScenario = older.summaries.find((s) => s.scenario === scenario.scenario);
    for (const variant of scenario.variants) {
      // The reference's ratios to itself are 1× by definition.
      if (variant.variant === reference) continue;
      const oldVariant = oldScenario?.variants.find((v) => v.variant === variant.variant);
      for (const metric of columnsFor(scenario.scenario)) {
        const now = variant.ratio[metric];
        const before = oldVariant?.ratio[metric];
        if (now === undefined) continue;
        const what = `${scenario.scenario} · ${variant.variant} · ${METRICS[metric].title}`;
        if (before === undefined) {
          rows.push({ what, old: 'absent', new: `${now.toFixed(2)}×`, change: '–', flag: '' });
          continue;
        }
        const moved = movement(before, now, METRICS[metric].lower, tolerance);
        // Only exaproxy's own figures can regress through a change to this repository.
        const flag = variant.peer.startsWith('exaproxy') && FLAGGED.has(metric) ? flagOf(moved.steps) : '';
        rows.push({ what, old: `${before.toFixed(2)}×`, new: `${now.toFixed(2)}×`, change: moved.change, flag });
      }
    }
  }
  return rows;
}

export function compare(older: BenchResults, newer: BenchResults, tolerance: number, reference: string): Comparison {
  const goals = compareGoals(older, newer, tolerance);
  const ratios = compareRatios(older, newer, tolerance, reference);
  const regressions = [...goals, ...ratios].filter((r) => r.flag === 'regression').length;
  return { goals, ratios, regressions };
}

function table(title: string, rows: Row[]): string[] {
  const lines = [`### ${title}`, '', '| | old | new | change | |', '|---|---:|---:|---:|---|'];
  for (const r of rows) {
    const flag = r.flag === 'regression' ? '**regression**' : r.flag;
    lines.push(`| ${r.what} | ${r.old} | ${r.new} | ${r.change} | ${[flag, r.note ?? ''].filter(Boolean).join('; ')} |`);
  }
  return [...lines, ''];
}

export function comparisonMarkdown(c: Comparison, oldName: string, newName: string, tolerance: number, reference: string): string {
  const verdict =
    c.regressions === 0
      ? `No regression beyond ${percent(tolerance).slice(1)}.`
      : `**${c.regressions} regression(s)** beyond ${percent(tolerance).slice(1)} (exaproxy's costs and the goals only).`;
  return [
    `## bench:compare: ${oldName} → ${newName}`,
    '',
    `Ratios are taken within each run (to ${reference}, or as each goal says), so runs on different machines compare.`,
    `Tolerance ${percent(tolerance).slice(1)}: a goal, or one of exaproxy's costs (CPU, memory), is flagged when its ratio moved by more than that in its worse direction (a goal in MiB or KiB: by more than that share of its target). Throughput and latency ratios are shown, not flagged.`,
    '',
    verdict,
    '',
    ...table('Goals', c.goals),
    ...table(`Ratios to ${reference}`, c.ratios),
  ].join('\n');
}

function read(path: string): BenchResults {
  const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<BenchResults>;
  if (!Array.isArray(data.summaries) || !Array.isArray(data.goals)) throw new Error(`${path} is not a results JSON of npm run bench (no summaries or goals)`);
  return data as BenchResults;
}

function main(argv: string[]): number {
  let tolerance = 0.1;
  const files: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('--tolerance=')) {
      tolerance = Number(arg.slice('--tolerance='.length));
      if (!Number.isFinite(tolerance) || tolerance <= 0 || tolerance >= 1) {
        console.error(`npm run bench:compare: ${arg}: expected a fraction between 0 and 1 (0.1 = 10%)`);
        return 2;
      }
    } else if (arg.startsWith('--')) {
      console.error(`npm run bench:compare: unknown option "${arg}"\nusage: npm run bench:compare -- OLD.json NEW.json [--tolerance=0.1]`);
      return 2;
    } else files.push(arg);
  }
  if (files.length !== 2) {
    console.error('usage: npm run bench:compare -- OLD.json NEW.json [--tolerance=0.1]\n  (the JSON files npm run bench writes to bench/results/)');
    return 2;
  }
  let older: BenchResults;
  let newer: BenchResults;
  try {
    older = read(files[0] as string);
    newer = read(files[1] as string);
  } catch (error) {
    console.error(`npm run bench:compare: ${(error as Error).message}`);
    return 2;
  }
  const reference = newer.parameters?.reference ?? 'haproxy';
  const c = compare(older, newer, tolerance, reference);
  const name = (path: string, r: BenchResults): string => `${path.split('/').pop()}${r.versions?.exaproxy ? ` (${r.versions.exaproxy})` : ''}`;
  console.log(comparisonMarkdown(c, name(files[0] as string, older), name(files[1] as string, newer), tolerance, reference));
  return c.regressions > 0 ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
