/**
 * `redirector.respmod`: responses go through the ICAP service of `redirector.protocol =
 * icap-service://…` as RESPMOD, with its Preview. The real c-icap server (Debian, srv_echo:
 * 100 Continue to the preview, then 200 with the response echoed) for large bodies, both
 * framings and a client that does not read; the test ICAP service (fixtures/icap) for 204,
 * a replaced body, ICAP errors and a cut answer, a service that does not offer RESPMOD, and
 * the bound on RESPMOD connections (Max-Connections, redirector.maximum, the wait for one).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { dataPathPid, startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { startCIcap, startTestIcapService, type CIcap, type TestIcapService } from '../helpers/icap-services';
import { curl, parseDump, rawConnect, startOrigin, until, type Origin } from '../helpers/net';
import { runCli } from '../helpers/run-cli';

const BIG = randomBytes(48 << 20);
const TEN_MB = 10 << 20;
const MEDIUM = randomBytes(200 * 1024);
const TRICKLE_MS = 2500;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let origin: Origin;

/** `/length/N…`: N bytes of BIG with a Content-Length; `/chunked/N…`: the same, chunked. */
before(async () => {
  origin = await startOrigin((req, res) => {
    if (req.url?.startsWith('/trickle')) {
      // 1000 bytes: 100 at once, the rest TRICKLE_MS later (a RESPMOD preview left open that long).
      res.setHeader('content-length', 1000);
      res.write(MEDIUM.subarray(0, 100));
      setTimeout(() => res.end(MEDIUM.subarray(100, 1000)), TRICKLE_MS);
      return true;
    }
    const m = /^\/[a-z0-9-]*\/?(length|chunked)\/(\d+)/.exec(req.url ?? '');
    if (m === null) return false;
    const body = (Number(m[2]) <= MEDIUM.length ? MEDIUM : BIG).subarray(0, Number(m[2]));
    res.setHeader('content-type', 'application/octet-stream');
    if (m[1] === 'length') {
      res.setHeader('content-length', body.length);
      res.end(body);
    } else {
      for (let at = 0; at < body.length; at += 65536) res.write(body.subarray(at, at + 65536));
      res.end();
    }
    return true;
  });
});
after(async () => {
  await origin?.close();
});

function respmodArgs(service: string, extra: string[] = []): string[] {
  return testArgs([
    '--redirector.enable=true',
    `--redirector.protocol=${service}`,
    '--redirector.respmod=true',
    '--redirector.minimum=1',
    '--redirector.maximum=4',
    '--redirector.timeout=5',
    `--security.local=127.0.0.1:${origin.port}`,
    '--usage.enable=true',
    '--usage.destination=stderr',
    ...extra,
  ]);
}

interface Fetched {
  code: number;
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

async function fetch(proxy: RunningExaproxy, path: string, extra: string[] = []): Promise<Fetched> {
  const r = await curl(['-i', ...extra, '-x', proxy.url, `http://127.0.0.1:${origin.port}${path}`]);
  if (r.stdout === '') return { code: r.code, status: 0, headers: new Map(), body: Buffer.alloc(0) };
  const dump = parseDump(r.stdout);
  return { code: r.code, status: dump.status, headers: dump.headers, body: Buffer.from(dump.body, 'latin1') };
}

function assertOriginal(r: Fetched, size: number): void {
  assert.equal(r.code, 0, `curl exit ${r.code}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, size);
  assert.equal(sha(r.body), sha((size <= MEDIUM.length ? MEDIUM : BIG).subarray(0, size)));
}

describe('c-icap (srv_echo) as the RESPMOD service', () => {
  let icap: CIcap;
  let proxy: RunningExaproxy;

  before(async () => {
    icap = await startCIcap();
    proxy = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${icap.port}/echo`));
    await until(() => / OPTIONS echo 200/.test(icap.accessLog()), 'c-icap to log the OPTIONS request', () => icap.accessLog());
  });
  after(async () => {
    await proxy?.stop();
    await icap?.stop();
  });

  for (const framing of ['length', 'chunked'] as const) {
    test(`a 10 MB ${framing === 'length' ? 'Content-Length' : 'chunked'} response, adapted (200) and not (204 to the preview), arrives byte-exact`, async () => {
      // srv_echo answers every other preview with 204 and the others with 100 Continue then 200.
      for (const turn of [1, 2]) assertOriginal(await fetch(proxy, `/c-icap-${framing}-${turn}/${framing}/${TEN_MB}`), TEN_MB);
      const lines = () => proxy.stderr().split('\n').filter((line) => line.includes(`/c-icap-${framing}-`));
      await until(() => lines().length === 2, 'both access lines', () => proxy.stderr());
      assert.equal(lines().filter((line) => line.endsWith(' LOCAL/RESPMOD ICAP/1.0 200 OK')).length, 1, lines().join('\n'));
      assert.equal(lines().filter((line) => line.endsWith(' PERMIT/RESPMOD ICAP/1.0 204')).length, 1, lines().join('\n'));
      assert.match(icap.accessLog(), /RESPMOD echo 200/);
    });
  }

  test('a small response (inside the preview, ieof) and an HTTP/1.0 client (close-delimited) arrive exact', async () => {
    assertOriginal(await fetch(proxy, '/small/length/100'), 100);
    const r = await fetch(proxy, '/old-client/chunked/150000', ['-0']);
    assertOriginal(r, 150000);
    assert.equal(r.headers.get('transfer-encoding'), undefined);
    assert.equal(r.headers.get('connection'), 'close');
  });

  test('a client that does not read an adapted 48 MB response: exaproxy pauses c-icap and the origin, memory stays bounded, nothing lost', async () => {
    // srv_echo alternates 204 and 200: small requests until one got 204, so that the next one is adapted.
    const accessLine = (path: string) => proxy.stderr().split('\n').find((line) => line.includes(path)) ?? '';
    for (let turn = 0; turn < 3; turn++) {
      assertOriginal(await fetch(proxy, `/prime-${turn}/length/100`), 100);
      await until(() => accessLine(`/prime-${turn}/`) !== '', 'the access line');
      if (accessLine(`/prime-${turn}/`).endsWith('RESPMOD ICAP/1.0 204')) break;
    }
    const worker = dataPathPid(proxy);
    const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker}/status`, 'utf8'))![1]) * 1024;
    const start = rss();
    const s = await rawConnect(proxy.port);
    s.pause();
    s.write(`GET http://127.0.0.1:${origin.port}/slow/length/${BIG.length} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    // Wait for the flow to stop: the worker's memory no longer grows while nobody reads.
    let last = -1;
    await until(async () => {
      await new Promise((r) => setTimeout(r, 500));
      const now = rss();
      const still = Math.abs(now - last) < 256 * 1024;
      last = now;
      return still;
    }, 'the worker to stop growing while the client does not read');
    assert.ok(last - start < 24 << 20, `worker RSS grew by ${((last - start) / 1048576).toFixed(1)} MiB for a 48 MiB body nobody read`);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.resume();
    await until(() => {
      const got = Buffer.concat(chunks);
      const end = got.indexOf('\r\n\r\n');
      return end !== -1 && got.length - end - 4 >= BIG.length;
    }, 'the whole body once the client reads');
    const got = Buffer.concat(chunks);
    const body = got.subarray(got.indexOf('\r\n\r\n') + 4);
    assert.equal(sha(body), sha(BIG));
    s.destroy();
    await until(() => accessLine('/slow/') !== '', 'the access line');
    assert.match(accessLine('/slow/'), / LOCAL\/RESPMOD ICAP\/1\.0 200 OK$/, 'the response was adapted by c-icap');
  });
});

describe('the test ICAP service: 204, a replaced body, errors, limits', () => {
  let service: TestIcapService;
  /** redirector.failure = deny (the default). */
  let deny: RunningExaproxy;
  /** redirector.failure = allow, respmod-limit 2000 with bypass. */
  let allow: RunningExaproxy;
  /** respmod-limit 2000 with deny. */
  let limited: RunningExaproxy;

  before(async () => {
    service = await startTestIcapService(['--methods=REQMOD,RESPMOD', '--preview=4096']);
    const uri = `icap-service://127.0.0.1:${service.port}/filter`;
    [deny, allow, limited] = await Promise.all([
      startExaproxy(respmodArgs(uri)),
      startExaproxy(respmodArgs(uri, ['--redirector.failure=allow', '--redirector.respmod-limit=2000'])),
      startExaproxy(respmodArgs(uri, ['--redirector.respmod-limit=2000', '--redirector.respmod-over-limit=deny'])),
    ]);
    await until(() => service.requests().filter((q) => q.method === 'OPTIONS').length >= 3, 'OPTIONS from the three proxies');
  });
  after(async () => {
    await Promise.all([deny?.stop(), allow?.stop(), limited?.stop()]);
    await service?.stop();
  });

  const respmods = (path: string) => service.requests().filter((q) => q.method === 'RESPMOD' && q.http.includes(path)) as unknown as Array<{ preview: number; ieof: boolean; headers: Record<string, string> }>;

  test('204 to the preview: the original body, larger than the preview, arrives exact; only the preview was sent', async () => {
    for (const framing of ['length', 'chunked']) {
      assertOriginal(await fetch(deny, `/pass-${framing}/${framing}/${MEDIUM.length}`), MEDIUM.length);
      const seen = respmods(`/pass-${framing}/`);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.preview, 4096);
      assert.equal(seen[0]!.ieof, false);
      assert.equal(seen[0]!.headers.preview, '4096');
    }
    assert.equal(service.requests().filter((q) => q.method === 'RESPMOD-rest').length, 0, 'no 100 Continue was needed');
  });

  test('a body that ends inside the preview is sent with ieof', async () => {
    assertOriginal(await fetch(deny, '/tiny/length/300'), 300);
    assert.deepEqual(respmods('/tiny/').map((q) => [q.preview, q.ieof]), [[300, true]]);
  });

  test('200 with a replaced body: the client gets the service\'s page, framed for its HTTP version', async () => {
    const r = await fetch(deny, `/virus/length/${MEDIUM.length}`);
    assert.equal(r.code, 0);
    assert.equal(r.status, 403);
    assert.equal(r.body.toString(), 'virus found by the test service');
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.equal(r.headers.get('x-scanned'), 'test-service');
    const old = await fetch(deny, `/virus-old/chunked/${MEDIUM.length}`, ['-0']);
    assert.equal(old.status, 403);
    assert.equal(old.body.toString(), 'virus found by the test service');
    assert.equal(old.headers.get('connection'), 'close');
    await until(() => /\/virus\/length\S* LOCAL\/RESPMOD ICAP\/1\.0 200/.test(deny.stderr()), 'the access line saying RESPMOD replaced it', () => deny.stderr());
  });

  test('the access log names the adapted response\'s Content-Type, not the original\'s', async () => {
    const asked = service.requests().filter((q) => q.method === 'OPTIONS').length;
    const squid = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${service.port}/filter`, ['--usage.format=squid']));
    try {
      await until(() => service.requests().filter((q) => q.method === 'OPTIONS').length > asked, 'OPTIONS from the proxy');
      assert.equal((await fetch(squid, '/virus-type/length/5000')).status, 403);
      assertOriginal(await fetch(squid, '/kept-type/length/100'), 100);
      const line = (path: string): string => squid.stderr().split('\n').find((l) => l.includes(path)) ?? '';
      await until(() => line('/virus-type/') !== '' && line('/kept-type/') !== '', 'both access lines', () => squid.stderr());
      assert.match(line('/virus-type/'), / text\/plain$/);
      assert.match(line('/kept-type/'), / application\/octet-stream$/);
    } finally {
      await squid.stop();
    }
  });

  test('ICAP 500 or a connection closed before answering: redirector.failure (deny: 503, allow: the original)', async () => {
    for (const what of ['icap-500', 'icap-close']) {
      const denied = await fetch(deny, `/${what}/length/1000`);
      assert.equal(denied.status, 503, `${what} with failure=deny`);
      assertOriginal(await fetch(allow, `/${what}/length/1000`), 1000);
    }
    await until(() => /RESPMOD failed: answered "ICAP\/1\.0 500 Server Error"/.test(deny.stderr()), 'the access line with the failure', () => deny.stderr());
  });

  test('200 with a req-hdr, or no answer within redirector.timeout: redirector.failure too', async () => {
    assert.equal((await fetch(deny, '/icap-reqhdr/length/1000')).status, 503);
    assertOriginal(await fetch(allow, '/icap-reqhdr/length/1000'), 1000);
    assert.equal((await fetch(deny, '/icap-stall/chunked/1000')).status, 503);
    await until(() => /icap-stall\S* ERROR\/RESPMOD failed: did not answer within 5000 ms/.test(deny.stderr()), 'the access line with the timeout', () => deny.stderr());
  });

  test('responses on one client connection: adapted, original and adapted again, each framed on its own', async () => {
    const paths = ['/virus-1/length/5000', `/keep-2/chunked/${MEDIUM.length}`, '/virus-3/chunked/70000', '/keep-4/length/10'];
    const r = await curl(['-sS', '-x', deny.url, ...paths.flatMap((p) => ['-o', '-', `http://127.0.0.1:${origin.port}${p}`]), '-w', '|%{http_code} %{num_connects}|']);
    assert.equal(r.code, 0, r.stderr);
    const page = 'virus found by the test service';
    const expected = `${page}|403 1|${MEDIUM.toString('latin1')}|200 0|${page}|403 0|${MEDIUM.subarray(0, 10).toString('latin1')}|200 0|`;
    assert.equal(r.stdout.length, expected.length);
    assert.ok(r.stdout === expected, 'four responses in order, each exact, over one connection');
  });

  test('an answer cut half-way once the body is out: the client connection is broken, never a short clean body', async () => {
    const r = await fetch(deny, `/cut/length/${MEDIUM.length}`);
    assert.notEqual(r.code, 0, 'curl sees a broken transfer');
    assert.equal(service.requests().filter((q) => q.method === 'RESPMOD-rest').length, 1, 'the whole body went after 100 Continue');
    // The proxy goes on serving.
    assertOriginal(await fetch(deny, '/after-cut/length/500'), 500);
  });

  test('over redirector.respmod-limit: bypass passes the original (a known length never reaches the service), deny answers 403', async () => {
    assertOriginal(await fetch(allow, `/big-known/length/${MEDIUM.length}`), MEDIUM.length);
    assert.equal(respmods('/big-known/').length, 0, 'a Content-Length above the limit is never sent');
    assertOriginal(await fetch(allow, `/big-unknown/chunked/${MEDIUM.length}`), MEDIUM.length);
    assert.equal((await fetch(limited, `/refuse-known/length/${MEDIUM.length}`)).status, 403);
    assert.equal(respmods('/refuse-known/').length, 0);
    assert.equal((await fetch(limited, `/refuse-unknown/chunked/${MEDIUM.length}`)).status, 403);
    assertOriginal(await fetch(limited, '/under-limit/length/1500'), 1500);
  });
});

test('a service whose OPTIONS do not offer RESPMOD: one warning, responses unchanged', async () => {
  const service = await startTestIcapService(['--methods=REQMOD']);
  const proxy = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${service.port}/filter`));
  try {
    await until(() => service.requests().some((q) => q.method === 'OPTIONS'), 'OPTIONS');
    await until(async () => (await fetch(proxy, '/warm/length/10')).status === 200 && /does not offer RESPMOD/.test(proxy.stdout() + proxy.stderr()),
      'the warning about Methods', () => proxy.stdout() + proxy.stderr());
    assertOriginal(await fetch(proxy, `/unchanged/chunked/${MEDIUM.length}`), MEDIUM.length);
    assert.equal((proxy.stdout() + proxy.stderr()).match(/does not offer RESPMOD/g)!.length, 1, 'said once');
    assert.equal(service.requests().filter((q) => q.method === 'RESPMOD').length, 0);
  } finally {
    await proxy.stop();
    await service.stop();
  }
});

test('a service offering RESPMOD alone (a virus scanner): requests are not sent to it, responses are (but Transfer-Ignore)', async () => {
  const service = await startTestIcapService(['--methods=RESPMOD', '--preview=4096', '--ignore=jpg']);
  const proxy = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${service.port}/avscan`));
  try {
    await until(() => /offers RESPMOD only/.test(proxy.stdout() + proxy.stderr()), 'the line saying so', () => proxy.stdout() + proxy.stderr());
    assertOriginal(await fetch(proxy, `/clean/chunked/${MEDIUM.length}`), MEDIUM.length);
    const infected = await fetch(proxy, '/virus-only/length/5000');
    assert.equal(infected.status, 403);
    assert.equal(infected.body.toString(), 'virus found by the test service');
    assert.deepEqual(service.requests().map((q) => q.method).filter((m) => m !== 'OPTIONS'), ['RESPMOD', 'RESPMOD']);
    assert.doesNotMatch(proxy.stdout() + proxy.stderr(), /does not offer REQMOD/);
    // Each answered message leaves its connection for the next response: none is closed.
    const closed = service.closed();
    for (let turn = 0; turn < 4; turn++) assertOriginal(await fetch(proxy, `/again-${turn}/length/${MEDIUM.length}`), MEDIUM.length);
    assert.equal(service.closed(), closed, 'no ICAP connection closed between complete messages');
    // Transfer-Ignore: a listed extension is not sent.
    assertOriginal(await fetch(proxy, `/photo/length/${MEDIUM.length}/cat.jpg`), MEDIUM.length);
    assert.equal(service.requests().filter((q) => q.http.includes('cat.jpg')).length, 0, 'Transfer-Ignore: jpg');
    // A kept connection the service closes as it is taken: the RESPMOD goes again on a new one.
    assertOriginal(await fetch(proxy, `/stale/length/${MEDIUM.length}`), MEDIUM.length);
    assert.equal(service.requests().filter((q) => q.method === 'RESPMOD' && q.http.includes('/stale/')).length, 1, 'answered on the new connection');
  } finally {
    await proxy.stop();
    await service.stop();
  }
});

describe('RESPMOD connections are bounded: the service\'s Max-Connections, redirector.maximum', () => {
  /** Three responses at once through `proxy`: all arrive whole, over one ICAP connection at a time. */
  async function threeAtOnce(proxy: RunningExaproxy, service: TestIcapService, tag: string): Promise<void> {
    const paths = [1, 2, 3].map((n) => `/${tag}-${n}/${n === 2 ? 'chunked' : 'length'}/${n * 3000}`);
    const fetched = await Promise.all(paths.map((path) => fetch(proxy, path)));
    fetched.forEach((r, n) => assertOriginal(r, (n + 1) * 3000));
    assert.equal(service.requests().filter((q) => q.method === 'RESPMOD' && q.http.includes(`/${tag}-`)).length, 3, 'each response went to the service');
    assert.equal(service.peak(), 1, 'never more than one ICAP connection open at once');
  }

  test('Max-Connections: 1 and a slow service: three responses at once wait their turn and all arrive complete', async () => {
    const service = await startTestIcapService(['--methods=RESPMOD', '--max-connections=1', '--delay=300']);
    const proxy = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${service.port}/avscan`));
    try {
      await until(() => /offers RESPMOD only/.test(proxy.stdout() + proxy.stderr()), 'the OPTIONS answer', () => proxy.stdout() + proxy.stderr());
      await threeAtOnce(proxy, service, 'max-connections');
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });

  test('redirector.maximum bounds them when the service gives no Max-Connections', async () => {
    const service = await startTestIcapService(['--methods=RESPMOD', '--delay=300']);
    const proxy = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${service.port}/avscan`, ['--redirector.maximum=1']));
    try {
      await until(() => /offers RESPMOD only/.test(proxy.stdout() + proxy.stderr()), 'the OPTIONS answer', () => proxy.stdout() + proxy.stderr());
      await threeAtOnce(proxy, service, 'maximum');
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });

  test('a response waiting longer than redirector.timeout for the one connection gets redirector.failure (deny: 503, allow: the original)', async () => {
    const service = await startTestIcapService(['--methods=RESPMOD', '--max-connections=1', '--preview=4096']);
    const uri = `icap-service://127.0.0.1:${service.port}/avscan`;
    const [deny, allow] = await Promise.all([
      startExaproxy(respmodArgs(uri, ['--redirector.timeout=1'])),
      startExaproxy(respmodArgs(uri, ['--redirector.timeout=1', '--redirector.failure=allow'])),
    ]);
    const output = (proxy: RunningExaproxy) => proxy.stdout() + proxy.stderr();
    try {
      for (const proxy of [deny, allow]) await until(() => /offers RESPMOD only/.test(output(proxy)), 'the OPTIONS answer', () => output(proxy));
      // Each proxy's one connection is held by a response whose preview the origin leaves open for TRICKLE_MS.
      const before = service.connected();
      const held = [deny, allow].map((proxy, n) => fetch(proxy, `/trickle-${n}`));
      await until(() => service.connected() === before + 2, 'both held responses connected to the service');
      const [denied, allowed] = await Promise.all([fetch(deny, '/waits-deny/length/1000'), fetch(allow, '/waits-allow/length/1000')]);
      assert.equal(denied.status, 503, 'failure = deny: the error page');
      assertOriginal(allowed, 1000);
      for (const r of await Promise.all(held)) assertOriginal(r, 1000);
      const waited = /\/waits-\S+ [A-Z]+\/RESPMOD failed: had no connection free within 1000 ms \(at most 1 open: its OPTIONS Max-Connections\)/;
      await until(() => waited.test(output(deny)) && waited.test(output(allow)), 'the access lines of the responses that waited', () => output(deny) + output(allow));
      assert.match(output(deny), /the ICAP service \S+ had no connection free within 1000 ms \(at most 1 open: its OPTIONS Max-Connections\); check that it runs/, 'the WARNING');
      assert.equal(service.requests().filter((q) => q.http.includes('/waits-')).length, 0, 'neither reached the service');
    } finally {
      await Promise.all([deny.stop(), allow.stop()]);
      await service.stop();
    }
  });

  test('a client that goes away while its response waits leaves the queue: the next response gets the connection', async () => {
    const service = await startTestIcapService(['--methods=RESPMOD', '--max-connections=1', '--preview=4096']);
    const proxy = await startExaproxy(respmodArgs(`icap-service://127.0.0.1:${service.port}/avscan`));
    try {
      await until(() => /offers RESPMOD only/.test(proxy.stdout() + proxy.stderr()), 'the OPTIONS answer', () => proxy.stdout() + proxy.stderr());
      const before = service.connected();
      const held = fetch(proxy, '/trickle-held');
      await until(() => service.connected() === before + 1, 'the held response connected to the service');
      const leaving = await rawConnect(proxy.port);
      leaving.write(`GET http://127.0.0.1:${origin.port}/leaves/length/1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await until(() => origin.requests.some((q) => q.url.startsWith('/leaves/')), 'the origin to answer the client that leaves');
      await new Promise((resolve) => setTimeout(resolve, 300)); // its response reaches exaproxy and waits
      leaving.resetAndDestroy(); // a reset: gone, not a half-close that still waits for its answer
      const next = fetch(proxy, '/after-leaving/length/1000');
      assertOriginal(await held, 1000);
      assertOriginal(await next, 1000);
      assert.equal(service.requests().filter((q) => q.http.includes('/leaves/')).length, 0, 'the response whose client left never reached the service');
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });
});

test('redirector.respmod without an icap-service protocol, or a bad respmod value, stops the start with one line', async () => {
  await assert.rejects(startExaproxy(testArgs(['--redirector.respmod=true'])), /redirector\.respmod = true needs an ICAP service/);
  const bad = await runCli(testArgs(['--redirector.respmod-over-limit=drop']));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /redirector\.respmod-over-limit.*drop.*bypass.*deny/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('`exaproxy -h` lists the RESPMOD options', async () => {
  const help = await runCli(['-h']);
  for (const option of ['respmod', 'respmod-limit', 'respmod-over-limit']) {
    const line = help.stdout.split('\n').find((l) => l.includes(`exaproxy.redirector.${option} `));
    assert.ok(line !== undefined && !line.includes('not implemented'), `redirector.${option}: ${line}`);
  }
});
