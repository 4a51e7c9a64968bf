/**
 * DNS faults (issue 15) with a real DNS server on UDP port 53 of 127.53.x.y, named by the
 * `dns.resolver` file: a server that never answers, SERVFAIL, and a name with only an AAAA
 * record when the proxy may not use IPv6 (tcp6.out=false). Each gets the dns page with 503,
 * complete, in bounded time (curl's --max-time), and the answer of a name that works is
 * unaffected. Runs as root (port 53).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeDns, type FakeDns } from '../helpers/dns';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, parseDump, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
let dns: FakeDns;
let proxy: RunningExaproxy;

before(async () => {
  assert.equal(process.getuid?.(), 0, 'these tests bind a DNS server to port 53 (resolv.conf has no port): run them as root');
  origin = await startOrigin();
  dns = await fakeDns();
  proxy = await startExaproxy(testArgs([
    '--security.local=127.0.0.1:*',
    `--dns.resolver=${dns.resolvConf}`,
    '--dns.timeout=0.3',
    '--dns.retries=2',
    '--tcp6.out=false',
  ]));
});
after(async () => {
  await proxy?.stop();
  dns?.close();
  await origin?.close();
});

/** A GET through the proxy; a curl timeout (exit 28) is a hang and fails the test. */
async function through(name: string): Promise<ReturnType<typeof parseDump>> {
  const r = await curl(['-i', '--max-time', '15', '-x', proxy.url, `http://${name}:${origin.port}/`]);
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  return parseDump(r.stdout);
}

function assertDnsPage(response: ReturnType<typeof parseDump>, name: string): void {
  assert.equal(response.status, 503);
  assert.equal(Buffer.byteLength(response.body, 'latin1'), Number(response.headers.get('content-length')), 'the whole page');
  assert.ok(response.body.includes(name), 'the page names the host');
}

test('a server that never answers: the dns page (503) after dns.timeout × dns.retries, not a hang', async () => {
  assertDnsPage(await through('timeout.exaproxy.test'), 'timeout.exaproxy.test');
  assert.ok(dns.queries.filter((q) => q === 'timeout.exaproxy.test/1').length >= 2, `asked again: ${dns.queries.join(', ')}`);
});

test('SERVFAIL: the dns page (503)', async () => {
  assertDnsPage(await through('servfail.exaproxy.test'), 'servfail.exaproxy.test');
});

test('only an AAAA record with tcp6.out=false: the dns page (503); IPv6 is neither asked nor tried', async () => {
  assertDnsPage(await through('v6only.exaproxy.test'), 'v6only.exaproxy.test');
  assert.ok(dns.queries.includes('v6only.exaproxy.test/1'), `the A record was asked: ${dns.queries.join(', ')}`);
  assert.ok(!dns.queries.includes('v6only.exaproxy.test/28'), `no AAAA query on an IPv4-only path: ${dns.queries.join(', ')}`);
});

test('meanwhile a name that resolves is served', async () => {
  const ok = await through('app.exaproxy.test');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /"url":"\/"/);
});
