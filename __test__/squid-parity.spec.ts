/**
 * The external ACL and the parent proxies without a proxy: acl.format and its line, the
 * verdict's notes and its cache, parent.proxies and the choice of a parent (first up,
 * weighted round-robin, down and back), and the one-line errors of bad [acl] and [parent] options.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LoginDialect } from '../src/auth/login-dialect';
import { ConfigError, loadConfig, type Config } from '../src/config';
import { SCHEMA } from '../src/config/schema';
import { ExternalAcl, type AclVerdict } from '../src/external-acl/external-acl';
import { aclData, aclLine } from '../src/external-acl/format';
import { formatAccess } from '../src/log/access';
import { Outcome } from '../src/log/outcome';
import { DomainList } from '../src/proxy/domain-list';
import { Parents } from '../src/proxy/parents';
import { RedirectorPool } from '../src/redirector';
import { SquidDialect } from '../src/redirector/squid-dialect';
import { PYTHON, RecordingLog, options, request } from './fixtures/redirectors/harness';

const dir = mkdtempSync(join(tmpdir(), 'exaproxy-squid-parity-'));
const load = (argv: string[]): Config => loadConfig({ argv, env: {}, cwd: dir, root: dir, home: dir }).config;

function errorOf(argv: string[]): string {
  try {
    load(argv);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    return error.message;
  }
  return assert.fail(`${argv.join(' ')} was accepted`);
}

test("acl.format: Squid's macros and aliases, %DATA appended as Squid does, printed back as written", () => {
  const config = load(['--acl.format=%>a %un %URI']);
  assert.deepEqual(config.acl.format, ['client', 'user', 'uri', 'data']);
  const again = load([`--acl.format=%SRC %LOGIN %URI`]).acl.format;
  assert.deepEqual(again, config.acl.format);
  assert.deepEqual(load(['--acl.format=%DATA %SRC']).acl.format, ['data', 'client']);
  assert.match(errorOf(['--acl.format=%SRC %EXT_TAG']), /--acl\.format: .*%EXT_TAG is not one of them/);
  assert.match(errorOf(['--acl.format= ']), /--acl\.format: .*expected Squid format macros/);
});

test("the external ACL line: each value URL-escaped, '-' when unknown, CONNECT as host:port, %DATA's arguments", () => {
  const fields = load(['--acl.format=%SRC %SRCPORT %LOGIN %DST %PORT %METHOD %URI %PATH %PROTO %MYADDR %MYPORT']).acl.format;
  const get = { ...request({ method: 'GET', host: 'a.test', port: 8080, path: '/x%41"z', clientIp: '10.0.0.1', myIp: '10.0.0.254', myPort: 3128, user: 'j%20doe' }), clientPort: 5555 };
  assert.equal(aclLine(fields, get, aclData('')), '10.0.0.1 5555 j%20doe a.test 8080 GET http://a.test:8080/x%2541%22z /x%2541%22z http 10.0.0.254 3128 -\n');
  const connect = { ...request({ method: 'CONNECT', host: 'b.test', port: 443, path: '/', user: '' }), clientPort: 1 };
  assert.match(aclLine(fields, connect, aclData('grp one')), /^\S+ 1 - b\.test 443 CONNECT b\.test:443 - http \S+ \d+ grp one\n$/);
  assert.equal(aclData('a"b c'), 'a%22b c');
});

test("the squid redirector line carries the external ACL's tag= after myport=, only when there is one", () => {
  const squid = new SquidDialect(0, 1);
  assert.match(squid.encode(request({ tag: 'vip list' })), / myport=\d+ tag=vip%20list\n$/);
  assert.match(squid.encode(request({ tag: '' })), / myport=\d+\n$/);
});

test('the external ACL over a real channel-ID helper: user=, tag=, message=; OK and ERR remembered per line for their TTLs, BH three times unavailable', async () => {
  const helper = [
    'import sys',
    'for line in sys.stdin:',
    '    ident, who = line.split()[:2]',
    "    reply = {'vip': 'OK user=\"Carol C\" tag=gold', 'no': 'ERR message=not%20you', 'bh': 'BH'}.get(who, 'OK')",
    "    sys.stdout.write(ident + ' ' + reply + '\\n'); sys.stdout.flush()",
  ].join('\n');
  const pool = new RedirectorPool(options([PYTHON, '-c', helper], { protocol: 'squid', concurrency: 4, minimum: 1, maximum: 1, timeout: 5 }), new RecordingLog(), {}, new LoginDialect(4, { helper: 'external ACL helper', refused: 'refused' }));
  const acl = new ExternalAcl({ format: ['user', 'data'], data: '', ttlMs: 60_000, negativeTtlMs: 60_000, failure: 'deny' }, pool);
  const ask = async (user: string): Promise<AclVerdict> => acl.check({ ...request({ user }), clientPort: 1 });
  try {
    assert.deepEqual(await ask('vip'), { kind: 'ok', user: 'Carol%20C', tag: 'gold' });
    assert.deepEqual(await ask('no'), { kind: 'refused', message: 'not you' });
    assert.equal((await ask('bh')).kind, 'unavailable');
    const asked = pool.stats().requests;
    // Remembered: answered at once, no promise, no helper asked.
    assert.deepEqual(acl.check({ ...request({ user: 'vip' }), clientPort: 1 }), { kind: 'ok', user: 'Carol%20C', tag: 'gold' });
    assert.deepEqual(acl.check({ ...request({ user: 'no' }), clientPort: 1 }), { kind: 'refused', message: 'not you' });
    assert.ok(acl.check({ ...request({ user: 'bh' }), clientPort: 1 }) instanceof Promise, 'an unavailable verdict was remembered');
    assert.equal(pool.stats().requests, asked + 1);
  } finally {
    await acl.close();
  }
});

function parents(list: string, select: 'first' | 'round-robin' = 'first', domains = '', direct = ''): Parents {
  const config = load([`--parent.proxies=${list}`]);
  return new Parents({ proxies: config.parent.proxies, domains: DomainList.parse(domains), direct: DomainList.parse(direct), select, retryMs: 1000, connectTimeoutMs: 1000 }, new RecordingLog());
}

test("parent.proxies: '[user:password@]host:port [weight=N]' entries, %XX in credentials, IPv6 in brackets; printed back as written", () => {
  const config = load(['--parent.proxies=exa:p%40ss%20w@proxy1.test:3128 weight=3, [2001:db8::1]:8080 tag=vip']);
  assert.deepEqual(config.parent.proxies, [
    { host: 'proxy1.test', port: 3128, login: { user: 'exa', password: 'p@ss w' }, weight: 3, tag: '' },
    { host: '2001:db8::1', port: 8080, login: null, weight: 1, tag: 'vip' },
  ]);
  const printed = SCHEMA.parent.proxies.format(config.parent.proxies);
  assert.equal(printed, 'exa:p%40ss%20w@proxy1.test:3128 weight=3, [2001:db8::1]:8080 tag=vip');
  assert.deepEqual(load([`--parent.proxies=${printed}`]).parent.proxies, config.parent.proxies);
  const p = parents('exa:p%40ss%20w@proxy1.test:3128');
  assert.equal(p.list[0]!.authorization!.toString(), `Proxy-Authorization: Basic ${Buffer.from('exa:p@ss w').toString('base64')}\r\n\r\n`);
  assert.match(errorOf(['--parent.proxies=proxy1.test']), /--parent\.proxies: .*"proxy1\.test" has no host:port/);
  assert.match(errorOf(['--parent.proxies=proxy1.test:99999']), /has no port from 1 to 65535/);
  assert.match(errorOf(['--parent.proxies=proxy1.test:3128 round-robin']), /only weight=N \(1 to 9999\) and tag=T/);
  assert.match(errorOf(['--parent.proxies=:pw@proxy1.test:3128']), /no user:password before @/);
  // The line never shows the credentials.
  const leaked = errorOf(['--parent.proxies=exa:s3cret@proxy1.test:3128 weight=0']);
  assert.match(leaked, /"USER:PASSWORD@proxy1\.test:3128 weight=0" has "weight=0"/);
  assert.doesNotMatch(leaked, /s3cret/);
  assert.doesNotMatch(errorOf(['--parent.proxies=exa:s3cret%zz@proxy1.test:3128']), /s3cret/);
  assert.match(errorOf(['--parent.domains=a/b']), /--parent\.domains.*host names, or \.domain/);
});

test('choosing a parent: the first up, or smooth weighted round-robin; one down is skipped until parent.retry has passed', () => {
  const first = parents('a.test:1, b.test:2');
  assert.equal(first.pick(0)!.name, 'a.test:1');
  first.failed(first.list[0]!, 1000, 'ECONNREFUSED');
  assert.equal(first.pick(1500)!.name, 'b.test:2');
  assert.equal(first.pick(2000)!.name, 'a.test:1'); // retried once parent.retry (1 s) has passed
  first.failed(first.list[0]!, 3000, 'x');
  first.failed(first.list[1]!, 3000, 'x');
  assert.equal(first.pick(3500), null);
  first.connected(first.list[0]!);
  assert.equal(first.pick(3500)!.name, 'a.test:1');

  const rr = parents('a.test:1 weight=3, b.test:2', 'round-robin');
  const names = Array.from({ length: 8 }, () => rr.pick(0)!.name);
  assert.deepEqual(names.filter((n) => n === 'a.test:1').length, 6);
  assert.deepEqual(names.slice(0, 4), ['a.test:1', 'a.test:1', 'b.test:2', 'a.test:1']);
});

test("a request the external ACL tagged goes to the parents with that tag=, others (and unknown tags) to the untagged ones", () => {
  const p = parents('a.test:1, b.test:2 tag=gold, c.test:3 tag=gold');
  assert.equal(p.pick(0)!.name, 'a.test:1');
  assert.equal(p.pick(0, 'silver')!.name, 'a.test:1');
  assert.equal(p.pick(0, 'gold')!.name, 'b.test:2');
  p.failed(p.list[1]!, 0, 'x');
  assert.equal(p.pick(1, 'gold')!.name, 'c.test:3'); // failover within the tag
  p.failed(p.list[0]!, 0, 'x');
  assert.equal(p.pick(1), null);
});

test('which destinations go through the parents: parent.domains (all when empty), less parent.direct', () => {
  const all = parents('a.test:1');
  assert.ok(all.covers('www.example.com'));
  const some = parents('a.test:1', 'first', '.example.com other.test', 'intra.example.com');
  assert.ok(some.covers('example.com'));
  assert.ok(some.covers('WWW.Example.com'));
  assert.ok(some.covers('other.test'));
  assert.ok(!some.covers('intra.example.com'));
  assert.ok(!some.covers('www.other.test'));
});

test("the squid access-log format names the parent as Squid does; json has it as peer, and the ACL's tag", () => {
  const entry = { time: 0, clientIp: '10.0.0.1', clientPort: 1, acceptPort: 3128, method: 'GET', url: 'http://a/', status: 200, bytes: 1, durationMs: 1, outcome: Outcome.Permit, detail: '', upstream: 'a:80', user: 'carol', tag: 'gold', peer: 'FIRSTUP_PARENT/10.0.0.9' };
  assert.match(formatAccess('squid', entry, 'x'), / carol FIRSTUP_PARENT\/10\.0\.0\.9 /);
  const json = JSON.parse(formatAccess('json', entry, 'x')) as { peer: string; tag: string };
  assert.deepEqual([json.peer, json.tag], ['FIRSTUP_PARENT/10.0.0.9', 'gold']);
  assert.match(formatAccess('squid', { ...entry, peer: undefined }, 'x'), / HIER_DIRECT\/a /);
});

test('bad [acl] options stop the start with one line', () => {
  assert.match(errorOf(['--acl.minimum=6', '--acl.maximum=5']), /acl\.minimum = 6 is above acl\.maximum = 5/);
  assert.match(errorOf(['--acl.failure=maybe']), /--acl\.failure.*deny allow/);
  // Without acl.enable the program is not looked at.
  assert.equal(load(['--acl.program=/nonexistent/x']).acl.enable, false);
});
