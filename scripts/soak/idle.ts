/**
 * Idle connections: each asks once (so it is a served keep-alive client, not a silent one
 * the header timeout closes) and is then held open until the end. They are opened in
 * batches, so the proxy sees a ramp rather than ten thousand SYNs at once.
 */
import { connect, type Socket } from 'node:net';
import type { Target } from './keepalive';
import { note, type Tally } from './tally';

const BATCH = 250;

/** A connection not answered in this long is given up (and counted as not held). */
const ANSWER_MS = 20_000;

function openAndAsk(t: Target, tally: Tally, running: () => boolean): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(t.proxyPort, '127.0.0.1');
    let answered = false;
    const late = setTimeout(() => {
      note(tally, `an idle connection got no answer in ${ANSWER_MS / 1000} s`);
      s.destroy();
    }, ANSWER_MS);
    s.on('error', () => undefined);
    s.on('data', () => {
      if (answered) return;
      answered = true;
      clearTimeout(late);
      tally.idleOpen++;
      resolve(s);
    });
    s.once('close', () => {
      clearTimeout(late);
      if (!answered) return resolve(null);
      tally.idleOpen--;
      if (running()) {
        tally.idleDropped++;
        note(tally, 'an idle connection was closed by the proxy');
      }
    });
    s.write(`GET http://127.0.0.1:${t.originPort}/small HTTP/1.1\r\nHost: 127.0.0.1:${t.originPort}\r\n\r\n`);
  });
}

/** Opens `count` idle connections; resolves with them once all are open (or `running()` ended). */
export async function openIdle(t: Target, count: number, tally: Tally, running: () => boolean): Promise<Socket[]> {
  const sockets: Socket[] = [];
  while (sockets.length < count && running()) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, count - sockets.length) }, () => openAndAsk(t, tally, running)));
    for (const s of batch) if (s !== null) sockets.push(s);
    if (batch.every((s) => s === null)) break; // the proxy takes no more: the verdict says so
  }
  return sockets;
}
