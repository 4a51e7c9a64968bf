/**
 * The legitimate load: keep-alive connections asking for a small document at a bounded
 * rate, each answer timed. A failure (a status other than 200, a connection closed under a
 * request, a socket error) is counted and the connection replaced.
 */
import { connect, type Socket } from 'node:net';
import { SMALL } from './origin';
import { newTally, note, sleep, type Tally } from './tally';

export interface Target {
  proxyPort: number;
  originPort: number;
}

/** One request on `s`; resolves with the whole answer's text, or rejects when the connection breaks. */
function ask(s: Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? -1);
      if (length >= 0 && text.length >= end + 4 + length) done(null);
    };
    const onClose = (): void => done(new Error(text === '' ? 'closed before an answer' : 'closed mid-answer'));
    const onError = (e: Error): void => done(e);
    const done = (e: Error | null): void => {
      s.off('data', onData);
      s.off('close', onClose);
      s.off('error', onError);
      if (e) reject(e);
      else resolve(text);
    };
    s.on('data', onData);
    s.once('close', onClose);
    s.once('error', onError);
    s.write(request);
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Runs `connections` keep-alive clients until `running()` is false. */
export async function keepAliveLoad(t: Target, connections: number, rate: number, tally: Tally, running: () => boolean): Promise<void> {
  const request = `GET http://127.0.0.1:${t.originPort}/small HTTP/1.1\r\nHost: 127.0.0.1:${t.originPort}\r\n\r\n`;
  const gap = 1000 / rate;
  const client = async (): Promise<void> => {
    let s: Socket | null = null;
    while (running()) {
      const started = performance.now();
      try {
        s ??= await open(t.proxyPort);
        const text = await ask(s, request);
        if (!text.startsWith('HTTP/1.1 200 ') || !text.endsWith(SMALL.toString('latin1'))) throw new Error(`answer ${text.slice(0, 40)}`);
        tally.answers++;
        tally.latencies.push(performance.now() - started);
      } catch (e) {
        tally.failures++;
        note(tally, `keep-alive: ${(e as Error).message}`);
        s?.destroy();
        s = null;
      }
      await sleep(Math.max(0, gap - (performance.now() - started)));
    }
    s?.destroy();
  };
  await Promise.all(Array.from({ length: connections }, client));
}

/** The unloaded p99: the same load alone for `seconds` (after two to warm up), before anything else starts. */
export async function baselineP99(t: Target, connections: number, rate: number, seconds: number): Promise<{ p99: number; failures: number }> {
  const tally = newTally();
  const start = Date.now() + 2000;
  const until = start + seconds * 1000;
  const counting = setTimeout(() => tally.latencies.splice(0), 2000);
  await keepAliveLoad(t, connections, rate, tally, () => Date.now() < until);
  clearTimeout(counting);
  return { p99: percentile(tally.latencies, 0.99), failures: tally.failures };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
