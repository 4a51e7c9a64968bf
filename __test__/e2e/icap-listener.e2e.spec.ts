/**
 * The ICAP listener (icap.enable), end to end against the real exaproxy command: Debian's
 * c-icap-client for OPTIONS and REQMOD, raw sockets for what a well-behaved client never
 * sends (malformed messages, pipelining, bodies with and without preview), and real helper
 * processes in two dialects (a url helper, ExaProxy's icap:// protocol) deciding.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { chunked, get, OPTIONS, reqmod, statuses } from '../helpers/icap';
import { curl, exchange, freePort, rawConnect, readUntil, until } from '../helpers/net';
import { runCli } from '../helpers/run-cli';
import { createServer, type AddressInfo } from 'node:net';

const work = mkdtempSync(join(tmpdir(), 'exaproxy-icap-'));

/** An exaproxy whose ICAP listener is on a free port, with `extra` options. */
async function icapProxy(extra: string[]): Promise<{ proxy: RunningExaproxy; port: number; web: number }> {
  const port = await freePort();
  const web = await freePort();
  const proxy = await startExaproxy(testArgs([
    '--icap.enable=true',
    '--icap.host=127.0.0.1',
    `--icap.port=${port}`,
    '--usage.enable=true',
    '--usage.destination=stderr',
    '--web.enable=true',
    `--web.port=${web}`,
    ...extra,
  ]));
  return { proxy, port, web };
}

/** c-icap-client against the listener; its output (headers with -v). */
function cIcapClient(port: number, args: string[]): string {
  const r = spawnSync('c-icap-client', ['-i', '127.0.0.1', '-p', String(port), '-s', 'filter', ...args], { encoding: 'latin1', timeout: 20_000 });
  if (r.error) throw new Error(`c-icap-client could not be run (${r.error.message}): install the Debian package c-icap`);
  return `${r.stdout}${r.stderr}`;
}

function usage(proxy: RunningExaproxy): string[] {
  return proxy.stderr().split('\n').filter((l) => / usage /.test(l));
}

/** Sends `data` on a new connection and reads until `done`; says whether the proxy closed it. */
async function talk(port: number, data: Buffer, done: (text: string) => boolean): Promise<{ text: string; closed: boolean }> {
  const s = await rawConnect(port);
  const reply = readUntil(s, done);
  s.write(data);
  const text = await reply;
  const closed = s.readableEnded;
  s.destroy();
  return { text, closed };
}

describe('ICAP listener with a url helper', () => {
  let proxy: RunningExaproxy;
  let port: number;
  let web: number;
  const lines = join(work, 'url-lines.txt');

  before(async () => {
    const helper = join(work, 'url-helper.py');
    writeFileSync(helper, `import sys
log = open(${JSON.stringify(lines)}, 'a')
for line in sys.stdin:
    log.write(line); log.flush()
    host = line.split(' ')[0].split('/')[0]
    if host.startswith('blocked.'):
        answer = 'redirect://http://blocked.test/denied'
    elif host.startswith('rewrite.'):
        answer = 'http://rewrite.test/new-path'
    elif host.startswith('intercept.'):
        answer = 'intercept://192.0.2.80:8080'
    elif host.startswith('broken.'):
        answer = 'not a verdict'
    else:
        answer = ''
    sys.stdout.write(answer + '\\n'); sys.stdout.flush()
`);
    ({ proxy, port, web } = await icapProxy([
      '--redirector.enable=true',
      `--redirector.program=python3 ${helper}`,
      '--redirector.protocol=url',
      '--icap.header-size=4096',
    ]));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('c-icap-client OPTIONS: REQMOD, ISTag, Max-Connections, Options-TTL, Allow: 204, Preview: 0, Transfer-Preview: *', () => {
    const out = cIcapClient(port, ['-v']);
    assert.match(out, /ICAP\/1\.0 200 OK/);
    assert.match(out, /Methods: REQMOD\b/);
    assert.match(out, /ISTag: "exaproxy-[0-9a-f]{16}"/);
    assert.match(out, /Service: exaproxy\/\S+ ICAP filter/);
    assert.match(out, /Max-Connections: 32768/);
    assert.match(out, /Options-TTL: 60/);
    assert.match(out, /Allow: 204/);
    assert.match(out, /Preview: 0/);
    assert.match(out, /Transfer-Preview: \*/);
  });

  test('c-icap-client REQMOD: a blocked URL gets 200 with the redirect, a rewritten one 200 with the new request', () => {
    const blocked = cIcapClient(port, ['-req', 'http://blocked.test/x', '-v']);
    assert.match(blocked, /ICAP\/1\.0 200 OK/);
    assert.match(blocked, /Encapsulated: res-hdr=0, null-body=\d+/);
    assert.match(blocked, /HTTP\/1\.0 302 Found/);
    assert.match(blocked, /Location: http:\/\/blocked\.test\/denied/);
    const rewritten = cIcapClient(port, ['-req', 'http://rewrite.test/old', '-v']);
    assert.match(rewritten, /Encapsulated: req-hdr=0, null-body=\d+/);
    assert.match(rewritten, /GET http:\/\/rewrite\.test\/new-path HTTP\/1\.0/);
  });

  test('c-icap-client REQMOD with X-Client-IP and X-Authenticated-User: the helper and the access log see the end client', async () => {
    const out = cIcapClient(port, ['-req', 'http://allowed.test/who', '-x', 'X-Client-IP: 192.0.2.44', '-x', 'X-Authenticated-User: alice smith', '-v']);
    assert.match(out, /ICAP\/1\.0 204/);
    await until(() => readFileSync(lines, 'utf8').includes('allowed.test/who 192.0.2.44 alice%20smith GET -'), 'the helper line', () => readFileSync(lines, 'utf8'));
    await until(() => usage(proxy).some((l) => / 192\.0\.2\.44 GET http:\/\/allowed\.test\/who PERMIT/.test(l)), 'the access line', () => proxy.stderr());
  });

  test('an allowed GET without Allow: 204 gets 200 with the request unchanged', async () => {
    const head = get('http://allowed.test/echo');
    const r = await talk(port, reqmod(head, { allow204: false }), (t) => t.endsWith(head));
    assert.deepEqual(statuses(r.text), [200]);
    assert.match(r.text, new RegExp(`Encapsulated: req-hdr=0, null-body=${head.length}\r\n\r\n`));
  });

  test('an intercept names the other server in the request target: 200 with the new request head', async () => {
    const r = await talk(port, reqmod(get('http://intercept.test/a?b=1')), (t) => statuses(t).length === 1 && t.endsWith('\r\n\r\nGET http://192.0.2.80:8080/a?b=1 HTTP/1.1\r\nHost: intercept.test\r\n\r\n'));
    assert.deepEqual(statuses(r.text), [200]);
    assert.match(r.text, /Encapsulated: req-hdr=0, null-body=\d+\r\n\r\nGET http:\/\/192\.0\.2\.80:8080\/a\?b=1 HTTP\/1\.1\r\n/);
    await until(() => usage(proxy).some((l) => / GET http:\/\/intercept\.test\/a\?b=1 INTERCEPT\//.test(l)), 'the INTERCEPT line', () => proxy.stderr());
  });

  test('a helper reply it cannot read: 200 with the 503 error page for the end client', async () => {
    const r = await talk(port, reqmod(get('http://broken.test/')), (t) => t.endsWith('0\r\n\r\n'));
    assert.deepEqual(statuses(r.text), [200]);
    assert.match(r.text, /res-hdr=0, res-body=\d+\r\n\r\nHTTP\/1\.1 503 /);
  });

  test('pipelined messages on one connection are answered in order, and the connection stays open', async () => {
    const data = Buffer.concat([reqmod(get('http://allowed.test/1')), reqmod(get('http://blocked.test/2')), OPTIONS, reqmod(get('http://allowed.test/3'))]);
    const r = await talk(port, data, (t) => statuses(t).length === 4);
    assert.deepEqual(statuses(r.text), [204, 200, 200, 204]);
    assert.match(r.text, /302 Found[\s\S]*Methods: REQMOD/);
    assert.equal(r.closed, false);
  });

  test('a body without preview is relayed back whole (no Allow: 204), and the next message is read after it', async () => {
    const body = Buffer.alloc(200_000, 'abc');
    const head = `POST http://allowed.test/up HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: ${body.length}\r\n\r\n`;
    const data = Buffer.concat([reqmod(head, { body, allow204: false }), OPTIONS]);
    const r = await talk(port, data, (t) => statuses(t).length === 2);
    assert.deepEqual(statuses(r.text), [200, 200]);
    const start = r.text.indexOf(head) + head.length;
    const end = r.text.indexOf('ICAP/1.0 200', start);
    assert.equal(r.text.slice(start, end), chunked(body).toString('latin1'));
  });

  test('Preview: 0 with a body: permit is 204 at once; a rewrite asks for the rest (100 Continue) and relays it', async () => {
    const body = Buffer.from('name=value&more=data');
    const post = (host: string): string => `POST http://${host}/form HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const allowed = await talk(port, Buffer.concat([reqmod(post('allowed.test'), { body, preview: 0 }), OPTIONS]), (t) => statuses(t).length === 2);
    assert.deepEqual(statuses(allowed.text), [204, 200]);

    const s = await rawConnect(port);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.write(reqmod(post('rewrite.test'), { body, preview: 0 }));
    await until(() => text.includes('ICAP/1.0 100 Continue\r\n\r\n'), '100 Continue', () => text);
    s.write(chunked(body));
    await until(() => text.endsWith(chunked(body).toString('latin1')), 'the 200 with the body relayed', () => text);
    assert.deepEqual(statuses(text), [100, 200]);
    assert.match(text, /req-body=\d+\r\n\r\nPOST http:\/\/rewrite\.test\/new-path HTTP\/1\.1\r\n/);
    s.destroy();
  });

  test('a client that half-closes in the middle of a body is answered, then closed: nothing waits for the rest', async () => {
    const body = Buffer.alloc(1000, 'z');
    const head = `POST http://allowed.test/cut HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: ${body.length}\r\n\r\n`;
    const whole = reqmod(head, { body, allow204: false });
    const s = await rawConnect(port);
    const reply = readUntil(s, () => false);
    s.end(whole.subarray(0, whole.length - 600));
    const text = await reply;
    assert.deepEqual(statuses(text), [200]);
    assert.ok(s.readableEnded, 'closed by the listener');
    s.destroy();
    await until(() => usage(proxy).some((l) => / POST http:\/\/allowed\.test\/cut PERMIT\/client closed before the end of the body/.test(l)), 'the access line', () => proxy.stderr());
  });

  test('RESPMOD is refused with 405 and the connection serves the next message', async () => {
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
    const respmod = Buffer.from(`RESPMOD icap://127.0.0.1/filter ICAP/1.0\r\nHost: 127.0.0.1\r\nEncapsulated: res-hdr=0, res-body=${res.length}\r\n\r\n${res}2\r\nok\r\n0\r\n\r\n`);
    const r = await talk(port, Buffer.concat([respmod, OPTIONS]), (t) => statuses(t).length === 2);
    assert.deepEqual(statuses(r.text), [405, 200]);
    assert.equal(r.closed, false);
  });

  const malformed: [string, Buffer][] = [
    ['missing Encapsulated', Buffer.from('REQMOD icap://127.0.0.1/filter ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n')],
    ['offsets out of order', Buffer.from(`REQMOD icap://127.0.0.1/filter ICAP/1.0\r\nEncapsulated: null-body=30, req-hdr=0\r\n\r\n${get('http://a.test/')}`)],
    ['an offset past the encapsulated head', Buffer.from(`REQMOD icap://127.0.0.1/filter ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=999\r\n\r\n${get('http://a.test/')}${'x'.repeat(999)}`)],
    ['a head over icap.header-size', Buffer.from(`REQMOD icap://127.0.0.1/filter ICAP/1.0\r\nX-Pad: ${'p'.repeat(5000)}\r\nEncapsulated: null-body=0\r\n\r\n`)],
    ['a smuggling encapsulated head', reqmod('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')],
    ['a broken chunked body', Buffer.concat([reqmod(`POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\n`, { body: Buffer.from('ok'), allow204: false }).subarray(0, -9), Buffer.from('zz\r\n\r\n')])],
  ];
  for (const [what, data] of malformed) {
    test(`${what}: ICAP 400, connection closed, the listener serves the next connection`, async () => {
      const r = await talk(port, data, () => false);
      assert.deepEqual(statuses(r.text), r.text.startsWith('ICAP/1.0 200') ? [200, 400] : [400]);
      assert.match(r.text, /ISTag: "exaproxy-/);
      assert.ok(r.closed, 'closed by the listener');
      const next = await exchange(port, Buffer.concat([OPTIONS, Buffer.from('')]), 1000);
      assert.deepEqual(statuses(next), [200]);
    });
  }

  test('the access log and the metrics count ICAP messages', async () => {
    await until(() => usage(proxy).some((l) => / OPTIONS icap:\/\/127\.0\.0\.1\/filter LOCAL/.test(l)), 'an OPTIONS line', () => proxy.stderr());
    await until(() => usage(proxy).some((l) => / GET http:\/\/blocked\.test\/x REDIRECT/.test(l)), 'a REDIRECT line', () => proxy.stderr());
    await until(() => usage(proxy).some((l) => / ICAP - ERROR\/invalid ICAP message: ICAP REQMOD or RESPMOD without Encapsulated/.test(l)), 'the error line', () => proxy.stderr());
    await until(async () => {
      const m = /exaproxy_requests_total\{method="ICAP"\} (\d+)/.exec((await curl([`http://127.0.0.1:${web}/metrics`])).stdout);
      return m !== null && Number(m[1]) >= 10;
    }, 'exaproxy_requests_total{method="ICAP"}');
  });
});

describe('ICAP listener with an icap:// helper', () => {
  let proxy: RunningExaproxy;
  let port: number;
  const record = join(work, 'icap-record.txt');

  before(async () => {
    const helper = join(ROOT, '__test__', 'fixtures', 'redirectors', 'icap-scripted.py');
    ({ proxy, port } = await icapProxy([
      '--redirector.enable=true',
      `--redirector.program=python3 ${helper} --record ${record}`,
      '--redirector.protocol=icap://filter',
    ]));
  });
  after(async () => {
    await proxy?.stop();
  });

  test("the helper's response reaches the ICAP client as res-hdr; X-Client-IP, X-Customer-Name and Allow reach the helper", async () => {
    const fields = 'X-Client-IP: 198.51.100.7\r\nX-Authenticated-User: bob\r\n';
    const data = Buffer.from(reqmod(get('http://any.test/content'), { fields, service: 'filter,acme' }));
    const r = await talk(port, data, (t) => /\r\n\r\n[\s\S]*\r\n\r\n/.test(t) && statuses(t).length === 1 && t.includes('403'));
    assert.deepEqual(statuses(r.text), [200]);
    assert.match(r.text, /Encapsulated: res-hdr=0, (null|res)-body=\d+\r\n\r\nHTTP\/1\.1 403/);
    const seen = readFileSync(record, 'latin1');
    assert.match(seen, /X-Client-IP: 198\.51\.100\.7\n/);
    assert.match(seen, /X-Authenticated-User: bob\n/);
    assert.match(seen, /X-Customer-Name: acme\n/);
    assert.match(seen, /Allow: 204\n/);
    assert.match(seen, /Pragma: client=198\.51\.100\.7\n/);
  });

  test("a helper's new request head reaches the ICAP client as req-hdr", async () => {
    const r = await talk(port, reqmod(get('http://any.test/modify')), (t) => statuses(t).length === 1 && t.endsWith('\r\n\r\n') && t.indexOf('\r\n\r\n') < t.length - 4);
    assert.deepEqual(statuses(r.text), [200]);
    assert.match(r.text, /Encapsulated: req-hdr=0, null-body=\d+\r\n\r\n[A-Z]+ \S+ HTTP\/1\.[01]\r\n/);
    await until(() => usage(proxy).some((l) => / GET http:\/\/any\.test\/modify REWRITE/.test(l)), 'the access line', () => proxy.stderr());
  });
});

describe('ICAP listener options', () => {
  test('`exaproxy -h` no longer marks icap.* as not implemented', async () => {
    const help = await runCli(['-h']);
    for (const option of ['enable', 'host', 'ipv6', 'port', 'connections', 'proxied', 'header-size', 'idle-connect']) {
      const line = help.stdout.split('\n').find((l) => l.includes(`exaproxy.icap.${option} `));
      assert.ok(line !== undefined && !line.includes('not implemented'), `icap.${option}: ${line}`);
    }
  });

  test('an icap.port in use stops the start with one line naming icap.port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = await runCli(testArgs(['--icap.enable=true', '--icap.host=127.0.0.1', `--icap.port=${port}`]));
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`exaproxy: icap\\.port ${port}: 127\\.0\\.0\\.1:${port} is already in use by another program; stop it or choose another icap\\.port`));
      assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, 'no stack trace');
    } finally {
      busy.close();
    }
  });

  test('icap.idle-connect closes a connection that sends nothing', async () => {
    const { proxy, port } = await icapProxy(['--icap.idle-connect=1']);
    try {
      const idle = await rawConnect(port);
      assert.equal(await readUntil(idle, () => false, 8000), '');
      assert.ok(idle.readableEnded, 'closed by the listener');
      idle.destroy();
    } finally {
      await proxy.stop();
    }
  });

  test('icap.proxied: the client is the PROXY header\'s, and security.clients applies to it (403, closed)', async () => {
    const { proxy, port } = await icapProxy(['--icap.proxied=true']);
    try {
      const r = await talk(port, Buffer.concat([Buffer.from('PROXY TCP4 192.0.2.30 127.0.0.1 5555 1344\r\n'), OPTIONS]), () => false);
      assert.deepEqual(statuses(r.text), [403]);
      assert.ok(r.closed);
      await until(() => / 192\.0\.2\.30 ICAP icap:\/\/127\.0\.0\.1\/filter DENY\/ICAP client not allowed/.test(proxy.stderr()), 'the refusal line', () => proxy.stderr());
      const ok = await talk(port, Buffer.concat([Buffer.from('PROXY TCP4 10.1.2.3 127.0.0.1 5555 1344\r\n'), OPTIONS]), (t) => statuses(t).length === 1);
      assert.deepEqual(statuses(ok.text), [200]);
    } finally {
      await proxy.stop();
    }
  });
});
