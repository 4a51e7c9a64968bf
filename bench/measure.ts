// One measurement: start a peer (fresh, in its own temp dir), check that it forwards, warm it up, then
// load it while reading the CPU time and peak memory of its whole process tree before and after.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { runWrk, type LoadResult } from './load/wrk';
import { DOCUMENTS } from './origin';
import { startFrontHaproxy } from './peers/haproxy';
import type { HelperProtocol, PeerContext, PeerSpec, RunningPeer } from './peers/types';
import { coreBusy, freePort, pinned, readCoreTimes, resetPeakRss, sleep, treeCpuSeconds, treePeakRssByRole, treePeakRssKiB, treeRssKiB, type CorePlan, type ProcessPeak } from './proc';
import type { Scenario } from './scenarios';

const MiB = 1024 * 1024;

/** A peer as one scenario runs it: `exaproxy+url` is exaproxy with the url helper protocol. */
export interface Variant {
  label: string;
  peer: PeerSpec;
  helper?: HelperProtocol;
  /** The helper's decisions are remembered (the cache-on figure beside the helper goal). */
  cache?: boolean;
}

export interface Measurement {
  round: number;
  scenario: string;
  variant: string;
  peer: string;
  helper?: HelperProtocol;
  /** false when the peer failed to start or to forward, the load failed, or any request failed: see `error`. */
  ok: boolean;
  /** The figures are usable (the load ran and got answers), even if some requests failed. */
  measured: boolean;
  /** Why this measurement differs from the scenario's recipe (e.g. no keep-alive). */
  note?: string;
  /** Closes the peer made without announcing them, which wrk saw as read errors and which are not counted. */
  closesNotCounted?: number;
  error?: string;
  requests: number;
  durationS: number;
  reqPerSec: number;
  mibPerSec: number;
  /** CPU seconds of the peer's whole process tree during the load. */
  cpuS: number;
  cpuUsPerReq: number;
  cpuMsPerMiB: number;
  p50Ms: number;
  p99Ms: number;
  peakRssKiB: number;
  /** peakRssKiB split by process: the primary, its workers, its helpers (or the one process). */
  peakRssProcesses?: ProcessPeak[];
  statusErrors: number;
  socketErrors: number;
  /** How busy the peer's core and the load core were (0..1): a busy load core means req/s is bounded by wrk/origin, a peer core busier than the peer means a neighbour interfered. */
  peerCoreBusy?: number;
  loadCoreBusy?: number;
  /** chain: CPU seconds of the front HAProxy, and the peer's CPU divided by it. */
  frontCpuS?: number;
  chainCpuRatio?: number;
  /** idle: connections held, failed, memory before and while held, and the difference per connection. */
  idleOpen?: number;
  idleFailed?: number;
  rssBeforeKiB?: number;
  rssHeldKiB?: number;
  rssPerConnKiB?: number;
}

export interface MeasureSettings {
  dir: string;
  originPort: number;
  cores: CorePlan;
  durationS: number;
  warmupS: number;
  /** Idle connections to hold (already capped by the fd limit). */
  idleConnections: number;
  helperChildren: number;
  /** Count every non-200 response as an error (slower wrk; the smoke test's check). */
  countNon200: boolean;
  helperCommand(protocol: HelperProtocol): string[];
}

/** The peers a scenario runs, expanded into variants (one per helper protocol in the helper scenario). */
export function variantsFor(scenario: Scenario, peers: PeerSpec[], reference: string): Variant[] {
  const variants: Variant[] = [];
  for (const peer of peers) {
    if (peer.onlyScenarios !== undefined && !peer.onlyScenarios.includes(scenario.name)) continue;
    if (scenario.kind === 'connect' && !peer.connect) continue;
    // A peer that closes every client connection cannot hold idle ones.
    if (scenario.kind === 'idle' && peer.keepAlive === false) continue;
    if (scenario.helper) {
      for (const helper of peer.helpers ?? []) variants.push({ label: `${peer.name}+${helper}`, peer, helper });
      if (peer.helperCache && peer.helpers?.includes('url')) variants.push({ label: `${peer.name}+url+cache`, peer, helper: 'url', cache: true });
      // The reference runs without a helper (it has none) so that the helper's cost shows in the ratio.
      if (peer.name === reference) variants.push({ label: peer.name, peer });
      continue;
    }
    variants.push({ label: peer.name, peer });
  }
  return variants;
}

function emptyMeasurement(round: number, scenario: Scenario, variant: Variant): Measurement {
  return {
    round,
    scenario: scenario.name,
    variant: variant.label,
    peer: variant.peer.name,
    helper: variant.helper,
    ok: false,
    measured: false,
    requests: 0,
    durationS: 0,
    reqPerSec: 0,
    mibPerSec: 0,
    cpuS: 0,
    cpuUsPerReq: 0,
    cpuMsPerMiB: 0,
    p50Ms: 0,
    p99Ms: 0,
    peakRssKiB: 0,
    statusErrors: 0,
    socketErrors: 0,
  };
}

/** Runs one scenario against one variant; never throws: a failure is recorded in the measurement. */
export async function measure(settings: MeasureSettings, scenario: Scenario, variant: Variant, round: number): Promise<Measurement> {
  const result = emptyMeasurement(round, scenario, variant);
  const dir = mkdtempSync(join(settings.dir, `${scenario.name}-${variant.label}-`));
  const running: RunningPeer[] = [];
  try {
    const context: PeerContext = {
      dir,
      port: await freePort(),
      originPort: settings.originPort,
      core: variant.peer.pinned ? settings.cores.peer : undefined,
      helper: variant.helper,
      helperCache: variant.cache === true,
      helperCommand: variant.helper === undefined ? undefined : settings.helperCommand(variant.helper),
      helperChildren: settings.helperChildren,
    };
    const peer = await variant.peer.start(context);
    running.push(peer);
    let loadPort = context.port;
    let front: RunningPeer | undefined;
    if (scenario.kind === 'chain') {
      const frontPort = await freePort();
      front = await startFrontHaproxy({ ...context, port: frontPort, core: settings.cores.peer }, context.port);
      running.push(front);
      loadPort = frontPort;
    }
    await preflight(loadPort, settings.originPort, scenario);
    if (scenario.kind === 'idle') {
      await measureIdle(settings, scenario, peer, loadPort, result);
    } else {
      const noKeepAlive = scenario.kind !== 'connect' && variant.peer.keepAlive === false;
      const close = scenario.close === true || noKeepAlive;
      if (noKeepAlive && !scenario.close) result.note = 'no keep-alive to clients: measured with a new connection per request';
      const load = (durationS: number): Promise<LoadResult> => runLoad(settings, scenario, loadPort, durationS, dir, close);
      if (settings.warmupS > 0) await load(settings.warmupS);
      const cpuBefore = treeCpuSeconds(peer.pid);
      const frontBefore = front ? treeCpuSeconds(front.pid) : 0;
      resetPeakRss(peer.pid);
      const coresBefore = readCoreTimes();
      const loaded = await load(settings.durationS);
      const coresAfter = readCoreTimes();
      result.peerCoreBusy = coreBusy(coresBefore, coresAfter, settings.cores.peer);
      result.loadCoreBusy = coreBusy(coresBefore, coresAfter, settings.cores.load);
      result.cpuS = treeCpuSeconds(peer.pid) - cpuBefore;
      result.peakRssKiB = treePeakRssKiB(peer.pid);
      result.peakRssProcesses = treePeakRssByRole(peer.pid);
      if (front) {
        result.frontCpuS = treeCpuSeconds(front.pid) - frontBefore;
        result.chainCpuRatio = result.frontCpuS > 0 ? result.cpuS / result.frontCpuS : undefined;
      }
      fillFromLoad(result, loaded);
      if (noKeepAlive && loaded.readErrors > 0) {
        // The peer closes after each response without saying `Connection: close`, so wrk finds the
        // connection closed when it sends the next request: a close, not a failed request.
        result.socketErrors -= loaded.readErrors;
        result.closesNotCounted = loaded.readErrors;
        result.note = `${result.note ?? 'no keep-alive to clients'}; its unannounced closes (wrk read errors) are not counted as errors`;
      }
    }
    const errors = result.statusErrors + result.socketErrors + (result.idleFailed ?? 0);
    result.measured = result.requests > 0;
    result.ok = result.requests > 0 && errors === 0;
    if (!result.ok) result.error = result.requests === 0 ? 'no request was answered' : `${errors} errors during the load`;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  } finally {
    for (const process of running.reverse()) await process.stop();
  }
  return result;
}

function fillFromLoad(result: Measurement, loaded: LoadResult): void {
  const mib = loaded.bytes / MiB;
  result.requests = loaded.requests;
  result.durationS = loaded.durationS;
  result.reqPerSec = loaded.durationS > 0 ? loaded.requests / loaded.durationS : 0;
  result.mibPerSec = loaded.durationS > 0 ? mib / loaded.durationS : 0;
  result.cpuUsPerReq = loaded.requests > 0 ? (result.cpuS * 1e6) / loaded.requests : 0;
  result.cpuMsPerMiB = mib > 0 ? (result.cpuS * 1000) / mib : 0;
  result.p50Ms = loaded.p50Ms;
  result.p99Ms = loaded.p99Ms;
  result.statusErrors = loaded.statusErrors;
  result.socketErrors = loaded.socketErrors;
}

function runLoad(settings: MeasureSettings, scenario: Scenario, port: number, durationS: number, dir: string, close: boolean): Promise<LoadResult> {
  const document = DOCUMENTS[scenario.document];
  if (scenario.kind === 'connect') {
    const args = [port, settings.originPort, document.path, document.bytes, scenario.connections, durationS].map(String);
    return runNodeClient(settings.cores.load, 'connect-client.mjs', args);
  }
  return runWrk({
    proxyPort: port,
    originPort: settings.originPort,
    path: document.path,
    connections: scenario.connections,
    durationS,
    close,
    countNon200: settings.countNon200,
    core: settings.cores.load,
    dir,
  });
}

/** Runs bench/load/connect-client.mjs to the end and reads its JSON line. */
function runNodeClient(core: string | undefined, script: string, args: string[]): Promise<LoadResult> {
  const [file, argv] = pinned(core, process.execPath, [join(__dirname, 'load', script), ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = output.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`${script} failed (exit ${code}); its output:\n${output}`));
        return;
      }
      const r = JSON.parse(line) as Record<string, number>;
      const get = (key: string): number => r[key] ?? 0;
      resolve({
        durationS: get('duration_us') / 1e6,
        requests: get('requests'),
        bytes: get('bytes'),
        statusErrors: get('status'),
        socketErrors: get('socket'),
        readErrors: 0,
        p50Ms: get('p50_us') / 1000,
        p99Ms: get('p99_us') / 1000,
      });
    });
  });
}

/** One forward-proxy GET before the load: a peer that does not answer 200 with the whole body is not measured. */
function preflight(port: number, originPort: number, scenario: Scenario): Promise<void> {
  const document = DOCUMENTS[scenario.document];
  const authority = `127.0.0.1:${originPort}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `http://${authority}${document.path}`, headers: { host: authority }, agent: false, timeout: 10000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        if (res.statusCode === 200 && bytes === document.bytes) resolve();
        else reject(new Error(`preflight GET http://${authority}${document.path} through the peer got ${res.statusCode} with ${bytes} bytes (expected 200 with ${document.bytes})`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('preflight GET through the peer timed out after 10 s')));
    req.on('error', (error) => reject(new Error(`preflight GET through the peer failed: ${error.message}`)));
    req.end();
  });
}

/** Holds idle connections through the peer and measures how much its resident memory grew. */
async function measureIdle(settings: MeasureSettings, scenario: Scenario, peer: RunningPeer, port: number, result: Measurement): Promise<void> {
  await sleep(500);
  result.rssBeforeKiB = treeRssKiB(peer.pid);
  const document = DOCUMENTS[scenario.document];
  const args = [port, settings.originPort, document.path, settings.idleConnections].map(String);
  const [file, argv] = pinned(settings.cores.load, process.execPath, [join(__dirname, 'load', 'idle-client.mjs'), ...args]);
  const client = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const ready = await new Promise<{ open: number; failed: number }>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`idle-client did not get its answers within 120 s; output:\n${output}`)), 120_000);
      client.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const line = output.split('\n').find((l) => l.startsWith('READY '));
        if (line === undefined) return;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('READY '.length)) as { open: number; failed: number });
      });
      client.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      client.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`idle-client exited (${code}) before holding its connections; output:\n${output}`));
      });
    });
    // Let the peer settle (lazy frees, timers) before reading its memory while the connections are held.
    await sleep(1000);
    result.rssHeldKiB = treeRssKiB(peer.pid);
    result.peakRssKiB = treePeakRssKiB(peer.pid);
    result.peakRssProcesses = treePeakRssByRole(peer.pid);
    result.idleOpen = ready.open;
    result.idleFailed = ready.failed;
    result.requests = ready.open;
    result.rssPerConnKiB = ready.open > 0 ? (result.rssHeldKiB - result.rssBeforeKiB) / ready.open : undefined;
  } finally {
    client.kill('SIGKILL');
  }
}
