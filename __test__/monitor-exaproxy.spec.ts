// The monitor of a real exaproxy with two workers: its figures add up both workers, follow
// the traffic, and its control actions reach the data path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { freePort, until } from './helpers/net';

const root = resolve(__dirname, '..');
let origin: Server;
let proxy: ChildProcess | undefined;

/** curl, asynchronously: the origin server lives in this process. */
function curl(args: string[]): Promise<{ status: number; stdout: string }> {
  return new Promise((res) => {
    execFile('curl', ['-s', '--max-time', '5', ...args], { encoding: 'utf8' }, (err, stdout) => {
      res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

before(async () => {
  origin = createServer((req, res) => res.end(`origin ${req.url}\n`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  const build = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run build:ts failed:\n${build.stdout}${build.stderr}`);
});

after(async () => {
  if (proxy && proxy.exitCode === null) proxy.kill('SIGKILL');
  await new Promise<void>((r) => origin.close(() => r()));
});

test('two workers: the monitor adds them up, follows the traffic, and controls listening', { timeout: 90_000 }, async () => {
  const originPort = (origin.address() as AddressInfo).port;
  const port = await freePort();
  const web = await freePort();
  let out = '';
  proxy = spawn(
    process.execPath,
    ['bin/exaproxy.js', `--tcp4.port=${port}`, `--web.port=${web}`, '--web.token=s3cret', '--daemon.workers=2', `--security.local=127.0.0.1:${originPort}`],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proxy.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proxy.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proxy?.on('exit', (code) => r(code)));
  const output = (): string => out;
  await until(() => out.includes(`listening on 127.0.0.1:${port}`) || proxy?.exitCode !== null, 'exaproxy', output);
  assert.equal(proxy.exitCode, null, out);
  const monitor = `http://127.0.0.1:${web}`;
  await until(async () => (await fetch(`${monitor}/metrics`).catch(() => null))?.ok === true, 'monitor', output);

  for (let n = 0; n < 10; n++) {
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${originPort}/n${n}`]);
    assert.equal(r.stdout, `origin /n${n}\n`);
  }
  // Workers report once a second.
  let metrics = '';
  await until(async () => {
    metrics = await (await fetch(`${monitor}/metrics`)).text();
    return metric(metrics, 'exaproxy_requests_total{method="GET"}') === 10 && metric(metrics, 'exaproxy_client_connections') === 0;
  }, 'ten requests counted and every connection closed', () => `${output()}\n${metrics}`);
  assert.equal(metric(metrics, 'exaproxy_processes'), 3, 'primary and two workers');
  assert.equal(metric(metrics, 'exaproxy_responses_total{class="2xx"}'), 10);
  assert.equal(metric(metrics, 'exaproxy_client_connections_total'), 10);
  assert.ok(metric(metrics, 'exaproxy_client_sent_bytes_total{family="ipv4"}') > 10 * 'origin /nX\n'.length);
  assert.ok(metric(metrics, 'exaproxy_upstream_received_bytes_total') > 0);
  const running = (await (await fetch(`${monitor}/json/running`)).json()) as Record<string, number>;
  assert.equal(running['clients.requests'], 10);
  assert.equal(running['clients.speaking'], 0);

  assert.equal((await fetch(`${monitor}/control/listen?on=false`)).status, 405, 'GET is refused');
  assert.equal((await fetch(`${monitor}/control/listen?on=false`, { method: 'POST' })).status, 403, 'no token');
  const auth = { authorization: 'Bearer s3cret' };
  assert.equal((await fetch(`${monitor}/control/listen?on=false`, { method: 'POST', headers: auth })).status, 200);
  await until(async () => (await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${originPort}/off`])).status !== 0, 'no longer served', output);
  assert.equal((await fetch(`${monitor}/control/listen?on=true`, { method: 'POST', headers: auth })).status, 200);
  await until(async () => (await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${originPort}/on`])).stdout === 'origin /on\n', 'served again', output);

  proxy.kill('SIGTERM');
  assert.equal(await exited, 0, out);
});
