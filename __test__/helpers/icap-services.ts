/**
 * ICAP peers for tests: the real c-icap server (Debian `c-icap`, its srv_echo service) with
 * its own configuration, pid, control socket, logs and temporary files in a private folder,
 * in the foreground on a loopback port; and the small test ICAP service in
 * __test__/fixtures/icap/icap-service.mjs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, until } from './net';

export interface CIcap {
  port: number;
  dir: string;
  /** c-icap's access log: one line per OPTIONS/REQMOD/RESPMOD it served. */
  accessLog(): string;
  /** Starts it again on the same port (after stop or kill). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGKILL to its whole process group. */
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** The folder holding srv_echo.so (/usr/lib/<triplet>/c_icap on Debian). */
function moduleDir(): string {
  for (const lib of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(lib)) continue;
    for (const entry of readdirSync(lib)) {
      const dir = join(lib, entry, 'c_icap');
      if (existsSync(join(dir, 'srv_echo.so'))) return dir;
    }
    if (existsSync(join(lib, 'c_icap', 'srv_echo.so'))) return join(lib, 'c_icap');
  }
  throw new Error('srv_echo.so not found under /usr/lib*/…/c_icap: install the c-icap package (apt-get install c-icap)');
}

function waitForPort(port: number, what: () => string): Promise<void> {
  return until(
    () => new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    }),
    `c-icap listening on 127.0.0.1:${port}`,
    what,
  );
}

export async function startCIcap(): Promise<CIcap> {
  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-c-icap-'));
  const port = await freePort();
  const modules = moduleDir();
  const conf = join(dir, 'c-icap.conf');
  writeFileSync(conf, [
    `PidFile ${dir}/c-icap.pid`, `CommandsSocket ${dir}/c-icap.ctl`, 'Timeout 300', 'MaxKeepAliveRequests 100',
    'KeepAliveTimeout 600', 'StartServers 1', 'MaxServers 2', 'MinSpareThreads 2', 'MaxSpareThreads 8', 'ThreadsPerChild 8',
    `Port 127.0.0.1:${port}`, 'ServerName exaproxy-test', `TmpDir ${dir}`, 'MaxMemObject 131072', 'DebugLevel 1',
    `ModulesDir ${modules}`, `ServicesDir ${modules}`, 'TemplateDir /usr/share/c_icap/templates/',
    'LoadMagicFile /etc/c-icap/c-icap.magic', `ServerLog ${dir}/server.log`, `AccessLog ${dir}/access.log`,
    'Service echo srv_echo.so', '',
  ].join('\n'));
  let child: ChildProcess | null = null;
  let output = '';
  const launch = async (): Promise<void> => {
    // c-icap refuses to start while its control socket exists ("already running").
    rmSync(join(dir, 'c-icap.ctl'), { force: true });
    rmSync(join(dir, 'c-icap.pid'), { force: true });
    child = spawn('c-icap', ['-N', '-D', '-f', conf], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForPort(port, () => `${output}\n${existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : ''}`);
  };
  const signal = (sig: NodeJS.Signals): void => {
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (running === null || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    signal('SIGKILL');
    await exited;
  };
  await launch();
  return {
    port,
    dir,
    accessLog: () => (existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : ''),
    restart: launch,
    signal,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestIcapService {
  port: number;
  /** The ICAP request heads it read, in order. */
  requests(): Array<{ method: string; uri: string; headers: Record<string, string>; http: string; open: number }>;
  /** Connections open at its last event (a connection made or closed by exaproxy, a request read). */
  open(): number;
  /** The most connections open at once that carried a RESPMOD. */
  peak(): number;
  /** Connections exaproxy made so far. */
  connected(): number;
  /** Connections exaproxy closed so far. */
  closed(): number;
  stop(): Promise<void>;
}

/** Starts __test__/fixtures/icap/icap-service.mjs with these flags (see its header). */
export async function startTestIcapService(flags: string[] = []): Promise<TestIcapService> {
  const script = join(__dirname, '..', 'fixtures', 'icap', 'icap-service.mjs');
  const child = spawn(process.execPath, [script, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await until(() => /^listening \d+$/m.test(out), 'the test ICAP service to listen', () => out);
  const port = Number(/^listening (\d+)$/m.exec(out)![1]);
  const lines = () => out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  return {
    port,
    requests: () => lines().filter((line) => line.method !== '-closed-' && line.method !== '-connected-'),
    open: () => lines().at(-1)?.open ?? 0,
    peak: () => lines().reduce((most, line) => Math.max(most, line.peak ?? 0), 0),
    connected: () => lines().filter((line) => line.method === '-connected-').length,
    closed: () => lines().filter((line) => line.method === '-closed-').length,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
