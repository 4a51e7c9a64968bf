// ExaProxy `url` helper protocol through the pool, with real helper processes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { example, fixture, options, readLines, replyPath, request, tempDir, withPool } from './fixtures/redirectors/harness';

test('url: the request line is written exactly as ExaProxy writes it', async () => {
  const dir = tempDir();
  const record = join(dir.path, 'lines');
  try {
    await withPool(options(fixture('scripted.py', '--record', record)), async (pool) => {
      await pool.decide(request({ host: 'www.example.com', port: 8080, path: '/search?q=cats' }));
      await pool.decide(request({ method: 'CONNECT', scheme: 'https', host: 'www.google.com', port: 443, path: '/' }));
      await pool.decide(request({ method: 'POST', host: '2001:db8::1', path: '/app', clientIp: '2001:db8::99' }));
      await pool.decide(request({ path: '/a b\r\nGET /smuggled' }));
    });
    assert.deepEqual(readLines(record), [
      'www.example.com/search?q=cats 192.0.2.10 - GET -',
      'www.google.com/ 192.0.2.10 - CONNECT -',
      '[2001:db8::1]/app 2001:db8::99 - POST -',
      // Spaces and line ends can never reach the helper: they would split the line.
      'www.example.com/a%20b%0D%0AGET%20/smuggled 192.0.2.10 - GET -',
    ]);
  } finally {
    dir.remove();
  }
});

test('url: each reply form maps to its decision, with the raw reply as verdict', async () => {
  await withPool(options(fixture('scripted.py'), { minimum: 1, maximum: 1 }), async (pool, log) => {
    let exits = 0;
    pool.on('exit', () => exits++);
    const cases: Array<[string, unknown]> = [
      ['', { kind: 'permit' }],
      ['file://deny.html', { kind: 'file', name: 'deny.html' }],
      ['redirect://https://www.bing.com/', { kind: 'redirect', url: 'https://www.bing.com/', status: 302 }],
      ['intercept://10.1.2.3:8080', { kind: 'intercept', host: '10.1.2.3', port: 8080 }],
      ['intercept://[2001:db8::5]:81', { kind: 'intercept', host: '2001:db8::5', port: 81 }],
      ['  file://spaced.html  ', { kind: 'file', name: 'spaced.html' }],
      ['file://crlf.html\r', { kind: 'file', name: 'crlf.html' }],
    ];
    for (const [reply, decision] of cases) {
      const result = await pool.decide(request({ path: replyPath(reply) }));
      assert.deepEqual(result.decision, decision, `reply ${JSON.stringify(reply)}`);
      assert.equal(result.verdict, reply.replace(/\r$/, ''));
      assert.equal(result.cached, false);
    }
    // intercept:// without a port keeps the request's port.
    const sameport = await pool.decide(request({ port: 8080, path: replyPath('intercept://backend.local') }));
    assert.deepEqual(sameport.decision, { kind: 'intercept', host: 'backend.local', port: 8080 });
    assert.equal(exits, 0, 'one helper answered everything, in step');
    assert.equal(log.has('misbehaved'), false);
  });
});

test('url: unknown replies give the internal_error decision, not a failure', async () => {
  await withPool(options(fixture('scripted.py')), async (pool) => {
    for (const reply of ['garbage', 'OK', 'https://www.example.com/', 'intercept://host:99999', 'file://']) {
      const result = await pool.decide(request({ path: replyPath(reply) }));
      assert.equal(result.decision.kind, 'error', `reply ${JSON.stringify(reply)}`);
      assert.equal(result.verdict, reply);
      assert.equal(result.failure, undefined);
    }
    assert.equal(pool.stats().failures, 0);
  });
});

test('url: http:// replies follow ExaProxy 1.1.2 (same URL permits, same host rewrites, other host redirects)', async () => {
  const program = fixture('scripted.py', '--default', 'http://www.example.com/same?x=1');
  await withPool(options(program), async (pool) => {
    const same = await pool.decide(request({ path: '/same?x=1' }));
    assert.deepEqual(same.decision, { kind: 'permit' });
    const other = await pool.decide(request({ path: '/other' }));
    assert.deepEqual(other.decision, { kind: 'rewrite', url: 'http://www.example.com/same?x=1' });
    const port = await pool.decide(request({ path: '/other', port: 8080 }));
    assert.deepEqual(port.decision, { kind: 'rewrite', url: 'http://www.example.com:8080/same?x=1' });
    const elsewhere = await pool.decide(request({ host: 'elsewhere.example', path: '/same?x=1' }));
    assert.deepEqual(elsewhere.decision, { kind: 'redirect', url: 'http://www.example.com/same?x=1', status: 302 });
    assert.equal(elsewhere.verdict, 'http://www.example.com/same?x=1');
  });
});

for (const language of ['py', 'js', 'sh']) {
  test(`url examples (${language}): allow, deny-list and rewrite helpers`, async () => {
    const dir = tempDir();
    const list = join(dir.path, 'domains');
    writeFileSync(list, '# blocked\nbad.example\n');
    try {
      await withPool(options(example(`url-allow.${language}`)), async (pool) => {
        assert.deepEqual((await pool.decide(request({ path: '/x' }))).decision, { kind: 'permit' });
      });
      await withPool(options(example(`url-deny.${language}`, list)), async (pool) => {
        assert.deepEqual((await pool.decide(request({ host: 'www.bad.example' }))).decision, { kind: 'file', name: 'deny.html' });
        assert.deepEqual((await pool.decide(request({ host: 'bad.example', method: 'CONNECT', scheme: 'https', port: 443 }))).decision, { kind: 'file', name: 'deny.html' });
        assert.deepEqual((await pool.decide(request({ host: 'notbad.example' }))).decision, { kind: 'permit' });
      });
      await withPool(options(example(`url-deny.${language}`, list, 'redirect://http://block.page/')), async (pool) => {
        assert.deepEqual((await pool.decide(request({ host: 'bad.example' }))).decision, { kind: 'redirect', url: 'http://block.page/', status: 302 });
      });
      await withPool(options(example(`url-rewrite.${language}`, '/old/', '/new/')), async (pool) => {
        assert.deepEqual((await pool.decide(request({ path: '/old/page?q=1' }))).decision, { kind: 'rewrite', url: 'http://www.example.com/new/page?q=1' });
        assert.deepEqual((await pool.decide(request({ path: '/other' }))).decision, { kind: 'permit' });
      });
    } finally {
      dir.remove();
    }
  });
}
