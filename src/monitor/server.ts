// The built-in monitor web server (web.enable, web.host, web.port): ExaProxy's JSON pages,
// Prometheus metrics, a live dashboard, and POST control actions.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Snapshot } from './stats';
import type { HelperPools, PoolStats } from './pool';
import { History } from './history';
import { renderMetrics, PROMETHEUS_CONTENT_TYPE } from './prometheus';
import { exaproxyRunning, sortedJson } from './running';
import { dashboardPage } from './dashboard';
import { parseSwitch, refuseControl } from './control';
import { openedBy } from './peer';
import { guarded } from './periodic';

import type { Log } from '../log/log';

export type { Log };

export interface MonitorPool {
  /** undefined when there is no pool (yet) */
  stats(): PoolStats | undefined;
}

export interface MonitorControl {
  /** set the helper pool limits (per worker) */
  resize(minimum: number, maximum: number): void | Promise<void>;
  /** stop (false) or start (true) listening on the proxy ports */
  listen(on: boolean): void | Promise<void>;
  /** debug logging on or off */
  debug(on: boolean): void | Promise<void>;
  /** reopen log files (after logrotate moved them) */
  reopen?(): void | Promise<void>;
}

export interface MonitorOptions {
  host: string;
  port: number;
  /** web.token: when set, control actions must present it */
  token?: string;
  /** web.open-control: without web.token, accept control actions anyway (otherwise they are refused) */
  openControl?: () => boolean;
  /** redirector.maximum: /control/pool never sets more helpers (per worker) than configured */
  poolMaximum?: () => number;
  /** whether there is a log file to reopen now (read on each request: a reload may change it); otherwise 409 */
  logFiles?: () => boolean;
  /** the proxy's worker processes: a control request whose connection one of them opened came through the proxy */
  proxyPids?: () => number[];
  stats: () => Snapshot;
  pool?: MonitorPool;
  /** the auth and external ACL helper pools (auth.*, acl.*), those that run */
  helperPools?: () => HelperPools;
  configJson: () => object;
  control: MonitorControl;
  recentLogs: () => string[];
  log: Log;
  /** web.connections (default 100) */
  connections?: number;
  /** daemon.identifier, shown on the dashboard */
  identifier?: string;
  /** whether the pidfile was written (ExaProxy's pid.saved) */
  pidSaved?: () => boolean;
  /** how often the graphs get a point; 1000 ms unless a test wants it faster */
  sampleMs?: number;
}

export interface Monitor {
  close(): Promise<void>;
  port: number;
}

const JSON_PATHS = [
  '/json/running',
  '/json/configuration',
  '/json/stats',
  '/json/history',
  '/json/clients',
  '/json/logs',
  '/json/dashboard',
];
const CONTROL_PATHS = ['/control/pool', '/control/listen', '/control/debug', '/control/reopen'];
const MAX_PATH = 5000;
const MAX_BODY = 8192;

export async function startMonitor(options: MonitorOptions): Promise<Monitor> {
  const history = new History();
  const poolStats = (): PoolStats | undefined => options.pool?.stats();
  const helperPools = (): HelperPools => options.helperPools?.() ?? {};
  const sample = guarded('monitor: sampling statistics', options.log, () => history.sample(options.stats(), poolStats(), helperPools()));
  sample();
  const timer = setInterval(sample, options.sampleMs ?? 1000);
  timer.unref();

  // Known once listening; control requests only arrive after that.
  let port = options.port;
  const throughProxy = (req: IncomingMessage): { status: 403; message: string } | undefined => {
    const socket = req.socket;
    const pids = options.proxyPids?.() ?? [];
    if (socket.remoteAddress === undefined || socket.remotePort === undefined || socket.localAddress === undefined || socket.localPort === undefined) return undefined;
    if (!openedBy(pids, { address: socket.remoteAddress, port: socket.remotePort }, { address: socket.localAddress, port: socket.localPort })) return undefined;
    return { status: 403, message: 'control actions are not accepted through the proxy; send them to the monitor directly' };
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      options.log.error(`monitor: ${req.method} ${req.url} failed: ${err.stack ?? err.message}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${err.message}\n`);
      else res.destroy();
    });
  });
  server.maxConnections = options.connections ?? 100;
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    if (raw.length > MAX_PATH) return send(res, 414, 'text/plain; charset=utf-8', `path is too long (over ${MAX_PATH} characters)\n`);
    const url = new URL(raw, 'http://monitor.invalid');
    const path = url.pathname;
    if (path.startsWith('/control/')) return control(req, res, path, url.searchParams);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', `${path} is read-only: use GET\n`);
    }
    switch (path) {
      case '/':
      case '/index.html':
      case '/dashboard':
        return page(res);
      case '/favicon.ico':
        // Browsers ask for it; an empty answer keeps their consoles free of 404s.
        res.statusCode = 204;
        return void res.end();
      case '/metrics':
        return send(res, 200, PROMETHEUS_CONTENT_TYPE, renderMetrics(options.stats(), poolStats(), helperPools()));
      case '/json':
      case '/json/':
        return json(res, 200, { error: 'invalid url', 'valid-paths': JSON_PATHS, 'control-paths (POST)': CONTROL_PATHS });
      case '/json/running':
        return sendJsonText(res, sortedJson(exaproxyRunning(options.stats(), poolStats(), options.pidSaved?.() ?? false)));
      case '/json/configuration':
        return sendJsonText(res, sortedJson(options.configJson() as Record<string, unknown>));
      case '/json/stats':
        return json(res, 200, { stats: options.stats(), pool: poolStats() ?? null, helpers: helperPools() });
      case '/json/history':
        return json(res, 200, history);
      case '/json/clients':
        return json(res, 200, options.stats().clientIps);
      case '/json/logs':
        return json(res, 200, options.recentLogs());
      case '/json/dashboard': {
        const stats = options.stats();
        return json(res, 200, {
          time: Date.now(),
          processes: stats.gauges.processes,
          history,
          clients: stats.clientIps,
          logs: options.recentLogs().slice(-200),
        });
      }
      default:
        return send(
          res,
          404,
          'text/plain; charset=utf-8',
          `invalid url: ${path}\nvalid pages: / /metrics /json ${JSON_PATHS.join(' ')}\ncontrol (POST): ${CONTROL_PATHS.join(' ')}\n`,
        );
    }
  }

  function page(res: ServerResponse): void {
    const nonce = randomBytes(16).toString('base64');
    // Nothing may load from elsewhere: the page draws its graphs itself.
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`,
    );
    send(res, 200, 'text/html; charset=utf-8', dashboardPage(nonce, options.identifier ?? 'exaproxy'));
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (!CONTROL_PATHS.includes(path)) {
      return send(res, 404, 'text/plain; charset=utf-8', `unknown control action ${path}; actions (POST): ${CONTROL_PATHS.join(' ')}\n`);
    }
    const params = new URLSearchParams(query);
    if (req.method === 'POST') {
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, 'text/plain; charset=utf-8', `control request body over ${MAX_BODY} bytes\n`);
      for (const [k, v] of parseBody(body, req.headers['content-type'])) params.set(k, v);
    }
    const refusal = refuseControl(req, params, { token: options.token, open: options.openControl?.() === true, host: options.host, port })
      ?? throughProxy(req);
    if (refusal !== undefined) {
      if (refusal.status === 405) res.setHeader('Allow', 'POST');
      options.log.warn(`monitor: control ${path} refused for ${req.socket.remoteAddress}: ${refusal.message}`);
      return send(res, refusal.status, 'text/plain; charset=utf-8', `${refusal.message}\n`);
    }
    const bad = (message: string): void => send(res, 400, 'text/plain; charset=utf-8', `${message}\n`);
    switch (path) {
      case '/control/pool': {
        const current = poolStats();
        if (options.pool === undefined || current === undefined) {
          return send(res, 409, 'text/plain; charset=utf-8', 'there is no helper pool to resize: set redirector.enable=true\n');
        }
        const asked = {
          minimum: count(params.get('minimum') ?? params.get('exaproxy.redirector.minimum'), current.minimum),
          maximum: count(params.get('maximum') ?? params.get('exaproxy.redirector.maximum'), current.maximum),
        };
        if (asked.minimum === undefined || asked.maximum === undefined || asked.maximum < 1 || asked.minimum > asked.maximum) {
          return bad('pool: give minimum and/or maximum as whole numbers with 0 <= minimum <= maximum and maximum >= 1, e.g. minimum=5&maximum=25');
        }
        // The configuration's redirector.maximum is the ceiling: a control request may lower the
        // limits or give back what was configured, never start more helpers than the operator allowed.
        const limit = options.poolMaximum?.() ?? Infinity;
        const maximum = Math.min(asked.maximum, limit);
        const minimum = Math.min(asked.minimum, maximum);
        await options.control.resize(minimum, maximum);
        const clamped = maximum !== asked.maximum || minimum !== asked.minimum;
        options.log.info(`monitor: helper pool limits set to minimum=${minimum} maximum=${maximum}${clamped ? ` (asked ${asked.minimum}/${asked.maximum}, redirector.maximum is ${limit})` : ''}`);
        return json(res, 200, clamped ? { ok: true, minimum, maximum, clamped: `redirector.maximum is ${limit}` } : { ok: true, minimum, maximum });
      }
      case '/control/listen':
      case '/control/debug': {
        const on = parseSwitch(params.get('on'));
        if (on === undefined) return bad(`${path.slice(9)}: give on=true or on=false`);
        if (path === '/control/listen') await options.control.listen(on);
        else await options.control.debug(on);
        options.log.info(`monitor: ${path.slice(9)} ${on ? 'on' : 'off'}`);
        return json(res, 200, { ok: true, on });
      }
      default: {
        if (options.control.reopen === undefined || options.logFiles?.() === false) {
          return send(res, 409, 'text/plain; charset=utf-8', 'no log file to reopen: log.destination and usage.destination are not files\n');
        }
        await options.control.reopen();
        options.log.info('monitor: log files reopened');
        return json(res, 200, { ok: true });
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => {
      clearInterval(timer);
      reject(
        new Error(
          `web.host/web.port: cannot listen on ${options.host}:${options.port} (${err.code ?? err.message}); ` +
            'choose another web.port, stop what uses it, or set web.enable=false',
        ),
      );
    };
    server.once('error', fail);
    server.listen({ host: options.host, port: options.port, backlog: 10 }, () => {
      server.off('error', fail);
      resolve();
    });
  });
  server.on('error', (err) => options.log.error(`monitor: ${err.message}`));
  port = (server.address() as AddressInfo).port;
  options.log.info(`monitor: listening on http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`);

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

function sendJsonText(res: ServerResponse, text: string): void {
  send(res, 200, 'application/json; charset=utf-8', text);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(body: string, type: string | undefined): [string, string][] {
  if (body.trim() === '') return [];
  if (type?.includes('json')) {
    try {
      const o = JSON.parse(body) as Record<string, unknown>;
      return Object.entries(o).map(([k, v]) => [k, String(v)]);
    } catch {
      return [];
    }
  }
  return [...new URLSearchParams(body)];
}

function count(value: string | null, fallback: number): number | undefined {
  if (value === null || value === '') return fallback;
  return /^\d{1,6}$/.test(value) ? Number(value) : undefined;
}
