/**
 * The soak's chart: one small line plot per series against time, stacked, in one SVG.
 */
import type { Sample } from './sampler';

const SERIES: { key: keyof Sample; label: string; color: string }[] = [
  { key: 'rssMiB', label: 'RSS of primary + workers (MiB)', color: '#1f77b4' },
  { key: 'fds', label: 'open files of primary + workers', color: '#ff7f0e' },
  { key: 'loopDelayMs', label: 'event-loop delay, worst in the second (ms)', color: '#2ca02c' },
  { key: 'clientLoopDelayMs', label: "the soak's own event-loop delay (ms)", color: '#9467bd' },
  { key: 'p99Ms', label: 'keep-alive p99 latency in the second (ms)', color: '#d62728' },
];
const WIDTH = 760;
const PLOT = 110;
const GAP = 40;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

export function soakChart(samples: Sample[], title: string, warmupS: number): string {
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const x = (t: number): number => 60 + (t / tMax) * (WIDTH - 80);
  const parts: string[] = [`<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`];
  SERIES.forEach(({ key, label, color }, i) => {
    const top = 40 + i * (PLOT + GAP);
    const values = samples.map((s) => Number(s[key])).filter(Number.isFinite);
    const max = Math.max(1, ...values) * 1.1;
    const y = (v: number): number => top + PLOT - (v / max) * PLOT;
    const points = samples
      .filter((s) => Number.isFinite(Number(s[key])))
      .map((s) => `${x(s.t).toFixed(1)},${y(Number(s[key])).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<text x="60" y="${top - 6}" font-size="12">${escape(label)}</text>`,
      `<rect x="60" y="${top}" width="${WIDTH - 80}" height="${PLOT}" fill="none" stroke="#ccc"/>`,
      `<line x1="${x(warmupS)}" y1="${top}" x2="${x(warmupS)}" y2="${top + PLOT}" stroke="#999" stroke-dasharray="4 3"/>`,
      `<text x="55" y="${top + 10}" font-size="10" text-anchor="end">${max.toFixed(0)}</text>`,
      `<text x="55" y="${top + PLOT}" font-size="10" text-anchor="end">0</text>`,
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"/>`,
    );
  });
  const height = 40 + SERIES.length * (PLOT + GAP);
  parts.push(`<text x="${WIDTH - 20}" y="${height - 15}" font-size="10" text-anchor="end">seconds (dashed: end of warm-up)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
