// wrk as the load generator for forward-proxy requests. wrk cannot be told to use a proxy, but a
// forward-proxy request is only an absolute-form request line sent to the proxy's address: a small Lua
// script sets wrk.path to the origin's absolute URL (and Host to the origin), and wrk is pointed at the
// proxy. The same script's done() prints the figures as one JSON line, so nothing is scraped from text.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinned } from '../proc';

export interface LoadResult {
  durationS: number;
  requests: number;
  /** Bytes received, heads included. */
  bytes: number;
  /** Responses with a status ≥ 400 (wrk's own count) or not 200 (the Node clients). */
  statusErrors: number;
  /** connect + read + write + timeout errors. */
  socketErrors: number;
  /** The read errors alone (a peer closing an idle keep-alive connection shows up here). */
  readErrors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface WrkOptions {
  proxyPort: number;
  originPort: number;
  path: string;
  connections: number;
  durationS: number;
  /** Ask for a new connection per request (`Connection: close`). */
  close: boolean;
  /**
   * Count every response that is not exactly 200 (wrk alone only counts ≥ 400). It runs Lua for each
   * response, which slows wrk down: the smoke test uses it, the measurements do not.
   */
  countNon200: boolean;
  core: string | undefined;
  dir: string;
}

const MARKER = 'WRK_JSON ';

// Each wrk thread counts in its own Lua state; done() runs in the main one and sums them.
const NON_200_COUNTER = `threads = {}
setup = function(thread) table.insert(threads, thread) end
non200 = 0
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
`;

function luaScript(options: WrkOptions): string {
  const authority = `127.0.0.1:${options.originPort}`;
  return `wrk.method = "GET"
wrk.path = "http://${authority}${options.path}"
wrk.headers["Host"] = "${authority}"
${options.close ? 'wrk.headers["Connection"] = "close"\n' : ''}${options.countNon200 ? NON_200_COUNTER : ''}
done = function(summary, latency, requests)
  local e = summary.errors
  local non200 = -1
  if threads then
    non200 = 0
    for _, t in ipairs(threads) do non200 = non200 + t:get("non200") end
  end
  io.write(string.format('${MARKER}{"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p99_us":%.0f,"non200":%.0f}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), non200))
end
`;
}

export function runWrk(options: WrkOptions): Promise<LoadResult> {
  const script = join(options.dir, `wrk-${process.pid}.lua`);
  writeFileSync(script, luaScript(options));
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationS}s`, '--timeout', '10s', '-s', script, `http://127.0.0.1:${options.proxyPort}/`];
  const [file, argv] = pinned(options.core, 'wrk', args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = output.split('\n').find((l) => l.startsWith(MARKER));
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk failed (exit ${code}); its output:\n${output}`));
        return;
      }
      const r = JSON.parse(line.slice(MARKER.length)) as Record<string, number>;
      const get = (key: string): number => r[key] ?? 0;
      resolve({
        durationS: get('duration_us') / 1e6,
        requests: get('requests'),
        bytes: get('bytes'),
        statusErrors: options.countNon200 ? get('non200') : get('status'),
        socketErrors: get('connect') + get('read') + get('write') + get('timeout'),
        readErrors: get('read'),
        p50Ms: get('p50_us') / 1000,
        p99Ms: get('p99_us') / 1000,
      });
    });
  });
}
