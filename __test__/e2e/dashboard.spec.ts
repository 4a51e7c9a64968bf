// The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
// the graphs draw live figures, and the page asks nothing from anywhere but the monitor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startMonitor } from '../../src/monitor/server';
import { Stats } from '../../src/monitor/stats';
import { RecentLines } from '../../src/monitor/recent';
import { Outcome } from '../../src/log/outcome';

const CHROMIUM = '/usr/bin/chromium';

// The functions below run inside the page. This project's TypeScript has no DOM types, so the
// page's objects are typed loosely (playwright sends each function's text, so it may use nothing from this file).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Dom = any;

test('the dashboard draws live graphs, client IPs and log lines', { timeout: 60_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), 'Debian chromium is needed: apt-get install -y chromium');
  const stats = new Stats();
  const recent = new RecentLines();
  let helpersQueued = 0;
  const monitor = await startMonitor({
    host: '127.0.0.1',
    port: 0,
    stats: () => stats.snapshot(),
    pool: { stats: () => ({ size: 4, busy: 2, queue: helpersQueued, timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, minimum: 2, maximum: 8 }) },
    // The auth and external ACL helpers (auth.*, acl.*).
    helperPools: () => ({
      auth: { size: 2, busy: 1, queue: helpersQueued, timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, minimum: 1, maximum: 5 },
      acl: { size: 1, busy: 1, queue: 0, timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, minimum: 1, maximum: 5 },
    }),
    configJson: () => ({}),
    control: { resize() {}, listen() {}, debug() {} },
    recentLogs: () => recent.all(),
    log: { info() {}, warn() {}, error() {}, debug() {} },
    identifier: 'DashboardTest',
    sampleMs: 150,
  });
  stats.clientOpened('192.0.2.1');
  stats.clientOpened('192.0.2.1');
  stats.clientOpened('198.51.100.2');
  // Traffic keeps flowing while the page is open.
  let n = 0;
  const traffic = setInterval(() => {
    n++;
    stats.requestStarted(1);
    stats.decision(n % 3 === 0 ? Outcome.Deny : Outcome.Permit, 1 + (n % 7));
    stats.bytesFromClient(200);
    stats.bytesToClient(5000 + 100 * (n % 10));
    helpersQueued = n % 5;
    recent.push(`{"level":30,"msg":"request ${n}"}`);
  }, 20);

  const profile = mkdtempSync(join(tmpdir(), 'exaproxy-chromium-'));
  // A fresh profile directory each run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1500 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    const origins = new Set<string>();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${monitor.port}/`);
    await page.waitForFunction(
      () => {
        const c = (globalThis as Dom).document.getElementById('seconds-requests');
        return c !== null && Number(c.dataset.points) >= 5 && Number(c.dataset.total) > 0;
      },
      undefined,
      { timeout: 30_000 },
    );
    const first = await page.evaluate(() => Number((globalThis as Dom).document.getElementById('seconds-requests').dataset.total));
    // Live: the totals keep moving while traffic flows.
    await page.waitForFunction((before) => Number((globalThis as Dom).document.getElementById('seconds-requests').dataset.total) !== before, first, {
      timeout: 10_000,
    });

    const charts = await page.evaluate(() =>
      [...(globalThis as Dom).document.querySelectorAll('canvas')].map((c: Dom) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        // Count coloured (non-grey) pixels: the series lines, not the grid.
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
          if (a > 0 && (Math.abs(r - g) > 40 || Math.abs(g - b) > 40 || Math.abs(r - b) > 40)) coloured++;
        }
        return { id: c.id as string, points: Number(c.dataset.points), total: Number(c.dataset.total), coloured };
      }),
    );
    assert.equal(charts.length, 12, 'six graphs for the last minute and six for the last hour');
    for (const id of ['seconds-requests', 'seconds-bytes', 'seconds-connections', 'seconds-helpers', 'seconds-squid-helpers', 'seconds-decisions']) {
      const chart = charts.find((c) => c.id === id);
      assert.ok(chart && chart.points >= 5 && chart.total > 0, `${id} has live data: ${JSON.stringify(chart)}`);
      assert.ok(chart.coloured > 50, `${id} draws its series: ${JSON.stringify(chart)}`);
    }
    const minuteRequests = charts.find((c) => c.id === 'minutes-requests');
    assert.ok(minuteRequests && minuteRequests.points >= 1 && minuteRequests.total > 0, 'the hour graph shows the minute in progress');

    const clients = await page.evaluate(() =>
      [...(globalThis as Dom).document.querySelectorAll('#clients tbody tr')].map((r: Dom) => [...r.querySelectorAll('td')].map((td: Dom) => td.textContent)),
    );
    assert.deepEqual(clients, [['192.0.2.1', '2'], ['198.51.100.2', '1']]);
    const logs = await page.textContent('#logs');
    assert.match(logs ?? '', /"msg":"request \d+"/);

    const shot = join(tmpdir(), 'exaproxy-dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was saved');
    console.log(`dashboard screenshot: ${shot}`);
    assert.deepEqual([...origins], [`http://127.0.0.1:${monitor.port}`], 'nothing is loaded from elsewhere');
    assert.deepEqual(errors, [], 'no script or CSP errors');
  } finally {
    clearInterval(traffic);
    await browser.close();
    await monitor.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
