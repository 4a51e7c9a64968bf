/**
 * A GET through a proxy with Node's own client, which checks the response's framing: its
 * status, headers, and the body's sha256 and length. The first `slowFirstBytes` are read
 * slowly, so that the proxy's writes to this client queue and hold their buffers.
 */
import { createHash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';

export interface Fetched {
  status: number;
  hash: string;
  length: number;
  headers: IncomingMessage['headers'];
}

export function fetchHash(proxy: { port: number }, url: string, slowFirstBytes = 0): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, path: url, headers: { host: new URL(url).host } }, (res) => {
      const h = createHash('sha256');
      let length = 0;
      res.on('data', (d: Buffer) => {
        h.update(d);
        length += d.length;
        if (length < slowFirstBytes) {
          res.pause();
          setTimeout(() => res.resume(), 5);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, hash: h.digest('hex'), length, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
