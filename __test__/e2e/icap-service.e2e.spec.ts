/**
 * `redirector.protocol = icap-service://…`: exaproxy asks a network ICAP server (REQMOD over
 * TCP) about every request. The real c-icap server (Debian, srv_echo) for the plain path and
 * for a server killed mid-request; the test ICAP service (fixtures/icap) for the answers
 * c-icap's packaged services never give: a block page, a modified request, an ICAP error.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { join } from 'node:path';
import { ensureNcsaAuth, writeHtpasswd } from '../fixtures/auth/htpasswd';
import { tempDir } from '../fixtures/redirectors/harness';
import { startCIcap, startTestIcapService, type CIcap, type TestIcapService } from '../helpers/icap-services';
import { curl, parseDump, startOrigin, until, type Origin } from '../helpers/net';

let origin: Origin;

before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

function icapArgs(service: string, extra: string[] = []): string[] {
  return testArgs([
    '--redirector.enable=true',
    `--redirector.protocol=${service}`,
    '--redirector.minimum=1',
    '--redirector.maximum=4',
    `--security.local=127.0.0.1:${origin.port}`,
    '--usage.enable=true',
    '--usage.destination=stderr',
    ...extra,
  ]);
}

/** Bytes received and not yet read by the server side of connections to `port` (ss, iproute2). */
function queuedAt(port: number): number {
  const out = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '').reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0);
}

const get = (proxy: RunningExaproxy, url: string) => curl(['-i', '-x', proxy.url, url]).then((r) => parseDump(r.stdout));

describe('c-icap (srv_echo) as the ICAP service', () => {
  let icap: CIcap;
  let proxy: RunningExaproxy;

  before(async () => {
    icap = await startCIcap();
    proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${icap.port}/echo`, ['--redirector.timeout=3']));
  });
  after(async () => {
    await proxy?.stop();
    await icap?.stop();
  });

  test('OPTIONS at start, then a REQMOD per request: the echo service answers 204 and the origin is reached', async () => {
    await until(() => / OPTIONS echo 200/.test(icap.accessLog()), 'c-icap to log the OPTIONS request', () => icap.accessLog());
    const r = await get(proxy, `http://127.0.0.1:${origin.port}/through-c-icap?x=1`);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { url: string }).url, '/through-c-icap?x=1');
    await until(() => / REQMOD echo 204/.test(icap.accessLog()), 'c-icap to log the REQMOD', () => icap.accessLog());
    await until(() => /through-c-icap\S* PERMIT\/ICAP\/1\.0 204/.test(proxy.stderr()), 'the access line with the ICAP verdict', () => proxy.stderr());
  });

  test('c-icap killed mid-request: redirector.failure (deny) answers 503; the pool recovers once c-icap is back', async () => {
    icap.signal('SIGSTOP'); // c-icap reads nothing more: the REQMOD waits in its socket
    const pending = get(proxy, `http://127.0.0.1:${origin.port}/mid-request`);
    await until(() => queuedAt(icap.port) > 0, 'the REQMOD to wait, unread, in c-icap\'s socket');
    icap.signal('SIGKILL');
    const denied = await pending;
    assert.equal(denied.status, 503);
    assert.equal(origin.requests.some((q) => q.url === '/mid-request'), false);

    await icap.restart();
    await until(async () => (await get(proxy, `http://127.0.0.1:${origin.port}/after-restart`)).status === 200,
      'a request to pass again once c-icap is back', () => proxy.stderr());
    assert.ok(origin.requests.some((q) => q.url === '/after-restart'));
  });
});

describe('the test ICAP service: block page, modified request, ICAP errors, what it is sent', () => {
  let service: TestIcapService;
  let proxy: RunningExaproxy;
  let base: string;

  before(async () => {
    service = await startTestIcapService(['--ttl=1']);
    proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${service.port}/filter`));
    base = `http://127.0.0.1:${origin.port}`;
  });
  after(async () => {
    await proxy?.stop();
    await service?.stop();
  });

  test('REQMOD carries the client head, X-Client-IP and Allow: 204, with null-body', async () => {
    const r = await get(proxy, `${base}/plain`);
    assert.equal(r.status, 200);
    const sent = service.requests().find((q) => q.method === 'REQMOD' && q.http.includes('/plain'))!;
    assert.equal(sent.uri, `icap://127.0.0.1:${service.port}/filter`);
    assert.equal(sent.headers['host'], `127.0.0.1:${service.port}`);
    assert.equal(sent.headers['x-client-ip'], '127.0.0.1');
    assert.equal(sent.headers['allow'], '204');
    assert.match(sent.headers['encapsulated']!, /^req-hdr=0, null-body=\d+$/);
    assert.match(sent.http, new RegExp(`^GET http://127\\.0\\.0\\.1:${origin.port}/plain HTTP/1\\.1\r\n`));
    assert.doesNotMatch(sent.http, /^proxy-connection:/im);
  });

  test('200 with res-hdr: the client gets the service\'s page, the origin is not asked', async () => {
    const r = await get(proxy, `${base}/deny/this`);
    assert.equal(r.status, 403);
    assert.equal(r.body, 'blocked by the test service');
    assert.equal(origin.requests.some((q) => q.url === '/deny/this'), false);
  });

  test('200 with req-hdr: the modified request goes to the origin', async () => {
    const r = await get(proxy, `${base}/modify/me?q=2`);
    assert.equal(r.status, 200);
    const seen = origin.requests.at(-1)!;
    assert.equal(seen.url, '/modified?q=2');
    assert.equal(seen.headers['x-modified'], 'by-icap');
  });

  test('an ICAP error status: redirector.failure (deny) answers 503', async () => {
    const r = await get(proxy, `${base}/icap-error`);
    assert.equal(r.status, 503);
    assert.equal(origin.requests.some((q) => q.url === '/icap-error'), false);
  });

  test('OPTIONS is asked again after its Options-TTL', async () => {
    await until(() => service.requests().filter((q) => q.method === 'OPTIONS').length >= 2, 'a second OPTIONS request', () => JSON.stringify(service.requests()));
  });
});

describe('OPTIONS is honoured', () => {
  test('a service whose Methods lack REQMOD is never sent one: redirector.failure answers (allow forwards)', async () => {
    const service = await startTestIcapService(['--methods=RESPMOD']);
    const proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${service.port}/filter`, ['--redirector.failure=allow']));
    try {
      await until(() => service.requests().some((q) => q.method === 'OPTIONS'), 'the OPTIONS request');
      await until(() => /does not offer REQMOD/.test(proxy.stdout() + proxy.stderr()), 'the ERROR line about Methods', () => proxy.stdout() + proxy.stderr());
      const r = await get(proxy, `http://127.0.0.1:${origin.port}/deny/but-allowed`);
      assert.equal(r.status, 200);
      assert.equal(service.requests().some((q) => q.method === 'REQMOD'), false);
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });

  test('a path whose extension is in Transfer-Ignore is not sent to the service (and goes through)', async () => {
    const service = await startTestIcapService(['--ignore=jpg,png']);
    const proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${service.port}/filter`));
    try {
      await until(() => service.requests().some((q) => q.method === 'OPTIONS'), 'the OPTIONS request');
      // Until OPTIONS is read, /deny/… is sent and refused; from then on a .jpg no longer is.
      await until(async () => (await get(proxy, `http://127.0.0.1:${origin.port}/deny/probe.jpg`)).status === 200, 'the Transfer-Ignore list to apply');
      const r = await get(proxy, `http://127.0.0.1:${origin.port}/deny/picture.JPG?size=2`);
      assert.equal(r.status, 200);
      assert.equal(service.requests().some((q) => q.http.includes('picture')), false);
      assert.equal((await get(proxy, `http://127.0.0.1:${origin.port}/deny/page.html`)).status, 403, 'other paths are still sent');
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });

  test('Max-Connections bounds the pool: redirector.minimum 3 becomes 1 connection, requests take turns on it', async () => {
    const service = await startTestIcapService(['--max-connections=1']);
    const proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${service.port}/filter`, ['--redirector.minimum=3', '--log.level=INFO']));
    try {
      await until(() => /"minimum":1,"maximum":1,"msg":"redirector pool resized"/.test(proxy.stdout() + proxy.stderr()), 'the pool resized to Max-Connections', () => proxy.stdout() + proxy.stderr());
      await until(() => service.open() <= 1, 'the connections above the limit to close', () => JSON.stringify(service.requests()));
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((name) => get(proxy, `http://127.0.0.1:${origin.port}/turn-${name}`)));
      for (const r of results) assert.equal(r.status, 200);
      const reqmods = service.requests().filter((q) => q.method === 'REQMOD');
      assert.equal(reqmods.length, 4);
      for (const q of reqmods) assert.equal(q.open, 1, 'one connection at a time');
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });

  test('a service that closes after each answer (Connection: close): queued requests go on new connections, none fails', async () => {
    const service = await startTestIcapService(['--close']);
    const proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${service.port}/filter`, ['--redirector.maximum=1']));
    try {
      const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => get(proxy, `http://127.0.0.1:${origin.port}/closing-${name}`)));
      for (const r of results) assert.equal(r.status, 200);
      assert.equal(service.requests().filter((q) => q.method === 'REQMOD').length, 5);
      assert.doesNotMatch(proxy.stdout() + proxy.stderr(), /lost its connection|failure policy/);
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });

  test('a new ISTag forgets the remembered verdicts (redirector.cache)', async () => {
    const first = await startTestIcapService(['--ttl=1', '--istag=one']);
    const proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${first.port}/filter`, ['--redirector.cache=600']));
    let second: TestIcapService | null = null;
    try {
      const url = `http://127.0.0.1:${origin.port}/cached`;
      await until(() => first.requests().some((q) => q.method === 'OPTIONS'), 'the OPTIONS request');
      assert.equal((await get(proxy, url)).status, 200);
      assert.equal((await get(proxy, url)).status, 200);
      assert.equal(first.requests().filter((q) => q.method === 'REQMOD').length, 1, 'the second request is answered from the cache');
      await first.stop();
      second = await startTestIcapService(['--ttl=1', '--istag=two', `--port=${first.port}`]);
      await until(() => second!.requests().some((q) => q.method === 'OPTIONS'), 'OPTIONS asked of the new service', () => proxy.stderr());
      await until(async () => (await get(proxy, url)).status === 200 && second!.requests().some((q) => q.method === 'REQMOD'),
        'the request to reach the service with the new ISTag', () => proxy.stderr());
    } finally {
      await proxy.stop();
      await first.stop();
      await second?.stop();
    }
  });
});

test('with auth.enable the service gets the checked user (X-Authenticated-User), never the password', async () => {
  const dir = tempDir();
  const passwd = writeHtpasswd(join(dir.path, 'passwd'), { alice: 'alice pw' });
  const service = await startTestIcapService();
  const proxy = await startExaproxy(icapArgs(`icap-service://127.0.0.1:${service.port}/filter`, [
    '--auth.enable=true', `--auth.program=${ensureNcsaAuth()} ${passwd}`, '--auth.minimum=1',
  ]));
  try {
    const r = await curl(['-i', '-x', proxy.url, '-U', 'alice:alice pw', `http://127.0.0.1:${origin.port}/as-alice`]).then((c) => parseDump(c.stdout));
    assert.equal(r.status, 200);
    const sent = service.requests().find((q) => q.method === 'REQMOD' && q.http.includes('/as-alice'))!;
    assert.equal(sent.headers['x-authenticated-user'], 'alice');
    assert.doesNotMatch(sent.http, /proxy-authorization/i);
  } finally {
    await proxy.stop();
    await service.stop();
    dir.remove();
  }
});
