/**
 * The connection limit of a real exaproxy: derived from the open-file limit (under prlimit),
 * shared by the workers, and its waiting queue bounded in size and in time (http.idle-connect).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { ROOT, startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, rawConnect, readUntil, startOrigin, until, type Origin } from '../helpers/net';

let origin: Origin;
before(async () => {
  origin = await startOrigin((_req, res) => {
    res.setHeader('content-length', '3');
    res.end('ok\n');
    return true;
  });
});
after(async () => {
  await origin?.close();
});

/** exaproxy started through `prefix` (e.g. prlimit), with the same arguments as startExaproxy. */
async function startUnder(prefix: string[], args: string[]): Promise<RunningExaproxy> {
  const child = spawn(prefix[0], [...prefix.slice(1), process.execPath, '--import', 'tsx', join(ROOT, '__test__', 'helpers', 'cli-main.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until(() => /listening on [^\n]*:\d+/.test(out) || child.exitCode !== null, 'exaproxy listening', () => out + err);
  assert.equal(child.exitCode, null, out + err);
  const port = Number(/listening on [^\n]*?:(\d+)/.exec(out)![1]);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

const request = (path: string, close = false): string =>
  `GET http://127.0.0.1:${origin.port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

/** Sends a keep-alive request on `s` and resolves with the whole response. */
async function ask(s: Socket, path: string): Promise<string> {
  const reply = readUntil(s, (t) => /\r\n\r\n[\s\S]*ok\n$/.test(t) || t.startsWith('HTTP/1.1 5'));
  s.write(request(path));
  return reply;
}

/** Everything a socket receives from now on, and whether it was closed. */
function watch(s: Socket): { text: () => string; closed: () => boolean } {
  let text = '';
  let closed = false;
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  return { text: () => text, closed: () => closed };
}

test('at the open-file limit the worker survives, serves what fits, refuses the rest, and says so in one line', { timeout: 90_000 }, async () => {
  const proxy = await startUnder(['prlimit', '--nofile=256:256'], testArgs(['--tcp4.backlog=8', '--tcp6.backlog=8', '--http.header-timeout=0', `--security.local=127.0.0.1:${origin.port}`]));
  const sockets: Socket[] = [];
  try {
    const line = /exaproxy: http\.connections=32768 needs \d+ open files per worker but the limit \(RLIMIT_NOFILE\) is 256, so it serves at most (\d+) connections at once; raise it \(ulimit -n \d+/.exec(proxy.stderr());
    assert.ok(line, proxy.stderr());
    assert.equal(proxy.stderr().split('\n').filter((l) => l.includes('RLIMIT_NOFILE')).length, 1, 'one line');
    const served = Number(line[1]);
    assert.ok(served > 10 && served < 128, `${served}`);

    const kept = await rawConnect(proxy.port);
    sockets.push(kept);
    assert.match(await ask(kept, '/first'), /^HTTP\/1\.1 200 /);
    // More clients than descriptors: before the fix, accept() hit EMFILE and the statistics
    // timer's memoryUsage.rss() threw, which ended the worker and every connection it held.
    const flood: ReturnType<typeof watch>[] = [];
    for (let i = 0; i < 300; i++) {
      const s = await rawConnect(proxy.port).catch(() => undefined);
      if (s === undefined) continue;
      sockets.push(s);
      flood.push(watch(s));
    }
    const refused = (): number => flood.filter((f) => f.closed()).length;
    // Its share served (the kept connection is one), eight waiting (tcp4.backlog), the rest refused.
    const over = 300 - (served - 1) - 8;
    await until(() => refused() >= over, 'the clients over the limit refused', () => `${refused()} refused\n${proxy.stderr()}`);
    assert.ok(flood.filter((f) => f.closed()).every((f) => f.text() === '' || f.text().startsWith('HTTP/1.1 503 ')), 'a 503 or nothing');
    assert.ok(flood.some((f) => /^HTTP\/1\.1 503 [\s\S]*as many clients/.test(f.text())), 'the refusal says why');
    // Wait past a statistics report (once a second) at the limit.
    await new Promise((r) => setTimeout(r, 1500));
    assert.match(await ask(kept, '/second'), /^HTTP\/1\.1 200 /, 'the existing keep-alive connection still gets answers');
    assert.equal(refused(), over, 'no other client refused or closed');
    assert.doesNotMatch(proxy.stdout() + proxy.stderr(), /died/);
  } finally {
    for (const s of sockets) s.destroy();
    await proxy.stop();
  }
});

test('at most tcp4.backlog clients wait at the connection limit; the next ones get a 503 at once', { timeout: 60_000 }, async () => {
  const proxy = await startExaproxy(testArgs(['--http.connections=1', '--tcp4.backlog=2', '--tcp6.backlog=2', `--security.local=127.0.0.1:${origin.port}`]));
  const sockets: Socket[] = [];
  try {
    const kept = await rawConnect(proxy.port);
    sockets.push(kept);
    assert.match(await ask(kept, '/kept'), /^HTTP\/1\.1 200 /);
    const waiting = [await rawConnect(proxy.port), await rawConnect(proxy.port)];
    sockets.push(...waiting);
    const seen = waiting.map(watch);
    for (const s of waiting) s.write(request('/waiting', true));
    const over = await rawConnect(proxy.port);
    sockets.push(over);
    const refusal = await readUntil(over, () => false);
    assert.match(refusal, /^HTTP\/1\.1 503 [\s\S]*Connection: close[\s\S]*as many clients/);
    assert.deepEqual(seen.map((w) => w.text()), ['', ''], 'the waiting clients are not refused');
    kept.destroy();
    await until(() => seen.every((w) => w.text().startsWith('HTTP/1.1 200 ')), 'the waiting clients served once a connection closed');
  } finally {
    for (const s of sockets) s.destroy();
    await proxy.stop();
  }
});

test('a client waiting at the connection limit gets a 503 after http.idle-connect', { timeout: 60_000 }, async () => {
  const proxy = await startExaproxy(testArgs(['--http.connections=1', '--http.idle-connect=1', `--security.local=127.0.0.1:${origin.port}`]));
  const sockets: Socket[] = [];
  try {
    const kept = await rawConnect(proxy.port);
    sockets.push(kept);
    assert.match(await ask(kept, '/kept'), /^HTTP\/1\.1 200 /);
    const waiting = await rawConnect(proxy.port);
    sockets.push(waiting);
    const reply = readUntil(waiting, () => false, 20_000);
    waiting.write(request('/waiting'));
    assert.match(await reply, /^HTTP\/1\.1 503 [\s\S]*http\.idle-connect/);
    assert.match(await ask(kept, '/still'), /^HTTP\/1\.1 200 /, 'the served client is untouched');
  } finally {
    for (const s of sockets) s.destroy();
    await proxy.stop();
  }
});

test('http.connections is the limit of the whole proxy: two workers never serve more together', { timeout: 90_000 }, async () => {
  // The origin holds every request until none has arrived for a while, then answers the
  // oldest: the number held at once is the number of clients the proxy serves at once.
  const held: ServerResponse[] = [];
  let most = 0;
  let last = Date.now();
  const slow = await startOrigin((_req, res) => {
    held.push(res);
    last = Date.now();
    most = Math.max(most, held.length);
    return true;
  });
  const release = setInterval(() => {
    if (held.length > 0 && Date.now() - last > 300) {
      held.shift()!.end('ok\n');
      last = Date.now();
    }
  }, 50);
  const proxy = await startExaproxy(testArgs(['--daemon.workers=2', '--http.connections=4', `--security.local=127.0.0.1:${slow.port}`]));
  try {
    const clients = Array.from({ length: 12 }, (_, i) => curl(['-x', proxy.url, '--max-time', '60', `http://127.0.0.1:${slow.port}/c${i}`]));
    const results = await Promise.all(clients);
    assert.deepEqual(results.map((r) => r.stdout), Array(12).fill('ok\n'), 'every client served in the end');
    assert.ok(most <= 4, `${most} clients served at once with http.connections=4`);
    assert.ok(most >= 2, `${most}: at least a worker's share served at once`);
  } finally {
    clearInterval(release);
    await proxy.stop();
    await slow.close();
  }
});
