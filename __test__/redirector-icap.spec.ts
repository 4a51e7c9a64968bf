// ExaProxy's ICAP-like helper protocol through the pool, with real helper processes.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { example, fixture, options, request, tempDir, until, withPool } from './fixtures/redirectors/harness';

const icap = { protocol: { icap: 'icap://filter/reqmod' } };

test('icap: the REQMOD message is written exactly as ExaProxy writes it', async () => {
  const dir = tempDir();
  const record = join(dir.path, 'requests');
  const head = 'GET http://www.example.com/a?b=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\n\r\n';
  try {
    await withPool(options(fixture('icap-scripted.py', '--record', record), icap), async (pool) => {
      const result = await pool.decide(request({ path: '/a?b=1', rawHead: Buffer.from(head, 'latin1') }));
      assert.deepEqual(result.decision, { kind: 'permit' });
      assert.equal(result.verdict, 'ICAP/1.0 204 No Content');
    });
    assert.equal(readFileSync(record, 'latin1'), [
      'REQMOD icap://filter/reqmod ICAP/1.0',
      'Host: filter',
      'Pragma: transport=http',
      'Pragma: proxy=test',
      'Pragma: scheme=http',
      'Pragma: accept=127.0.0.1',
      'Pragma: accept-port=3128',
      'Pragma: client=192.0.2.10',
      'Pragma: host=www.example.com',
      'Pragma: path=/a?b=1',
      'Pragma: method=GET',
      `Encapsulated: req-hdr=0, null-body=${Buffer.byteLength(head, 'latin1')}`,
      '',
      head,
    ].join('\n'));
  } finally {
    dir.remove();
  }
});

test('icap: each response form maps to its decision', async () => {
  // One helper, so every response must leave the stream in step for the next one.
  await withPool(options(fixture('icap-scripted.py'), { ...icap, minimum: 1, maximum: 1 }), async (pool, log) => {
    let exits = 0;
    pool.on('exit', () => exits++);
    const decide = (path: string) => pool.decide(request({ path }));
    assert.deepEqual((await decide('/allow')).decision, { kind: 'permit' });
    assert.deepEqual((await decide('/modify')).decision, {
      kind: 'request', head: Buffer.from('GET /safe HTTP/1.1\r\nHost: www.example.com\r\n\r\n'),
    });
    const content = head403('text/plain', 'Content-Length: 7\r\n');
    assert.deepEqual((await decide('/content')).decision, { kind: 'response', head: content, body: Buffer.from('blocked') });
    const chunked = head403('text/html', '');
    for (const path of ['/chunked', '/chunked-crlf', '/chunked']) {
      assert.deepEqual((await decide(path)).decision, { kind: 'response', head: chunked, body: Buffer.from('<b>no</b>!!!!') }, path);
      assert.deepEqual((await decide('/allow')).decision, { kind: 'permit' }, `the stream is still in step after ${path}`);
    }
    assert.deepEqual((await decide('/intercept')).decision, { kind: 'intercept', host: '10.1.2.3', port: 8080 });
    assert.deepEqual((await decide('/connect-only')).decision, {
      kind: 'request', head: Buffer.from('CONNECT 10.9.9.9:443 HTTP/1.1\r\nHost: 10.9.9.9\r\n\r\n'),
    });
    const other = await decide('/other-code');
    assert.deepEqual(other.decision, { kind: 'permit' });
    assert.equal(other.verdict, 'ICAP/1.0 302 Found');
    assert.equal(pool.stats().crashes, 0);
    assert.equal(pool.stats().failures, 0);
    assert.equal(exits, 0, 'the same helper answered everything');
    assert.equal(log.has('misbehaved'), false);
  });
});

function head403(type: string, extra: string): Buffer {
  return Buffer.from(`HTTP/1.1 403 Forbidden\r\nContent-Type: ${type}\r\n${extra}Connection: close\r\n\r\n`);
}

test('icap: stderr output while answering, or a malformed response, fails the helper (retry once, then policy)', async () => {
  await withPool(options(fixture('icap-scripted.py'), { ...icap, minimum: 2, maximum: 3 }), async (pool, log) => {
    const stderr = await pool.decide(request({ path: '/stderr' }));
    assert.equal(stderr.decision.kind, 'deny');
    assert.match(stderr.failure ?? '', /stderr/);
    assert.ok(log.entries.some((e) => (e.fields as { stderr?: string }).stderr === 'something went wrong'), 'the stderr line is logged');

    for (const path of ['/garbage', '/no-reason']) {
      const result = await pool.decide(request({ path }));
      assert.equal(result.decision.kind, 'deny', path);
      assert.match(result.failure ?? '', /ICAP status line/);
    }
    // Replacements answer normally.
    assert.deepEqual((await pool.decide(request({ path: '/allow' }))).decision, { kind: 'permit' });
  });
});

test('icap: stderr output at start, before any request reached the helper, is logged and not a failure', async () => {
  const dir = tempDir();
  try {
    const helper = join(dir.path, 'banner.sh');
    writeFileSync(helper, "#!/bin/sh\necho 'filter loaded' >&2\nwhile read -r line; do case \"$line\" in REQMOD*) printf 'ICAP/1.0 204 No Content\\r\\n\\r\\n';; esac; done\n");
    chmodSync(helper, 0o755);
    // Asked at once: the request waits out the quiet period while the banner arrives.
    await withPool(options([helper], { ...icap, minimum: 1, maximum: 1 }), async (pool, log) => {
      const result = await pool.decide(request());
      assert.deepEqual(result.decision, { kind: 'permit' });
      assert.equal(result.failure, undefined);
      await until(() => log.entries.some((e) => (e.fields as { stderr?: string }).stderr === 'filter loaded'), 3000, 'the banner to be logged');
    });
  } finally {
    dir.remove();
  }
});

test('icap: failure policy allow forwards the request unchanged when the helper misbehaves', async () => {
  await withPool(options(fixture('icap-scripted.py'), { ...icap, failure: 'allow' }), async (pool) => {
    const result = await pool.decide(request({ path: '/garbage' }));
    assert.deepEqual(result.decision, { kind: 'permit' });
    assert.match(result.failure ?? '', /second helper failure/);
  });
});

test('icap example: icap-allow-204.py permits everything', async () => {
  await withPool(options(example('icap-allow-204.py'), { ...icap, minimum: 1, maximum: 1 }), async (pool) => {
    for (const path of ['/', '/x?y=1', '/z']) {
      const result = await pool.decide(request({ path }));
      assert.deepEqual(result.decision, { kind: 'permit' });
      assert.equal(result.verdict, 'ICAP/1.0 204 No Content');
    }
    const connect = await pool.decide(request({ method: 'CONNECT', scheme: 'https', host: 'www.google.com', port: 443, path: '/' }));
    assert.deepEqual(connect.decision, { kind: 'permit' });
  });
});
