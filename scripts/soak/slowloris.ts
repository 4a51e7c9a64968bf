/**
 * Slowloris clients: each starts a head and adds one byte a second, never finishing it. The
 * proxy must close each at http.header-timeout; one that lives past it plus a margin is
 * "late", one closed a second or more before it "early". A closed one is replaced while the soak runs, so the pressure stays.
 */
import { connect } from 'node:net';
import { note, type Tally } from './tally';

/** Added to the header timeout: the sweeper's period and a loaded machine. */
export const SLOWLORIS_MARGIN_S = 5;

export function slowloris(proxyPort: number, count: number, headerTimeoutS: number, tally: Tally, running: () => boolean): Promise<void> {
  const limitMs = (headerTimeoutS + SLOWLORIS_MARGIN_S) * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = connect(proxyPort, '127.0.0.1');
      const opened = Date.now();
      tally.slowlorisOpen++;
      s.on('error', () => undefined);
      s.on('data', () => undefined); // a 408 may come first
      s.write('GET http://127.0.0.1/slow HTTP/1.1\r\nX-Slow: ');
      const drip = setInterval(() => {
        s.write('a');
        if (Date.now() - opened > limitMs && !s.destroyed) {
          tally.slowlorisLate++;
          note(tally, `a slowloris client was still open after ${limitMs / 1000} s`);
          s.destroy();
        }
      }, 1000);
      s.once('close', () => {
        clearInterval(drip);
        tally.slowlorisOpen--;
        const lived = Date.now() - opened;
        if (lived < (headerTimeoutS - 1) * 1000) {
          // Refused (at the connection limit) or cut: not what the header timeout does.
          tally.slowlorisEarly++;
          note(tally, `a slowloris client was closed after ${(lived / 1000).toFixed(1)} s, before http.header-timeout`);
        } else if (lived <= limitMs) tally.slowlorisClosed++;
        resolve();
      });
    });
  const client = async (): Promise<void> => {
    while (running()) await one();
  };
  return Promise.all(Array.from({ length: count }, client)).then(() => undefined);
}
