/**
 * src/auth without a proxy: the Basic header, Squid's escaping, the login dialect and cache,
 * the authenticator over a real helper pool (channel-IDs, user=, BH), and the user field of
 * the redirector request lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Authenticator } from '../src/auth/authenticator';
import { basicCredentials } from '../src/auth/credentials';
import { rfc1738Escape } from '../src/auth/escape';
import { LoginCache, loginKey } from '../src/auth/login-cache';
import { LoginDialect } from '../src/auth/login-dialect';
import { ConfigError, loadConfig } from '../src/config';
import { RangeList } from '../src/proxy/acl';
import { RedirectorPool } from '../src/redirector';
import { IcapDialect } from '../src/redirector/icap-dialect';
import { SquidDialect } from '../src/redirector/squid-dialect';
import { UrlDialect } from '../src/redirector/url-dialect';
import { PYTHON, RecordingLog, options, request } from './fixtures/redirectors/harness';

const basic = (text: string): string => `Basic ${Buffer.from(text, 'latin1').toString('base64')}`;

test('Basic credentials: the user before the first colon, the password after (colons included); anything else is none', () => {
  const c = basicCredentials(basic('alice:pa:ss word'))!;
  assert.equal(c.user.toString(), 'alice');
  assert.equal(c.password.toString(), 'pa:ss word');
  assert.equal(basicCredentials(`bAsIc  ${Buffer.from('bob:x').toString('base64')} `)!.user.toString(), 'bob');
  for (const bad of [undefined, '', 'Basic', 'Bearer abc', basic('nocolon'), basic(':nouser'), 'Basic !!!']) {
    assert.equal(basicCredentials(bad), null, String(bad));
  }
});

test("Squid's RFC 1738 escaping: spaces, %, quotes, control and non-ASCII bytes cannot cut a helper line", () => {
  assert.equal(rfc1738Escape(Buffer.from('alice')), 'alice');
  assert.equal(rfc1738Escape(Buffer.from('a b%c"d\n\x7f')), 'a%20b%25c%22d%0A%7F');
  assert.equal(rfc1738Escape(Buffer.from('é', 'utf8')), '%C3%A9');
});

test('the login dialect: OK permits, ERR denies with its message, BH asks another helper', () => {
  const d = new LoginDialect(0);
  assert.deepEqual(d.interpret({ channel: null, verdict: 'OK' }), { kind: 'decision', decision: { kind: 'permit' }, cacheable: false });
  assert.deepEqual(d.interpret({ channel: null, verdict: 'ERR message="no such user"' }), {
    kind: 'decision', decision: { kind: 'deny', reason: 'no such user' }, cacheable: false,
  });
  assert.deepEqual(d.interpret({ channel: null, verdict: 'ERR' }), { kind: 'decision', decision: { kind: 'deny', reason: 'login refused' }, cacheable: false });
  assert.equal(d.interpret({ channel: null, verdict: 'BH message=down' }).kind, 'retry');
  assert.equal(new LoginDialect(4).channels, true);
  assert.equal(new LoginDialect(4).slotsPerHelper, 4);
});

test('the login cache: keyed by a hash (no password in the key), remembered for its TTL, refusals for the negative TTL', () => {
  const c = { user: Buffer.from('alice'), password: Buffer.from('secret') };
  const key = loginKey(c);
  assert.ok(!key.includes('secret') && !key.includes('alice'));
  assert.notEqual(key, loginKey({ user: Buffer.from('alice'), password: Buffer.from('other') }));
  const cache = new LoginCache(1000, 100);
  cache.set(key, { kind: 'ok', user: 'alice' }, 0);
  assert.deepEqual(cache.get(key, 999), { kind: 'ok', user: 'alice' });
  assert.equal(cache.get(key, 1000), undefined);
  cache.set('refused', { kind: 'refused', message: 'no' }, 0);
  assert.equal(cache.get('refused', 100), undefined);
  cache.set('down', { kind: 'unavailable', reason: 'x' }, 0);
  assert.equal(cache.get('down', 1), undefined);
});

test('the authenticator over a real helper with channel-IDs: replies out of order matched by ID, user= renames, BH three times is "unavailable"', async () => {
  const log = new RecordingLog();
  const helper = [PYTHON, join(__dirname, 'fixtures', 'auth', 'concurrent-auth.py')];
  const pool = new RedirectorPool(options(helper, { protocol: 'squid', concurrency: 8, minimum: 1, maximum: 1 }), log, { stopGraceMs: 1000, startQuietMs: 0 }, new LoginDialect(8));
  const auth = new Authenticator({ realm: 'r', ttlMs: 60_000, negativeTtlMs: 0, exemptClients: new RangeList([]), exemptHosts: [] }, pool);
  const creds = (text: string) => basicCredentials(basic(text))!;
  try {
    const [alice, wrong] = await Promise.all([auth.check(creds('alice:alice pw')), auth.check(creds('alice:nope'))]);
    assert.deepEqual(alice, { kind: 'ok', user: 'alice' });
    assert.deepEqual(wrong, { kind: 'refused', message: 'bad password' });
    const [carol, again] = await Promise.all([auth.check(creds('carol:c:pw')), auth.check(creds('nobody:x'))]);
    assert.deepEqual(carol, { kind: 'ok', user: 'Carol%20C' });
    assert.equal(again.kind, 'refused');
    // Remembered: answered at once, without a promise.
    assert.deepEqual(auth.check(creds('alice:alice pw')), { kind: 'ok', user: 'alice' });
    const [broken] = await Promise.all([auth.check(creds('broken:x')), auth.check(creds('alice:nope2'))]);
    assert.equal(broken.kind, 'unavailable');
    assert.match((broken as { reason: string }).reason, /BH: no backend \(3 attempts\)/);
    // No log line holds a password.
    assert.ok(!JSON.stringify(log.entries).includes('alice pw'));
  } finally {
    await auth.close();
  }
});

test('exempt clients and destinations: ranges, host names and .domain suffixes', () => {
  const pool = { decide: () => assert.fail('no helper is asked'), close: async () => {}, stats: () => assert.fail('no figures are asked') };
  const auth = new Authenticator({ realm: 'r', ttlMs: 0, negativeTtlMs: 0, exemptClients: new RangeList(['10.0.0.0/8']), exemptHosts: ['intranet', '.example.org'] }, pool);
  assert.ok(auth.exempt('10.1.2.3', 'anything.test'));
  assert.ok(auth.exempt('192.0.2.1', 'INTRANET'));
  assert.ok(auth.exempt('192.0.2.1', 'example.org'));
  assert.ok(auth.exempt('192.0.2.1', 'www.example.org'));
  assert.ok(!auth.exempt('192.0.2.1', 'badexample.org'));
  assert.ok(!auth.exempt('192.0.2.1', 'intranet.test'));
});

test("the user in the redirector lines: squid's %un field, url's ident field, icap's X-Authenticated-User; '-' or nothing without a login", () => {
  const withUser = request({ host: 'www.example.com', path: '/a', user: 'alice' });
  const without = request({ host: 'www.example.com', path: '/a' });
  assert.equal(new SquidDialect(0, 1).encode(withUser), 'http://www.example.com/a 192.0.2.10/- alice GET myip=127.0.0.1 myport=3128\n');
  assert.equal(new SquidDialect(0, 1).encode(without), 'http://www.example.com/a 192.0.2.10/- - GET myip=127.0.0.1 myport=3128\n');
  assert.equal(new UrlDialect(1).encode(withUser), 'www.example.com/a 192.0.2.10 alice GET -\n');
  assert.equal(new UrlDialect(1).encode(without), 'www.example.com/a 192.0.2.10 - GET -\n');
  const icap = new IcapDialect('icap://filter');
  assert.match(icap.encode(withUser), /\nX-Authenticated-User: alice\nEncapsulated: /);
  assert.doesNotMatch(icap.encode(without), /X-Authenticated-User/);
});

test('icap helpers get the checked user, never the password: Proxy-Authorization is left out of the encapsulated head', () => {
  const raw = `GET http://www.example.com/a HTTP/1.1\r\nHost: www.example.com\r\nProxy-Authorization: ${basic('alice:secret')}\r\nAccept: */*\r\n\r\n`;
  const head = 'GET http://www.example.com/a HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n';
  const line = new IcapDialect('icap://filter').encode(request({ user: 'alice', rawHead: Buffer.from(raw, 'latin1') }));
  assert.ok(line.endsWith(`Encapsulated: req-hdr=0, null-body=${head.length}\n\n${head}`), line);
});

test('bad [auth] options stop the start with one line naming the option and what is accepted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-auth-'));
  const errorOf = (argv: string[]): string => {
    try {
      loadConfig({ argv, env: {}, cwd: dir, root: dir, home: dir });
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      assert.doesNotMatch(error.message, /\n/);
      return error.message;
    }
    return assert.fail(`${argv.join(' ')} was accepted`);
  };
  assert.match(errorOf(['--auth.enable=true', '--auth.program=/nonexistent/basic_auth /etc/passwd']), /auth\.program = "\/nonexistent\/basic_auth": no executable file there; auth\.enable is true/);
  assert.match(errorOf(['--auth.minimum=6', '--auth.maximum=5']), /auth\.minimum = 6 is above auth\.maximum = 5/);
  assert.match(errorOf(['--auth.realm=say "hi"']), /auth\.realm.*printable ASCII text without double quotes or backslashes/);
  assert.match(errorOf(['--auth.exempt-destinations=a/b']), /auth\.exempt-destinations.*host names, or \.domain/);
  // Without auth.enable the program is not looked at.
  assert.equal(loadConfig({ argv: ['--auth.program=/nonexistent/x'], env: {}, cwd: dir, root: dir, home: dir }).config.auth.enable, false);
});
