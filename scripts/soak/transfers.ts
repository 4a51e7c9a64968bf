/**
 * Transfers whose every byte is checked: CONNECT tunnels sending 1 MiB to an echo server
 * and reading it back, and uploads of 1–4 MiB that the origin answers with their sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Target } from './keepalive';
import { note, sleep, type Tally } from './tally';

const MiB = 1024 * 1024;

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Payloads made once, with their sha256, so that the soak's own CPU goes to moving bytes, not
 * to making them (on a small machine it shares the cores with the proxy it measures).
 */
const PAYLOADS = [1, 2, 3, 4].map((n) => {
  const body = randomBytes(n * MiB);
  return { body, sha: sha(body) };
});

/** One CONNECT to the echo server: 1 MiB out, the same back; resolves with whether they match. */
function tunnelOnce(proxyPort: number, echoPort: number): Promise<boolean> {
  const { body: payload, sha: sent } = PAYLOADS[0]!;
  return new Promise((resolve, reject) => {
    const s = connect(proxyPort, '127.0.0.1');
    let head = '';
    const back: Buffer[] = [];
    let open = false;
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      if (open) return void back.push(d);
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.startsWith('HTTP/1.1 200 ')) return reject(new Error(`CONNECT answered ${head.slice(0, 40)}`));
      open = true;
      if (head.length > end + 4) back.push(Buffer.from(head.slice(end + 4), 'latin1'));
      s.end(payload);
    });
    s.on('close', () => (open ? resolve(sha(Buffer.concat(back)) === sent) : reject(new Error('closed before the tunnel opened'))));
    s.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\n\r\n`);
  });
}

/** One upload of 1–4 MiB; resolves with whether the origin's sha256 is ours. */
function uploadOnce(t: Target): Promise<boolean> {
  const { body, sha: sent } = PAYLOADS[Math.floor(Math.random() * PAYLOADS.length)]!;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: t.proxyPort,
        method: 'POST',
        path: `http://127.0.0.1:${t.originPort}/upload`,
        headers: { host: `127.0.0.1:${t.originPort}`, 'content-length': body.length },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(text === `${body.length} ${sent}`) : reject(new Error(`upload answered ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function repeat(what: 'tunnel' | 'upload', once: () => Promise<boolean>, tally: Tally, running: () => boolean): Promise<void> {
  while (running()) {
    try {
      if (await once()) {
        if (what === 'tunnel') tally.tunnelsOk++;
        else tally.uploadsOk++;
      } else {
        tally.checksumMismatches++;
        note(tally, `${what}: sha256 differs`);
      }
    } catch (e) {
      tally.transferFailures++;
      note(tally, `${what}: ${(e as Error).message}`);
    }
    // Bounded: about 2.5 MiB a second per loop. The soak looks for leaks and stalls over time
    // under hostile connections, not for throughput (npm run bench does that): a harness that
    // saturates the cores would measure its own queueing in the latency verdict.
    await sleep(1000);
  }
}

export function transfers(t: Target, echoPort: number, tunnels: number, uploads: number, tally: Tally, running: () => boolean): Promise<void> {
  const all = [
    ...Array.from({ length: tunnels }, () => repeat('tunnel', () => tunnelOnce(t.proxyPort, echoPort), tally, running)),
    ...Array.from({ length: uploads }, () => repeat('upload', () => uploadOnce(t), tally, running)),
  ];
  return Promise.all(all).then(() => undefined);
}

/** Kills one helper process (SIGKILL) every `everyS` seconds: the pool must replace it. */
export async function killHelpers(helpers: () => number[], everyS: number, tally: Tally, running: () => boolean): Promise<void> {
  if (everyS <= 0) return;
  for (let next = Date.now() + everyS * 1000; running(); await sleep(200)) {
    if (Date.now() < next) continue;
    next += everyS * 1000;
    const [victim] = helpers();
    if (victim === undefined) continue;
    try {
      process.kill(victim, 'SIGKILL');
      tally.helperKills++;
    } catch {
      // it exited on its own meanwhile
    }
  }
}
