/**
 * SIGHUP on the real command: every worker is replaced while requests keep flowing, no
 * request fails, and a WebSocket opened before the reload keeps working (its old worker
 * drains instead of dropping it).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { rawConnect, readUntil, startOrigin, type Origin } from '../helpers/net';
import { echoWebSockets, frame, unframe } from '../helpers/websocket';

let origin: Origin;
let proxy: RunningExaproxy;

before(async () => {
  origin = await startOrigin();
  echoWebSockets(origin.server);
  proxy = await startExaproxy(
    testArgs(['--daemon.workers=2', '--log.level=INFO', `--security.local=127.0.0.1:${origin.port}`]),
  );
});
after(async () => {
  await proxy?.stop();
  await origin?.close();
});

/** One GET through the proxy on a new connection; resolves with the status (0 on error). */
function get(path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${origin.port}${path}`, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

test('SIGHUP replaces the workers under load: no request fails, an open WebSocket stays alive', { timeout: 90_000 }, async () => {
  // A WebSocket through the proxy, before the reload.
  const ws = await rawConnect(proxy.port);
  const handshake = readUntil(ws, (t) => t.includes('\r\n\r\n'));
  ws.write(
    `GET http://127.0.0.1:${origin.port}/ws HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: Upgrade\r\n` +
      'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.match(await handshake, /^HTTP\/1\.1 101 /);
  let pending = Buffer.alloc(0);
  const echoes: string[] = [];
  ws.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    let f;
    while ((f = unframe(pending))) {
      pending = pending.subarray(f.size);
      echoes.push(f.payload.toString());
    }
  });
  const echo = async (text: string): Promise<void> => {
    ws.write(frame(Buffer.from(text), true));
    const deadline = Date.now() + 5000;
    while (!echoes.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(echoes.includes(text), `the WebSocket echoed "${text}"`);
  };
  await echo('before');

  // Load: requests one after another on fresh connections, all through the reload.
  let running = true;
  const statuses: number[] = [];
  const load = (async () => {
    while (running) statuses.push(await get(`/load/${statuses.length}`));
  })();
  await new Promise((r) => setTimeout(r, 500));

  const readyBefore = (proxy.stdout().match(/ready \(generation 2\)/g) ?? []).length;
  proxy.child.kill('SIGHUP');
  const deadline = Date.now() + 30_000;
  while ((proxy.stdout().match(/ready \(generation 2\)/g) ?? []).length < readyBefore + 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((proxy.stdout().match(/ready \(generation 2\)/g) ?? []).length, 2, 'both new workers are ready');
  await new Promise((r) => setTimeout(r, 500));
  running = false;
  await load;

  assert.ok(statuses.length > 20, `requests kept flowing (${statuses.length})`);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'no request failed across the reload',
  );
  await echo('after the reload');
  ws.destroy();
});
