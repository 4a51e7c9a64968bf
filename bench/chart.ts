// An SVG bar chart of each peer's cost relative to the reference, one panel row per scenario: the
// figure that matters for that scenario (CPU per request, CPU per MiB, RSS per idle connection…)
// divided by the reference's in the same round. 1× is the reference; left of it is cheaper.
import type { Metric, ScenarioSummary } from './report';

/** Which ratio is drawn for each scenario. */
const CHARTED: Record<string, { metric: Metric; label: string; raw?: boolean }> = {
  small: { metric: 'cpuUsPerReq', label: 'CPU per request' },
  close: { metric: 'cpuUsPerReq', label: 'CPU per request' },
  helper: { metric: 'cpuUsPerReq', label: 'CPU per request' },
  '100k': { metric: 'cpuMsPerMiB', label: 'CPU per MiB' },
  '1m': { metric: 'cpuMsPerMiB', label: 'CPU per MiB' },
  connect: { metric: 'cpuMsPerMiB', label: 'CPU per MiB' },
  // Already a ratio to HAProxy (the front one, on the same traffic): drawn as it is.
  chain: { metric: 'chainCpuRatio', label: 'CPU ÷ front HAProxy', raw: true },
  idle: { metric: 'rssPerConnKiB', label: 'RSS per idle connection' },
};

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function chartSvg(summaries: ScenarioSummary[], reference: string, title: string): string {
  const rows: { scenario: string; label: string; bars: { variant: string; peer: string; ratio: number }[] }[] = [];
  for (const s of summaries) {
    const charted = CHARTED[s.scenario];
    if (charted === undefined) continue;
    const bars = s.variants.flatMap((v) => {
      const r = charted.raw ? v.median[charted.metric] : v.ratio[charted.metric];
      return r === undefined ? [] : [{ variant: v.variant, peer: v.peer, ratio: r }];
    });
    if (bars.length > 0) rows.push({ scenario: s.scenario, label: charted.label, bars });
  }
  // One colour per peer, so that exaproxy+url and exaproxy read as the same program.
  const peers = [...new Set(rows.flatMap((r) => r.bars.map((b) => b.peer)))];
  const color = (peer: string): string => COLORS[peers.indexOf(peer) % COLORS.length] as string;
  const barHeight = 14;
  const left = 280;
  const width = 960;
  const plotWidth = width - left - 90;
  // Past 8× the bars are clipped (and labelled with their value), so that the interesting range stays readable.
  const maxRatio = Math.min(8, Math.max(2, ...rows.flatMap((r) => r.bars.map((b) => b.ratio))));
  const x = (ratio: number): number => left + (Math.min(ratio, maxRatio) / maxRatio) * plotWidth;
  const parts: string[] = [];
  let y = 50;
  for (const row of rows) {
    parts.push(`<text x="10" y="${y + 12}" font-weight="bold">${escape(row.scenario)}</text>`);
    parts.push(`<text x="10" y="${y + 27}" font-size="11" fill="#555">${escape(row.label)}</text>`);
    for (const bar of row.bars) {
      parts.push(`<text x="${left - 6}" y="${y + barHeight - 3}" text-anchor="end" font-size="12">${escape(bar.variant)}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${(x(bar.ratio) - left).toFixed(1)}" height="${barHeight - 2}" fill="${color(bar.peer)}"/>`);
      const clipped = bar.ratio > maxRatio ? ' ▸' : '';
      parts.push(`<text x="${(x(bar.ratio) + 4).toFixed(1)}" y="${y + barHeight - 3}" font-size="11">${bar.ratio.toFixed(2)}×${clipped}</text>`);
      y += barHeight;
    }
    y += 14;
  }
  const height = y + 30;
  const grid: string[] = [];
  for (let tick = 0; tick <= maxRatio; tick += maxRatio > 4 ? 1 : 0.5) {
    const gx = x(tick).toFixed(1);
    grid.push(`<line x1="${gx}" y1="40" x2="${gx}" y2="${y}" stroke="${tick === 1 ? '#000' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    grid.push(`<text x="${gx}" y="${y + 16}" text-anchor="middle" font-size="11">${tick}×</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="15" font-weight="bold">${escape(title)}</text>
<text x="10" y="38" font-size="11" fill="#555">ratio to ${escape(reference)} in the same round (median of rounds), lower is better</text>
${grid.join('\n')}
${parts.join('\n')}
</svg>
`;
}
