/**
 * Small network tools for tests: curl runs, raw sockets, origin servers.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs curl with these arguments (never throws: the exit code is in the result). */
export function curl(args: string[], opts: { input?: Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<CurlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'curl',
      ['-sS', '--max-time', '20', ...args],
      { encoding: 'latin1', maxBuffer: 512 * 1024 * 1024, env: { ...process.env, ...opts.env } },
      (error, stdout, stderr) => {
        const code: unknown = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
    if (opts.input) child.stdin!.end(opts.input);
  });
}

/** Splits an HTTP response dump (`curl -i`) into status, headers and body. */
export function parseDump(dump: string): { status: number; headers: Map<string, string>; body: string } {
  // curl -i may show interim responses (100 Continue) first.
  let text = dump;
  while (/^HTTP\/1\.[01] 1\d\d /.test(text)) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end).split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { status, headers, body: text.slice(end + 4) };
}

/** Opens a raw TCP connection. */
export function rawConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads from a socket until `done(text)` is true or the socket closes; resolves with all bytes. */
export function readUntil(s: Socket, done: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', finish);
      resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (done(text)) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('data', onData);
    s.once('close', finish);
  });
}

/** Sends `data` and collects everything until the peer closes (or the timeout). */
export async function exchange(port: number, data: string | Buffer, timeoutMs = 10_000): Promise<string> {
  const s = await rawConnect(port);
  const reply = readUntil(s, () => false, timeoutMs);
  s.write(data);
  const text = await reply;
  s.destroy();
  return text;
}

export interface Origin {
  port: number;
  server: Server;
  /** Requests seen, in order: method, url, headers, body length. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer; socketId: number }[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** An origin server; `handler` may answer, otherwise it echoes the request as JSON. */
export async function startOrigin(
  handler?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | void,
): Promise<Origin> {
  const requests: Origin['requests'] = [];
  let connections = 0;
  const ids = new WeakMap<object, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body, socketId: ids.get(req.socket) ?? -1 });
      if (handler?.(req, res, body)) return;
      const json = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length });
      res.setHeader('content-type', 'application/json');
      res.end(json);
    });
  });
  server.on('connection', (socket) => ids.set(socket, ++connections));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    requests,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port free on 127.0.0.1 right now (for peers that must be told their port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms for up to 15 s; fails the test naming `what` (and `detail()`). */
export async function until(check: () => boolean | Promise<boolean>, what: string, detail: () => string = () => ''): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}\n${detail()}`);
}
