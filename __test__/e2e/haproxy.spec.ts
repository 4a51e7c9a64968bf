// Scale-out behind HAProxy: Debian's haproxy in front of two exaproxy instances, speaking the
// PROXY protocol v2 (send-proxy-v2). Requests spread over both instances, and the original
// client appears in each instance's access log and in the line its helper receives.
//
// Every socket is on 127.0.0.1. To tell the original client from HAProxy itself (both would be
// 127.0.0.1), curl binds a known local port range, and HAProxy presents clients from that range
// as 192.0.2.10 (TEST-NET-1, `tcp-request connection set-src`), keeping their port: an address
// and a port exaproxy can only learn from the PROXY header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import { freePort, until } from '../helpers/net';

const root = resolve(__dirname, '../..');
const HAPROXY = '/usr/sbin/haproxy';
const CLIENT = '192.0.2.10';
let dir: string;
let origin: Server;
const children: ChildProcess[] = [];

/** The HAProxy configuration documented in docs/operations.md, plus the test's set-src line. */
function haproxyConfig(listen: number, backends: number[], clientPorts: [number, number] | undefined): string {
  return [
    'global',
    '    maxconn 1000',
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 60s',
    '    timeout server 60s',
    'frontend proxy',
    `    bind 127.0.0.1:${listen}`,
    ...(clientPorts ? [`    tcp-request connection set-src ipv4(${CLIENT}) if { src_port ${clientPorts[0]}:${clientPorts[1]} }`] : []),
    '    default_backend exaproxy',
    'backend exaproxy',
    '    balance roundrobin',
    ...backends.map((port, i) => `    server exaproxy${i + 1} 127.0.0.1:${port} send-proxy-v2 check`),
    '',
  ].join('\n');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exaproxy-haproxy-'));
  // Started as root, exaproxy and its helpers run as daemon.user (nobody): they write here.
  chmodSync(dir, 0o777);
  origin = createServer((req, res) => res.end(`origin saw ${req.method} ${req.url}\n`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  // exaproxy runs from dist/, compiled from the current sources.
  const build = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run build:ts failed:\n${build.stdout}${build.stderr}`);
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await new Promise<void>((r) => origin.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Whether something accepts TCP connections on the port (nothing is sent). */
function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      r(true);
    });
    s.on('error', () => r(false));
  });
}

/** curl, asynchronously: the origin server lives in this process and must keep answering. */
function curl(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function run(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  children.push(child);
  return { child, output: () => out };
}

test('HAProxy with send-proxy-v2 spreads requests over two instances, which see the original client', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(HAPROXY), 'Debian haproxy is needed: apt-get install -y haproxy');
  const originPort = (origin.address() as AddressInfo).port;
  const instances = await Promise.all(
    ['a', 'b'].map(async (name) => {
      const port = await freePort();
      const helperLog = join(dir, `helper-${name}.log`);
      const helper = join(dir, `helper-${name}.sh`);
      // A url-protocol helper: note each line it is given, permit everything (empty reply).
      writeFileSync(helper, `#!/bin/sh\nwhile read -r line; do printf '%s\\n' "$line" >> '${helperLog}'; echo; done\n`);
      chmodSync(helper, 0o755);
      const usage = join(dir, `usage-${name}.log`);
      const proc = run(process.execPath, [
        'bin/exaproxy.js',
        `--tcp4.port=${port}`,
        '--tcp4.host=127.0.0.1',
        '--http.proxied=true',
        '--usage.enable=true',
        '--usage.format=json',
        `--usage.destination=${usage}`,
        '--web.enable=false',
        '--redirector.enable=true',
        '--redirector.protocol=url',
        `--redirector.program=${helper}`,
        '--redirector.minimum=1',
        '--redirector.maximum=2',
        `--security.local=127.0.0.1:${originPort}`,
        `--security.clients=127.0.0.0/8 ${CLIENT}/32`,
      ]);
      return { name, port, usage, helperLog, ...proc };
    }),
  );
  for (const i of instances) {
    await until(
      // Its start-up line, not a probe connection: HAProxy's health checks test bare connections.
      () => i.child.exitCode !== null || i.output().includes(`listening on 127.0.0.1:${i.port}`),
      `exaproxy ${i.name} listening`,
      i.output,
    );
    assert.equal(i.child.exitCode, null, `exaproxy ${i.name} exited:\n${i.output()}`);
  }

  const front = await freePort();
  const base = 20000 + Math.floor(Math.random() * 30000);
  const clientPorts: [number, number] = [base, base + 199];
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(front, instances.map((i) => i.port), clientPorts));
  const check = spawnSync(HAPROXY, ['-c', '-f', config], { encoding: 'utf8' });
  assert.equal(check.status, 0, `haproxy -c:\n${check.stdout}${check.stderr}`);
  const haproxy = run(HAPROXY, ['-db', '-f', config]);
  await until(
    () => listening(front),
    'haproxy listening',
    haproxy.output,
  );

  const answers: string[] = [];
  for (let n = 0; n < 6; n++) {
    const r = await curl(
      ['-sS', '--max-time', '10', '--local-port', `${clientPorts[0]}-${clientPorts[1]}`, '-x', `http://127.0.0.1:${front}`, `http://127.0.0.1:${originPort}/item/${n}`],
    );
    assert.equal(r.status, 0, `curl request ${n}: ${r.stderr}\n${instances.map((i) => i.output()).join('\n')}`);
    answers.push(r.stdout);
  }
  answers.forEach((a, n) => assert.equal(a, `origin saw GET /item/${n}\n`));

  // Stopping flushes the access logs (they are written in batches). HAProxy's health checks
  // have opened and closed bare connections meanwhile: they must not hold the stop.
  haproxy.child.kill('SIGTERM');
  const exits = await Promise.all(
    instances.map(
      (i) =>
        new Promise<boolean>((r) => {
          if (i.child.exitCode !== null) return r(true);
          const timer = setTimeout(() => r(false), 10_000);
          i.child.on('exit', () => {
            clearTimeout(timer);
            r(true);
          });
          i.child.kill('SIGTERM');
        }),
    ),
  );
  exits.forEach((exited, n) => assert.ok(exited, `exaproxy ${instances[n].name} did not exit within 10 s of SIGTERM:\n${instances[n].output()}`));
  for (const i of instances) {
    assert.ok(existsSync(i.usage), `access log of ${i.name}:\n${i.output()}`);
    const entries = readFileSync(i.usage, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { clientIp: string; clientPort: number; url: string });
    assert.equal(entries.length, 3, `round robin gives ${i.name} three of the six requests`);
    for (const e of entries) {
      assert.equal(e.clientIp, CLIENT, `${i.name} logs the client HAProxy announced`);
      assert.ok(e.clientPort >= clientPorts[0] && e.clientPort <= clientPorts[1], `${i.name} logs the client's own port (${e.clientPort})`);
    }
    const helperLines = readFileSync(i.helperLog, 'utf8').trim().split('\n');
    assert.equal(helperLines.length, 3);
    for (const line of helperLines) assert.match(line, new RegExp(`^127\\.0\\.0\\.1/item/\\d ${CLIENT.replaceAll('.', '\\.')} - GET -$`));
  }
});
