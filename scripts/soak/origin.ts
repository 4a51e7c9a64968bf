/**
 * The soak's far side: an HTTP origin (a small document; uploads answered with their
 * sha256) and a TCP echo server that CONNECT tunnels reach.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';

export const SMALL = Buffer.alloc(1024, 'x');

export interface SoakOrigin {
  httpPort: number;
  echoPort: number;
  close(): void;
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'POST') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    req.on('end', () => res.end(`${bytes} ${hash.digest('hex')}`));
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(SMALL);
}

function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export async function startSoakOrigin(): Promise<SoakOrigin> {
  const http = createServer(answer);
  http.keepAliveTimeout = 30_000;
  // Echo: what comes in goes back; the client's FIN ends our side too.
  const echo = createTcpServer({ allowHalfOpen: false }, (c) => {
    c.on('error', () => undefined);
    c.pipe(c);
  });
  const [httpPort, echoPort] = await Promise.all([listen(http), listen(echo)]);
  return {
    httpPort,
    echoPort,
    close: () => {
      http.closeAllConnections();
      http.close();
      echo.close();
    },
  };
}
