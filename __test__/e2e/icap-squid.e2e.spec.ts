/**
 * exaproxy behind Squid as its ICAP filter (docs/operations.md): Debian's Squid, started
 * here with its own configuration, pid file and logs in a temporary folder, sends every
 * request to exaproxy's ICAP listener as REQMOD; squidGuard is exaproxy's helper. A blocked
 * domain gets squidGuard's redirect, an allowed URL the origin's body, and a 1 MB upload
 * reaches the origin byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildBlacklist, ensureSquidGuard } from '../fixtures/redirectors/squidguard';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, freePort, rawConnect, startOrigin, until, type Origin } from '../helpers/net';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The squid.conf lines docs/operations.md gives, around the test's own ports and folder. */
function squidConfig(dir: string, port: number, icapPort: number): string {
  return `http_port 127.0.0.1:${port}
pid_filename ${join(dir, 'squid.pid')}
cache_log ${join(dir, 'cache.log')}
access_log ${join(dir, 'access.log')}
coredump_dir ${dir}
cache deny all
cache_mem 0 MB
netdb_filename none
pinger_enable off
shutdown_lifetime 0 seconds
visible_hostname exaproxy-icap-test
http_access allow localhost
http_access deny all

icap_enable on
adaptation_send_client_ip on
adaptation_send_username on
icap_client_username_header X-Authenticated-User
icap_service exaproxy reqmod_precache icap://127.0.0.1:${icapPort}/filter bypass=off
adaptation_access exaproxy allow all
`;
}

const dir = mkdtempSync(join(tmpdir(), 'exaproxy-icap-squid-'));
let origin: Origin;
let proxy: RunningExaproxy;
let squid: ChildProcess;
let squidPort: number;

before(async () => {
  const squidGuard = ensureSquidGuard();
  const { config } = buildBlacklist(squidGuard, dir, { blocked: ['bad.example'], rewritten: ['old.example'] });
  origin = await startOrigin((req, res, body) => {
    res.setHeader('content-type', 'text/plain');
    res.end(req.method === 'POST' ? `sha256 ${sha256(body)} length ${body.length}` : 'from the origin');
    return true;
  });
  const icapPort = await freePort();
  proxy = await startExaproxy(testArgs([
    '--icap.enable=true',
    '--icap.host=127.0.0.1',
    `--icap.port=${icapPort}`,
    '--redirector.enable=true',
    `--redirector.program=${squidGuard} -c ${config}`,
    '--redirector.protocol=squid',
    '--usage.enable=true',
    '--usage.destination=stderr',
  ]));
  // Squid started as root runs as its cache_effective_user (proxy), which writes its pid file and logs here.
  chmodSync(dir, 0o777);
  squidPort = await freePort();
  const conf = join(dir, 'squid.conf');
  writeFileSync(conf, squidConfig(dir, squidPort, icapPort));
  squid = spawn('squid', ['-N', '-f', conf], { stdio: 'ignore' });
  let failed: Error | null = null;
  squid.once('error', (err) => (failed = err));
  const log = (): string => (existsSync(join(dir, 'cache.log')) ? readFileSync(join(dir, 'cache.log'), 'utf8') : 'no cache.log');
  await until(async () => {
    if (failed !== null) throw new Error(`squid could not be started (${(failed as Error).message}): install the Debian package squid (node scripts/peers.mjs lists the peers)`);
    if (squid.exitCode !== null) throw new Error(`squid exited with ${squid.exitCode}: ${log()}`);
    return rawConnect(squidPort).then((s) => (s.destroy(), true), () => false);
  }, 'squid listening', log);
});

after(async () => {
  if (squid && squid.exitCode === null) {
    const exited = new Promise((resolve) => squid.once('exit', resolve));
    squid.kill('SIGTERM');
    const timer = setTimeout(() => squid.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  await proxy?.stop();
  await origin?.close();
});

function throughSquid(args: string[]): ReturnType<typeof curl> {
  return curl(['-x', `http://127.0.0.1:${squidPort}`, ...args]);
}

test('curl through Squid to a blocked domain gets the redirect squidGuard gives', async () => {
  const r = await throughSquid(['-i', 'http://www.bad.example/page?x=1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/1\.1 302 /);
  assert.match(r.stdout, /\r\nLocation: http:\/\/blocked\.test\/denied\?url=http:\/\/www\.bad\.example\/page\?x=1&target=blocked\r\n/i);
  await until(() => / GET http:\/\/www\.bad\.example\/page\?x=1 REDIRECT\//.test(proxy.stderr()), 'the REDIRECT access line', () => proxy.stderr());
  // Squid asked the service's OPTIONS first (it learns Preview: 0 and Allow: 204 from them).
  assert.match(proxy.stderr(), / OPTIONS icap:\/\/127\.0\.0\.1:\d+\/filter LOCAL/);
});

test("curl through Squid to an allowed URL gets the origin's body", async () => {
  const r = await throughSquid([`http://127.0.0.1:${origin.port}/hello`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from the origin');
  await until(() => new RegExp(` GET http://127\\.0\\.0\\.1:${origin.port}/hello PERMIT/`).test(proxy.stderr()), 'the PERMIT access line', () => proxy.stderr());
});

test('a POST of 1 MB through Squid arrives intact at the origin (Preview: 0, 204)', async () => {
  const body = createHash('sha512').update('seed').digest();
  const upload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < upload.length; i += body.length) body.copy(upload, i);
  const file = join(dir, 'upload.bin');
  writeFileSync(file, upload);
  const r = await throughSquid(['-H', 'Expect:', '--data-binary', `@${file}`, `http://127.0.0.1:${origin.port}/upload`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `sha256 ${sha256(upload)} length ${upload.length}`);
  await until(() => new RegExp(` POST http://127\\.0\\.0\\.1:${origin.port}/upload PERMIT/`).test(proxy.stderr()), 'the POST access line', () => proxy.stderr());
});
