// Squid url_rewrite helper protocol through the pool, with real helper processes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { example, fixture, options, readLines, replyPath, request, tempDir, withPool } from './fixtures/redirectors/harness';

const squid = { protocol: 'squid' as const };

test('squid: the request line is the Squid 3.4+ default, with channel-IDs only when concurrency > 0', async () => {
  const dir = tempDir();
  const plain = join(dir.path, 'plain');
  const concurrent = join(dir.path, 'concurrent');
  try {
    await withPool(options(fixture('scripted.py', '--record', plain), squid), async (pool) => {
      await pool.decide(request({ host: 'www.example.com', port: 8080, path: '/a?b=1' }));
      await pool.decide(request({ host: 'www.example.com', port: 80, path: '/' }));
      await pool.decide(request({ method: 'CONNECT', scheme: 'https', host: 'www.google.com', port: 443, path: '/' }));
      await pool.decide(request({ scheme: 'https', host: '2001:db8::1', port: 443, path: '/x', myIp: '10.0.0.1', myPort: 8443 }));
    });
    assert.deepEqual(readLines(plain), [
      'http://www.example.com:8080/a?b=1 192.0.2.10/- - GET myip=127.0.0.1 myport=3128',
      'http://www.example.com/ 192.0.2.10/- - GET myip=127.0.0.1 myport=3128',
      'www.google.com:443 192.0.2.10/- - CONNECT myip=127.0.0.1 myport=3128',
      'https://[2001:db8::1]/x 192.0.2.10/- - GET myip=10.0.0.1 myport=8443',
    ]);
    await withPool(options(fixture('scripted.py', '--record', concurrent, '--default', 'OK'), { ...squid, concurrency: 4, minimum: 1, maximum: 1 }), async (pool) => {
      await Promise.all([pool.decide(request({ path: '/1' })), pool.decide(request({ path: '/2' }))]);
      await pool.decide(request({ path: '/3' }));
    });
    assert.deepEqual(readLines(concurrent), [
      '1 http://www.example.com/1 192.0.2.10/- - GET myip=127.0.0.1 myport=3128',
      '2 http://www.example.com/2 192.0.2.10/- - GET myip=127.0.0.1 myport=3128',
      '3 http://www.example.com/3 192.0.2.10/- - GET myip=127.0.0.1 myport=3128',
    ]);
  } finally {
    dir.remove();
  }
});

test('squid: each reply form maps to its decision', async () => {
  await withPool(options(fixture('scripted.py'), { ...squid, concurrency: 2, minimum: 1, maximum: 1 }), async (pool, log) => {
    let exits = 0;
    pool.on('exit', () => exits++);
    const cases: Array<[string, unknown]> = [
      ['OK rewrite-url="http://other.example/x"', { kind: 'rewrite', url: 'http://other.example/x' }],
      ['OK rewrite-url=http://other.example/%7Euser', { kind: 'rewrite', url: 'http://other.example/~user' }],
      ['OK url="http://block.example/" status=301', { kind: 'redirect', url: 'http://block.example/', status: 301 }],
      ['OK status=307 url=http://block.example/', { kind: 'redirect', url: 'http://block.example/', status: 307 }],
      ['OK url="http://block.example/"', { kind: 'redirect', url: 'http://block.example/', status: 302 }],
      ['OK rewrite-url="http://b.example/" url="http://a.example/"', { kind: 'redirect', url: 'http://a.example/', status: 302 }],
      ['OK', { kind: 'permit' }],
      ['ERR', { kind: 'permit' }],
      ['ERR message="not listed"', { kind: 'permit' }],
      ['', { kind: 'permit' }],
      ['OK status=302', { kind: 'permit' }],
      ['OK url="http://x.example/" status=200', { kind: 'permit' }],
      ['OK rewrite-url="not a url"', { kind: 'permit' }],
      ['OK junk url="http://x.example/"', { kind: 'permit' }],
      // Legacy (Squid 2.x – 3.3) replies.
      ['302:http://block.example/legacy', { kind: 'redirect', url: 'http://block.example/legacy', status: 302 }],
      ['http://new.example/x 192.0.2.10/- - GET', { kind: 'rewrite', url: 'http://new.example/x' }],
      ['404:http://x.example/', { kind: 'permit' }],
      // A quoted value may hold escaped CR/LF: never let that reach a Location header.
      ['OK url="http://a.example/\\r\\nSet-Cookie: x=1"', { kind: 'error', reason: 'squid helper sent a url= holding control characters' }],
    ];
    for (const [reply, decision] of cases) {
      const result = await pool.decide(request({ path: replyPath(reply) }));
      assert.deepEqual(result.decision, decision, `reply ${JSON.stringify(reply)}`);
      assert.equal(result.verdict, reply, 'the verdict is the reply without its channel-ID');
    }
    assert.ok(log.has('status=302 without url= is ignored'), 'status without url is logged');
    assert.equal(exits, 0, 'one helper answered everything, in step');
  });
});

test('squid: CONNECT requests may be rewritten to another host:port', async () => {
  await withPool(options(fixture('scripted.py', '--default', 'OK rewrite-url=10.0.0.9:8443'), squid), async (pool) => {
    const result = await pool.decide(request({ method: 'CONNECT', scheme: 'https', host: 'www.google.com', port: 443, path: '/' }));
    assert.deepEqual(result.decision, { kind: 'rewrite', url: '10.0.0.9:8443' });
  });
});

test('squid: a rewrite to the URL being requested is a permit', async () => {
  await withPool(options(fixture('scripted.py', '--default', 'OK rewrite-url=http://www.example.com/same'), squid), async (pool) => {
    assert.deepEqual((await pool.decide(request({ path: '/same' }))).decision, { kind: 'permit' });
    assert.deepEqual((await pool.decide(request({ path: '/other' }))).decision, { kind: 'rewrite', url: 'http://www.example.com/same' });
  });
});

test('squid: BH is resent to another helper up to twice, then the failure policy answers', async () => {
  const dir = tempDir();
  const record = join(dir.path, 'lines');
  try {
    await withPool(options(fixture('scripted.py', '--record', record, '--state', dir.path), { ...squid, minimum: 2, maximum: 3 }), async (pool) => {
      const always = await pool.decide(request({ path: replyPath('BH message="db down"') }));
      assert.equal(always.decision.kind, 'deny');
      assert.match(always.failure ?? '', /BH: db down/);
      assert.equal(always.verdict, 'BH message="db down"');
      assert.equal(readLines(record).length, 3, 'one attempt and two retries');

      const once = await pool.decide(request({ path: '/bh-once/marker' }));
      assert.deepEqual(once.decision, { kind: 'permit' });
      assert.equal(once.verdict, 'OK');
      assert.equal(once.failure, undefined);
    });
  } finally {
    dir.remove();
  }
});

test('squid concurrency: N requests in flight on one helper, replies matched by channel-ID in any order', async () => {
  const opts = options(fixture('squid-out-of-order.py', '3'), { ...squid, concurrency: 3, minimum: 1, maximum: 1 });
  await withPool(opts, async (pool, log) => {
    for (let round = 0; round < 3; round++) {
      const paths = [0, 1, 2].map((i) => `/r${round}/n${i}`);
      const results = await Promise.all(paths.map((path) => pool.decide(request({ path }))));
      results.forEach((result, i) => {
        assert.equal(result.decision.kind, 'redirect');
        const url = (result.decision as { url: string }).url;
        assert.ok(url.startsWith(`http://www.example.com${paths[i]}#`), `reply for ${paths[i]} went to the right request: ${url}`);
      });
      const ids = results.map((r) => Number((r.decision as { url: string }).url.split('#')[1]));
      assert.equal(new Set(ids).size, 3, 'three distinct channel-IDs');
    }
    assert.equal(pool.stats().size, 1, 'all of it on one helper');
    assert.equal(log.has('channel-ID'), false, 'no reply was unmatched');
  });
});

test('squid concurrency 0: squidGuard-style helpers get no channel-ID and one request at a time', async () => {
  await withPool(options(example('squid-allow.py'), { ...squid, minimum: 1, maximum: 1 }), async (pool) => {
    const results = await Promise.all([1, 2, 3, 4].map((i) => pool.decide(request({ path: `/${i}` }))));
    for (const result of results) assert.deepEqual(result.decision, { kind: 'permit' });
    for (const result of results) assert.equal(result.verdict, 'ERR');
  });
});

for (const language of ['py', 'js', 'sh']) {
  test(`squid examples (${language}): allow, deny-list and rewrite helpers, with and without concurrency`, async () => {
    const dir = tempDir();
    const list = join(dir.path, 'domains');
    writeFileSync(list, 'bad.example # and subdomains\n');
    try {
      for (const concurrency of [0, 2]) {
        const base = { ...squid, concurrency };
        await withPool(options(example(`squid-allow.${language}`), base), async (pool) => {
          assert.deepEqual((await pool.decide(request({ path: '/x' }))).decision, { kind: 'permit' });
        });
        await withPool(options(example(`squid-deny.${language}`, list, 'http://block.page/?from=proxy'), base), async (pool) => {
          const blocked = { kind: 'redirect', url: 'http://block.page/?from=proxy', status: 302 };
          assert.deepEqual((await pool.decide(request({ host: 'www.bad.example' }))).decision, blocked);
          assert.deepEqual((await pool.decide(request({ host: 'bad.example', method: 'CONNECT', scheme: 'https', port: 443 }))).decision, blocked);
          assert.deepEqual((await pool.decide(request({ host: 'bad.example', port: 8080 }))).decision, blocked);
          assert.deepEqual((await pool.decide(request({ host: 'good.example' }))).decision, { kind: 'permit' });
        });
        await withPool(options(example(`squid-rewrite.${language}`, '/old/', '/new/'), base), async (pool) => {
          assert.deepEqual((await pool.decide(request({ path: '/old/a?b=1', port: 8080 }))).decision, { kind: 'rewrite', url: 'http://www.example.com:8080/new/a?b=1' });
          assert.deepEqual((await pool.decide(request({ path: '/other' }))).decision, { kind: 'permit' });
          assert.deepEqual((await pool.decide(request({ method: 'CONNECT', scheme: 'https', port: 443 }))).decision, { kind: 'permit' });
        });
      }
    } finally {
      dir.remove();
    }
  });
}
