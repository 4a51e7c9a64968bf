/**
 * Helpers deciding requests through the whole proxy: ExaProxy's `url` protocol with a
 * real helper process, and squidGuard unchanged with the `squid` protocol.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, parseDump, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
let backend: Origin;
const work = mkdtempSync(join(tmpdir(), 'exaproxy-redirector-'));

before(async () => {
  origin = await startOrigin();
  backend = await startOrigin((_req, res) => {
    res.end('from the intercept backend');
    return true;
  });
});
after(async () => {
  await origin?.close();
  await backend?.close();
});

describe('url protocol (ExaProxy)', () => {
  let proxy: RunningExaproxy;
  let base: string;
  const lines = join(work, 'url-lines.txt');

  before(async () => {
    const helper = join(work, 'url-helper.py');
    writeFileSync(
      helper,
      `#!/usr/bin/env python3
import sys
log = open(${JSON.stringify(lines)}, 'a')
for line in sys.stdin:
    log.write(line); log.flush()
    url = line.split(' ')[0]
    host, _, path = url.partition('/')
    if host.startswith('blocked.'):
        answer = 'file://deny.html'
    elif path.startswith('redirect'):
        answer = 'redirect://http://elsewhere.example/landing'
    elif path.startswith('rewrite'):
        answer = 'http://' + url.replace('/rewrite', '/rewritten')
    elif path.startswith('intercept'):
        answer = 'intercept://127.0.0.1:${backend.port}'
    elif path.startswith('garbage'):
        answer = 'what is this'
    else:
        answer = ''
    sys.stdout.write(answer + '\\n'); sys.stdout.flush()
`,
    );
    chmodSync(helper, 0o755);
    proxy = await startExaproxy(
      testArgs([
        '--redirector.enable=true',
        `--redirector.program=${helper}`,
        '--redirector.minimum=1',
        '--redirector.maximum=2',
        `--security.local=127.0.0.1:${origin.port} 127.0.0.1:${backend.port}`,
      ]),
    );
    base = `http://127.0.0.1:${origin.port}`;
  });
  after(async () => {
    await proxy?.stop();
  });

  const get = (url: string) => curl(['-i', '-x', proxy.url, url]).then((r) => parseDump(r.stdout));

  test('an empty reply forwards the request unchanged', async () => {
    const r = await get(`${base}/page?q=1`);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { url: string }).url, '/page?q=1');
  });

  test('file:// serves the template page with the host', async () => {
    const r = await get('http://blocked.example/x');
    assert.equal(r.status, 200);
    assert.match(r.body, /blocked\.example/);
    assert.match(r.body, /restricted/i);
  });

  test('redirect:// answers 302 with Location', async () => {
    const r = await get(`${base}/redirect`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), 'http://elsewhere.example/landing');
  });

  test('http:// with the same host rewrites the path', async () => {
    const r = await get(`${base}/rewrite/a`);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { url: string }).url, '/rewritten/a');
  });

  test('intercept:// sends the same request to another backend', async () => {
    const r = await get(`${base}/intercept/me`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'from the intercept backend');
    assert.equal(backend.requests.at(-1)!.url, '/intercept/me');
  });

  test('an unknown reply gives the internal_error page', async () => {
    const r = await get(`${base}/garbage`);
    assert.equal(r.status, 503);
    assert.match(r.body, /filter/i);
  });

  test('the helper received ExaProxy lines: host+path, client, method', () => {
    const text = execFileSync('cat', [lines], { encoding: 'utf8' });
    assert.match(text, new RegExp(`^127\\.0\\.0\\.1/page\\?q=1 127\\.0\\.0\\.1 - GET -$`, 'm'));
  });
});

describe('squid protocol with squidGuard', () => {
  let proxy: RunningExaproxy;

  before(async () => {
    const dir = join(work, 'squidguard');
    mkdirSync(join(dir, 'db', 'blocked'), { recursive: true });
    mkdirSync(join(dir, 'log'), { recursive: true });
    writeFileSync(join(dir, 'db', 'blocked', 'domains'), 'blocked.example\nbad.test\n');
    const conf = join(dir, 'squidGuard.conf');
    writeFileSync(
      conf,
      `dbhome ${join(dir, 'db')}\nlogdir ${join(dir, 'log')}\n\n` +
        'dest blocked {\n  domainlist blocked/domains\n}\n\n' +
        'acl {\n  default {\n    pass !blocked all\n    redirect 302:http://block.example/denied?url=%u\n  }\n}\n',
    );
    execFileSync('squidGuard', ['-C', 'all', '-c', conf], { stdio: 'pipe' });
    proxy = await startExaproxy(
      testArgs([
        '--redirector.enable=true',
        '--redirector.protocol=squid',
        `--redirector.program=/usr/bin/squidGuard -c ${conf}`,
        '--redirector.minimum=1',
        `--security.local=127.0.0.1:${origin.port}`,
      ]),
    );
  });
  after(async () => {
    await proxy?.stop();
  });

  test('a blocked domain is redirected to the block page', async () => {
    const r = parseDump((await curl(['-i', '-x', proxy.url, 'http://bad.test/some/page'])).stdout);
    assert.equal(r.status, 302);
    assert.match(r.headers.get('location')!, /^http:\/\/block\.example\/denied\?url=http:\/\/bad\.test\/some\/page/);
  });

  test('an allowed site is fetched', async () => {
    const r = parseDump((await curl(['-i', '-x', proxy.url, `http://127.0.0.1:${origin.port}/fine`])).stdout);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { url: string }).url, '/fine');
  });
});
