// The dashboard page: self-contained HTML, inline CSS and JS that draw on <canvas>. It loads
// nothing from elsewhere (the CSP header in server.ts enforces it) and polls /json/dashboard.

export function dashboardPage(nonce: string, identifier: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(identifier)} monitor</title>
<style nonce="${nonce}">
body { font: 14px system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 6px; }
figcaption { font-weight: 600; font-size: .9em; display: flex; justify-content: space-between; }
figcaption output { font-weight: 400; color: #555; }
canvas { width: 100%; height: 140px; display: block; }
.legend span { margin-right: .8em; font-size: .8em; } .legend i { display: inline-block; width: .8em; height: .8em; margin-right: .2em; }
table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
pre { background: #111; color: #ddd; padding: 8px; max-height: 320px; overflow: auto; font-size: 12px; }
#status { color: #777; font-size: .85em; }
</style>
</head>
<body>
<h1>${escapeHtml(identifier)}</h1>
<div id="status">connecting…</div>
<h2>Last minute, per second</h2>
<div class="grid" id="seconds"></div>
<h2>Last hour, per minute</h2>
<div class="grid" id="minutes"></div>
<h2>Connections per client IP</h2>
<table id="clients"><thead><tr><th>client</th><th>connections</th></tr></thead><tbody></tbody></table>
<h2>Recent log lines</h2>
<pre id="logs"></pre>
<script nonce="${nonce}">
'use strict';
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const CHARTS = [
  { id: 'requests', title: 'Requests', series: [['requests', 'requests']] },
  { id: 'bytes', title: 'Bytes', series: [['bytesIn', 'in'], ['bytesOut', 'out']] },
  { id: 'connections', title: 'Connections', gauge: true, series: [['clients', 'clients'], ['upstreams', 'upstream']] },
  { id: 'helpers', title: 'Helper queue', gauge: true, series: [['queue', 'queued'], ['busy', 'busy']] },
  { id: 'squid-helpers', title: 'Auth and ACL helpers', gauge: true, series: [['authQueue', 'auth queued'], ['authBusy', 'auth busy'], ['aclQueue', 'acl queued'], ['aclBusy', 'acl busy']] },
  { id: 'decisions', title: 'Decisions', series: 'decisions' },
];

function build(containerId, period) {
  const box = document.getElementById(containerId);
  for (const c of CHARTS) {
    const fig = document.createElement('figure');
    fig.innerHTML = '<figcaption><span>' + c.title + '</span><output></output></figcaption><canvas width="660" height="280"></canvas><div class="legend"></div>';
    const canvas = fig.querySelector('canvas');
    canvas.id = period + '-' + c.id;
    canvas.dataset.points = '0';
    box.appendChild(fig);
  }
}

function seriesOf(chart, decisions) {
  if (chart.series !== 'decisions') return chart.series.map(([key, label]) => ({ label, value: (p) => p[key] }));
  return decisions.map((label, i) => ({ label, value: (p) => p.decisions[i] }));
}

function human(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n * 10) / 10);
}

function draw(canvas, points, series, gauge) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, left = 56, bottom = 18, top = 10;
  ctx.clearRect(0, 0, w, h);
  let max = 1;
  for (const p of points) for (const s of series) max = Math.max(max, s.value(p));
  ctx.strokeStyle = '#ccc'; ctx.fillStyle = '#666'; ctx.font = '16px sans-serif'; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + (h - top - bottom) * i / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w, y); ctx.stroke();
    ctx.fillText(human(max * (4 - i) / 4), 2, y + 5);
  }
  const step = (w - left) / 59;
  series.forEach((s, k) => {
    ctx.strokeStyle = COLORS[k % COLORS.length]; ctx.lineWidth = 3; ctx.beginPath();
    points.forEach((p, i) => {
      const x = left + step * (60 - points.length + i);
      const y = top + (h - top - bottom) * (1 - s.value(p) / max);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      // A lone point (the first minute) would draw nothing as a line.
      if (points.length === 1) { ctx.fillStyle = ctx.strokeStyle; ctx.fillRect(x - 4, y - 4, 8, 8); }
    });
    ctx.stroke();
  });
  canvas.dataset.points = String(points.length);
  canvas.dataset.max = String(max);
  const legend = canvas.parentElement.querySelector('.legend');
  legend.innerHTML = '';
  series.forEach((s, k) => {
    const span = document.createElement('span');
    const last = points.length ? s.value(points[points.length - 1]) : 0;
    const swatch = document.createElement('i');
    swatch.style.background = COLORS[k % COLORS.length];
    span.append(swatch, s.label + ' ' + human(last));
    legend.appendChild(span);
  });
  let total = 0;
  for (const p of points) for (const s of series) total += s.value(p);
  // Counts add up over the window; levels (connections, queue) are shown as they are now.
  const now = points.length ? series.reduce((sum, s) => sum + s.value(points[points.length - 1]), 0) : 0;
  canvas.parentElement.querySelector('output').textContent = gauge ? 'now ' + human(now) : 'total ' + human(total);
  canvas.dataset.total = String(total);
}

function render(data) {
  const h = data.history;
  const minutes = h.minutes.concat(h.minuteInProgress ? [h.minuteInProgress] : []);
  for (const c of CHARTS) {
    const series = seriesOf(c, h.decisions);
    draw(document.getElementById('seconds-' + c.id), h.seconds, series, c.gauge);
    draw(document.getElementById('minutes-' + c.id), minutes, series, c.gauge);
  }
  const body = document.querySelector('#clients tbody');
  body.innerHTML = '';
  for (const [ip, n] of Object.entries(data.clients).sort((a, b) => b[1] - a[1])) {
    const tr = document.createElement('tr');
    const a = document.createElement('td'); a.textContent = ip;
    const b = document.createElement('td'); b.textContent = String(n);
    tr.append(a, b); body.appendChild(tr);
  }
  const pre = document.getElementById('logs');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = data.logs.join('\\n');
  // Follow the newest lines, unless the reader scrolled up to read older ones.
  if (atBottom) pre.scrollTop = pre.scrollHeight;
  document.getElementById('status').textContent = 'updated ' + new Date(data.time).toLocaleTimeString() + ' · ' + data.processes + ' process(es)';
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function poll() {
  try {
    const response = await fetch('/json/dashboard', { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    render(await response.json());
  } catch (e) {
    document.getElementById('status').textContent = 'monitor unreachable: ' + e.message;
  }
  setTimeout(poll, 1000);
}

build('seconds', 'seconds');
build('minutes', 'minutes');
poll();
</script>
</body>
</html>
`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
