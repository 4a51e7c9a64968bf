// Each access-log format is checked against a regex built from its published grammar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAccess, createAccessLog, type AccessEntry } from '../src/log/access';
import { openLineDestination } from '../src/log/syslog';
import { Outcome } from '../src/log/outcome';

const base: AccessEntry = {
  time: Date.UTC(2026, 10, 25, 14, 3, 7, 42),
  clientIp: '192.0.2.10',
  clientPort: 51000,
  acceptPort: 3128,
  method: 'GET',
  url: 'http://example.com:8080/a?b=c',
  status: 200,
  bytes: 1234,
  durationMs: 17.4,
  outcome: Outcome.Permit,
  detail: 'example.com',
  upstream: '198.51.100.7:8080',
  userAgent: 'curl/8.0 "quoted"',
  referer: 'http://ref.example/',
  clientId: 7,
};

// ExaProxy usage line (util/log/logger.py UsageLogger through writer.py SysLogWriter):
// '%s %-6d %-13s %s' % (identifier, pid, 'usage', '%s %.02f %s %s %s %s %s %s/%s' % (...))
const EXAPROXY = /^(\S+) (\d+) *(usage) {8,}(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) (\d+\.\d\d) (\S+) (\d+) (\S+) (\S+) (\S+) ([A-Z]+)\/(.*)$/;
// Squid: %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
const SQUID = /^(\d+)\.(\d{3}) +(\d+) (\S+) ([A-Z_]+)\/(\d{3}) (\d+) (\S+) (\S+) (\S+) ([A-Z_]+)\/(\S+) (\S+)$/;
// Apache combined: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
const COMBINED = /^(\S+) (\S+) (\S+) \[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

test('exaproxy format: the usage line ExaProxy wrote, field for field', () => {
  const line = formatAccess('exaproxy', base, 'ExaProxy');
  const m = EXAPROXY.exec(line);
  assert.ok(m, line);
  assert.equal(m[1], 'ExaProxy');
  assert.equal(m[2], String(process.pid));
  assert.equal(line.indexOf('usage'), 'ExaProxy '.length + 7, 'pid is left-aligned in 6 columns');
  const d = new Date(base.time);
  assert.equal(m[4], `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`);
  assert.equal(m[6], (base.time / 1000).toFixed(2));
  assert.deepEqual(m.slice(7, 14), ['7', '3128', '192.0.2.10', 'GET', 'http://example.com:8080/a?b=c', 'PERMIT', 'example.com']);
});

test('exaproxy format: detail with spaces stays at the end, a URL with spaces stays one field', () => {
  const line = formatAccess('exaproxy', { ...base, outcome: Outcome.Deny, detail: 'CONNECT NOT ALLOWED', url: '/a b', clientId: undefined }, 'id');
  const m = EXAPROXY.exec(line);
  assert.ok(m, line);
  assert.deepEqual(m.slice(7, 14), ['-', '3128', '192.0.2.10', 'GET', '/a%20b', 'DENY', 'CONNECT NOT ALLOWED']);
});

test('squid format: native access.log fields', () => {
  const m = SQUID.exec(formatAccess('squid', base, 'x'));
  assert.ok(m);
  assert.equal(Number(m[1]) * 1000 + Number(m[2]), base.time);
  assert.deepEqual(m.slice(3), ['17', '192.0.2.10', 'TCP_MISS', '200', '1234', 'GET', 'http://example.com:8080/a?b=c', '-', 'HIER_DIRECT', '198.51.100.7', '-']);
  const line = formatAccess('squid', base, 'x');
  assert.match(line, /^\d+\.\d{3} {5}17 /, 'elapsed is right-aligned in 6 columns');
});

test('squid format: result codes follow the decision', () => {
  const cases: [Partial<AccessEntry>, string, string][] = [
    [{ outcome: Outcome.Deny, status: 403, upstream: '-' }, 'TCP_DENIED', 'HIER_NONE/-'],
    [{ outcome: Outcome.File, status: 200, upstream: '-' }, 'TCP_DENIED', 'HIER_NONE/-'],
    [{ outcome: Outcome.Redirect, status: 302, upstream: '-' }, 'TCP_REDIRECT', 'HIER_NONE/-'],
    [{ outcome: Outcome.Error, status: 400, upstream: '-' }, 'NONE_NONE', 'HIER_NONE/-'],
    [{ outcome: Outcome.Response, status: 403, upstream: '-' }, 'NONE_NONE', 'HIER_NONE/-'],
    [{ outcome: Outcome.Response, status: 200, upstream: '198.51.100.7:80' }, 'TCP_MISS', 'HIER_DIRECT/198.51.100.7'],
    [{ outcome: Outcome.Permit, method: 'CONNECT', url: 'example.com:443', upstream: '[2001:db8::1]:443' }, 'TCP_TUNNEL', 'HIER_DIRECT/2001:db8::1'],
  ];
  for (const [change, action, hier] of cases) {
    const e = { ...base, ...change };
    const m = SQUID.exec(formatAccess('squid', e, 'x'));
    assert.ok(m, JSON.stringify(e));
    assert.equal(m[5], action);
    assert.equal(m[6], String(e.status).padStart(3, '0'));
    assert.equal(`${m[11]}/${m[12]}`, hier);
  }
});

test('combined format: Apache combined log, quotes escaped', () => {
  const line = formatAccess('combined', { ...base, version: 'HTTP/1.0' }, 'x');
  const m = COMBINED.exec(line);
  assert.ok(m, line);
  assert.equal(m[1], '192.0.2.10');
  assert.equal(m[11], 'GET http://example.com:8080/a?b=c HTTP/1.0');
  assert.deepEqual([m[12], m[13], m[14], m[15]], ['200', '1234', 'http://ref.example/', 'curl/8.0 \\"quoted\\"']);
  const d = new Date(base.time);
  assert.equal(Number(m[4]), d.getDate());
  assert.equal(Number(m[7]), d.getHours());
  const empty = COMBINED.exec(formatAccess('combined', { ...base, bytes: 0, userAgent: undefined, referer: undefined }, 'x'));
  assert.ok(empty);
  assert.deepEqual([empty[13], empty[14], empty[15]], ['-', '-', '-']);
});

test('json format: one object per line with every field', () => {
  const line = formatAccess('json', base, 'x');
  assert.ok(!line.includes('\n'));
  const o = JSON.parse(line);
  assert.equal(o.time, '2026-11-25T14:03:07.042Z');
  assert.equal(o.clientIp, '192.0.2.10');
  assert.equal(o.status, 200);
  assert.equal(o.decision, 'PERMIT');
  assert.equal(o.upstream, '198.51.100.7:8080');
  assert.equal(o.userAgent, 'curl/8.0 "quoted"');
});

test('an unknown format is refused with the accepted values', () => {
  assert.throws(() => formatAccess('apache' as never, base, 'x'), /usage\.format.*exaproxy, squid, combined, json/);
});

test('the access log writes one line per entry to a file, and reopens it after rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-access-'));
  const path = join(dir, 'sub', 'access.log');
  const log = createAccessLog({ format: 'squid', identifier: 'ExaProxy', destination: openLineDestination(path) });
  log.write(base);
  await new Promise((r) => setTimeout(r, 100));
  renameSync(path, `${path}.1`);
  log.reopen();
  log.write({ ...base, status: 404, method: 'HEAD' });
  await log.close();
  const rotated = readFileSync(`${path}.1`, 'utf8').split('\n');
  const fresh = readFileSync(path, 'utf8').split('\n');
  assert.deepEqual([rotated.length, fresh.length], [2, 2], 'one line each, newline-terminated');
  assert.match(rotated[0], SQUID);
  assert.match(fresh[0], / TCP_MISS\/404 1234 HEAD /);
  rmSync(dir, { recursive: true });
  assert.throws(() => createAccessLog({ format: 'common' as never, identifier: 'x', destination: openLineDestination('stdout') }), /usage\.format: unknown access log format 'common'/);
});
