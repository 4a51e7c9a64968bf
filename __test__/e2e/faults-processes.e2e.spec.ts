/**
 * Process faults (issue 15) on the real command with daemon.workers=2: a worker killed with
 * SIGKILL under load (its clients see closed connections, the other worker's clients see
 * nothing, the primary starts a replacement), and SIGHUP in the middle of 100 MB transfers
 * both ways (both complete, sha256 equal).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { rawConnect, startOrigin, until, type Origin } from '../helpers/net';

let origin: Origin;
let proxy: RunningExaproxy;
const MB = 1024 * 1024;
const BLOCK = createHash('sha512').update('exaproxy').digest().toString('hex').repeat(512).slice(0, 64 * 1024);

before(async () => {
  origin = await startOrigin((req, res, body) => {
    if (req.url === '/download') {
      res.writeHead(200, { 'content-length': 100 * MB });
      let left = 100 * MB / BLOCK.length;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(BLOCK, 'latin1')) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return true;
    }
    if (req.url === '/upload') {
      res.end(`${body.length} ${createHash('sha256').update(body).digest('hex')}`);
      return true;
    }
    return false;
  });
  proxy = await startExaproxy(testArgs(['--daemon.workers=2', '--log.level=INFO', `--security.local=127.0.0.1:${origin.port}`]));
});
after(async () => {
  await proxy?.stop();
  await origin?.close();
});

function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The worker whose socket is the proxy's end of the client connection `s`. */
function workerOf(s: Socket, workers: number[]): number | undefined {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/tcp', 'utf8').split('\n')
    .find((l) => l.includes(`0100007F:${hex(proxy.port)} 0100007F:${hex(s.localPort!)}`));
  const inode = line?.trim().split(/\s+/)[9];
  return workers.find((pid) => readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
    } catch {
      return false; // closed meanwhile
    }
  }));
}

/** A keep-alive client asking again and again until `stop()`; counts answers and notes how it ended. */
function keepAsking(s: Socket): { answers: () => number; ended: () => string | null; stop: () => void } {
  let answers = 0;
  let ended: string | null = null;
  let running = true;
  let pending = '';
  const ask = (): void => {
    if (running) s.write(`GET http://127.0.0.1:${origin.port}/k HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
  };
  s.on('data', (d: Buffer) => {
    pending += d.toString('latin1');
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      const length = Number(/\r\nContent-Length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? -1);
      if (end < 0 || length < 0 || pending.length < end + 4 + length) return;
      if (!pending.startsWith('HTTP/1.1 200 ')) ended ??= `status ${pending.slice(9, 12)}`;
      pending = pending.slice(end + 4 + length);
      answers++;
      ask();
    }
  });
  s.on('error', (e) => (ended ??= (e as NodeJS.ErrnoException).code ?? 'error'));
  s.on('close', () => (ended ??= pending === '' ? 'closed between answers' : 'closed mid-answer'));
  ask();
  return { answers: () => answers, ended: () => ended, stop: () => (running = false) };
}

describe('a worker killed with SIGKILL under load', () => {
  test("its clients' connections close; the other worker's clients are unaffected; a replacement starts", { timeout: 90_000 }, async () => {
    const workers = children(proxy.child.pid!);
    assert.equal(workers.length, 2);
    const sockets = await Promise.all(Array.from({ length: 16 }, () => rawConnect(proxy.port)));
    const clients = sockets.map((s) => ({ s, load: keepAsking(s), worker: 0 }));
    await until(() => clients.every((c) => c.load.answers() > 0), 'every client answered');
    for (const c of clients) c.worker = workerOf(c.s, workers) ?? 0;
    const [victim, survivor] = workers as [number, number];
    const ofVictim = clients.filter((c) => c.worker === victim);
    const ofSurvivor = clients.filter((c) => c.worker === survivor);
    assert.ok(ofVictim.length > 0 && ofSurvivor.length > 0, `connections on both workers: ${clients.map((c) => c.worker).join(' ')}`);

    process.kill(victim, 'SIGKILL');
    await until(() => ofVictim.every((c) => c.load.ended() !== null), "the killed worker's connections closed");
    const before = ofSurvivor.map((c) => c.load.answers());
    await until(() => ofSurvivor.every((c, i) => c.load.answers() > before[i]! + 20), 'the other clients went on');
    for (const c of clients) c.load.stop();
    assert.deepEqual(ofSurvivor.map((c) => c.load.ended()), ofSurvivor.map(() => null), 'no client of the other worker saw an error');
    // A killed worker's client sees its connection close, between answers or in one: a reset
    // or a FIN, never a wrong status.
    for (const c of ofVictim) assert.match(c.load.ended()!, /^(closed|ECONNRESET)/);

    await until(() => children(proxy.child.pid!).length === 2, 'a replacement worker', () => proxy.stdout());
    assert.match(proxy.stdout(), new RegExp(`worker ${victim} died \\(SIGKILL\\); starting a replacement`));
    for (const s of sockets) s.destroy();
    const fresh = await Promise.all(Array.from({ length: 10 }, () => rawConnect(proxy.port)));
    const loads = fresh.map((s) => keepAsking(s));
    await until(() => loads.every((l) => l.answers() > 2), 'new clients served');
    for (const l of loads) l.stop();
    assert.deepEqual(loads.map((l) => l.ended()), loads.map(() => null));
    for (const s of fresh) s.destroy();
  });
});

describe('SIGHUP in the middle of 100 MB transfers', () => {
  test('a download and an upload both complete, sha256 equal', { timeout: 120_000 }, async () => {
    // Both transfers hold still after their first 8 MB until the new workers are ready, so the
    // reload surely lands in the middle of them.
    let reloaded!: () => void;
    const reload = new Promise<void>((resolve) => (reloaded = resolve));
    const expected = createHash('sha256');
    for (let i = 0; i < 100 * MB / BLOCK.length; i++) expected.update(BLOCK, 'latin1');
    const download = new Promise<{ bytes: number; sha: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${origin.port}/download` }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          hash.update(d);
          bytes += d.length;
          if (bytes >= 8 * MB && bytes - d.length < 8 * MB) {
            res.pause();
            void reload.then(() => res.resume());
          }
        });
        res.on('end', () => resolve({ bytes, sha: hash.digest('hex') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const sent = createHash('sha256');
    const upload = new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: proxy.port, method: 'POST', path: `http://127.0.0.1:${origin.port}/upload`, headers: { 'content-length': 100 * MB } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      let left = 100 * MB / BLOCK.length;
      const pump = (): void => {
        while (left > 0) {
          left--;
          const block = Buffer.from(BLOCK.replace(/^./, String(left % 10)), 'latin1');
          sent.update(block);
          const waiting = left === 100 * MB / BLOCK.length - 128; // after 8 MB
          if (!req.write(block) || waiting) return void (waiting ? reload.then(pump) : req.once('drain', pump));
        }
        req.end();
      };
      pump();
    });
    let finished = false;
    const both = Promise.all([download, upload]).finally(() => (finished = true));
    const ready = (): number => (proxy.stdout().match(/ready \(generation \d+\)/g) ?? []).length;
    const readyBefore = ready();
    proxy.child.kill('SIGHUP');
    for (const deadline = Date.now() + 60_000; ready() < readyBefore + 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ready() >= readyBefore + 2, `the new workers are ready:\n${proxy.stdout()}`);
    assert.ok(!finished, 'the transfers were still going when the reload was done');
    reloaded();
    const [down, up] = await both;
    assert.equal(down.bytes, 100 * MB);
    assert.equal(down.sha, expected.digest('hex'));
    assert.equal(up, `${100 * MB} ${sent.digest('hex')}`);
  });
});
