/**
 * loadConfig() and the typed configuration: values of every type, the sources and their
 * priority, ExaProxy compatibility, and the helpers the other modules use.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, configToJson, defaultConfig, loadConfig, notImplementedWarnings, OPTIONS, SCHEMA, type Config } from '../src/config';
import { ROOT } from './helpers/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'exaproxy-config-'));
/** A package root with no etc/exaproxy/exaproxy.conf, so the search path finds nothing by accident. */
const emptyRoot = mkdtempSync(join(tmpdir(), 'exaproxy-root-'));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function load(argv: string[], env: Record<string, string> = {}, cwd = dir) {
  return loadConfig({ argv, env, cwd, root: emptyRoot, home: dir });
}

/** Runs `fn` and returns the ConfigError message it throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('no ConfigError was thrown');
}

test('no file anywhere: the defaults, and the source says so', () => {
  const { config, source, warnings } = load([]);
  assert.equal(source, 'defaults');
  assert.deepEqual(warnings, []);
  assert.equal(config.tcp4.host, '127.0.0.1');
  assert.equal(config.tcp4.port, 3128);
  assert.equal(config.http.headerSize, 65536);
  assert.equal(config.http.idleConnect, 300);
  assert.equal(config.http.xff, 'append');
  assert.deepEqual(config.security.connect, [443, 981, 7000]);
  assert.deepEqual(config.security.clients, ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10']);
  assert.deepEqual(config.http.forwardTrust, ['127.0.0.0/8', '::1/128']);
  assert.equal(config.redirector.protocol, 'url');
  assert.equal(config.redirector.program.program, join(emptyRoot, 'etc/exaproxy/redirector/url-allow'));
  assert.deepEqual(config.log.destination, { kind: 'stdout' });
  assert.equal(config.log.level, 'ERROR');
  assert.equal(config.daemon.workers, 0);
});

test('the first file of the search path is used: <root>/etc/exaproxy/exaproxy.conf before ./etc/exaproxy/exaproxy.conf', () => {
  const root = mkdtempSync(join(tmpdir(), 'exaproxy-root-'));
  const cwd = mkdtempSync(join(tmpdir(), 'exaproxy-cwd-'));
  mkdirSync(join(cwd, 'etc/exaproxy'), { recursive: true });
  writeFileSync(join(cwd, 'etc/exaproxy/exaproxy.conf'), '[tcp4]\nport = 2\n');
  const fromCwd = loadConfig({ argv: [], env: {}, cwd, root });
  assert.equal(fromCwd.source, join(cwd, 'etc/exaproxy/exaproxy.conf'));
  assert.equal(fromCwd.config.tcp4.port, 2);
  mkdirSync(join(root, 'etc/exaproxy'), { recursive: true });
  writeFileSync(join(root, 'etc/exaproxy/exaproxy.conf'), '[tcp4]\nport = 1\n');
  const fromRoot = loadConfig({ argv: [], env: {}, cwd, root });
  assert.equal(fromRoot.source, join(root, 'etc/exaproxy/exaproxy.conf'));
  assert.equal(fromRoot.config.tcp4.port, 1);
});

test('the ExaProxy 1.2 file: every option read, allow-connect understood as http.connect', () => {
  const fixture = join(ROOT, '__test__/fixtures/config/exaproxy-1.2.conf');
  const changed = readFileSync(fixture, 'utf8').replace('allow-connect = true', 'allow-connect = false').replace('port = 8080', 'port = 8081');
  const { config, source } = load(['-c', file('changed-1.2.conf', changed)]);
  assert.equal(source, join(dir, 'changed-1.2.conf'));
  assert.equal(config.http.connect, false);
  assert.equal(config.web.port, 8081);
  assert.equal(load(['-c', fixture]).config.http.connect, true);
});

test('INI details: [exaproxy.section], quotes, comments, colon, continuation, case of names', () => {
  const conf = file(
    'details.conf',
    [
      '; a comment',
      '# another',
      '[exaproxy.tcp4]',
      'port = 1111',
      'host: "127.0.0.2"',
      '[TCP4]',
      'Port = 2222', // [tcp4] wins over [exaproxy.tcp4], whatever the order
      '[security]',
      'connect = 443',
      '    8443, 9443',
      '  # an indented comment',
      '[http]',
      "forward = 'X-Real-IP'",
      '',
    ].join('\r\n'),
  );
  const { config } = load(['-c', conf]);
  assert.equal(config.tcp4.port, 2222);
  assert.equal(config.tcp4.host, '127.0.0.2');
  assert.deepEqual(config.security.connect, [443, 8443, 9443]);
  assert.equal(config.http.forward, 'x-real-ip');
});

test('booleans take ExaProxy words in any case, and nothing else', () => {
  for (const word of ['1', 'yes', 'On', 'ENABLE', 'true']) assert.equal(load([`--http.transparent=${word}`]).config.http.transparent, true);
  for (const word of ['0', 'no', 'Off', 'disable', 'FALSE']) assert.equal(load([`--http.connect=${word}`]).config.http.connect, false);
  assert.equal(
    errorOf(() => load(['--http.connect='])),
    'exaproxy: --http.connect: http.connect = "": expected a boolean: 1 yes on enable true for true, 0 no off disable false for false',
  );
});

test('0 is accepted where it means unlimited or none (ExaProxy refused it), refused elsewhere', () => {
  const { config } = load(['--http.header-size=0', '--http.idle-connect=0', '--redirector.queue=0', '--tcp4.port=0']);
  assert.equal(config.http.headerSize, 0);
  assert.equal(config.http.idleConnect, 0);
  assert.equal(config.redirector.queue, 0);
  assert.equal(config.tcp4.port, 0);
  assert.equal(
    errorOf(() => load(['--http.header-size=-1'])),
    'exaproxy: --http.header-size: http.header-size = "-1": expected an integer from 0 to 16777216 (0: unlimited)',
  );
  assert.equal(
    errorOf(() => load(['--http.header-timeout=1.2345'])),
    'exaproxy: --http.header-timeout: http.header-timeout = "1.2345": expected a number of seconds from 0 to 86400 (0: no limit), at most 3 decimals',
  );
  assert.equal(load(['--http.header-timeout=0.25']).config.http.headerTimeout, 0.25);
});

test('addresses: the family is checked, IPv6 brackets removed', () => {
  assert.equal(load(['--tcp6.host=[::1]']).config.tcp6.host, '::1');
  assert.equal(load(['--web.host=::']).config.web.host, '::');
  assert.equal(errorOf(() => load(['--tcp4.host=::1'])), 'exaproxy: --tcp4.host: tcp4.host = "::1": expected an IPv4 address such as 127.0.0.1');
  assert.equal(errorOf(() => load(['--tcp6.bind=localhost'])), 'exaproxy: --tcp6.bind: tcp6.bind = "localhost": expected an IPv6 address such as ::1');
});

test('lists: space or comma separated, methods upper-cased, headers lower-cased, CIDRs canonical', () => {
  const { config } = load([
    '--http.extensions=propfind,mkcol  Report',
    '--http.remove-headers=X-Debug, Cookie2',
    '--security.deny=10.0.0.0/8,2001:DB8:0:0::/64 192.0.2.7 ::ffff:192.0.2.0/120',
    '--security.local=127.0.0.1:80 *:8080 [::1]:*',
  ]);
  assert.deepEqual(config.http.extensions, ['PROPFIND', 'MKCOL', 'REPORT']);
  assert.deepEqual(config.http.removeHeaders, ['x-debug', 'cookie2']);
  assert.deepEqual(config.security.deny, ['10.0.0.0/8', '2001:db8::/64', '192.0.2.7/32', '::ffff:c000:200/120']);
  assert.deepEqual(config.security.local, [
    { host: '127.0.0.1', port: 80 },
    { host: '*', port: 8080 },
    { host: '::1', port: 0 },
  ]);
  assert.equal(
    errorOf(() => load(['--security.connect=443 https'])),
    'exaproxy: --security.connect: security.connect = "443 https": expected ports from 1 to 65535 separated by spaces ("https" is not one)',
  );
  assert.equal(
    errorOf(() => load(['--security.local=127.0.0.1'])),
    'exaproxy: --security.local: security.local = "127.0.0.1": expected host:port pairs such as 127.0.0.1:80 *:8080 [::1]:* separated by spaces ("127.0.0.1" is not one)',
  );
  assert.equal(
    errorOf(() => load(['--http.forward-trust=10.0.0.0/33'])),
    'exaproxy: --http.forward-trust: http.forward-trust = "10.0.0.0/33": expected CIDR ranges such as 10.0.0.0/8 fc00::/7 separated by spaces: "/33" is not a prefix length from 0 to 32',
  );
});

test('redirector.program: shell-like quoting, ExaProxy path search, PATH for a bare name', () => {
  const helpers = join(dir, 'etc/exaproxy/redirector');
  mkdirSync(helpers, { recursive: true });
  writeFileSync(join(helpers, 'my helper'), '#!/bin/sh\n');
  chmodSync(join(helpers, 'my helper'), 0o755);
  const root = dir;
  const quoted = loadConfig({
    argv: ['--redirector.enable', `--redirector.program="etc/exaproxy/redirector/my helper" -x 'a b' c\\ d`],
    env: {},
    cwd: '/',
    root,
  });
  assert.equal(quoted.config.redirector.program.program, join(helpers, 'my helper'));
  assert.deepEqual(quoted.config.redirector.program.args, ['-x', 'a b', 'c d']);
  assert.equal(quoted.config.redirector.program.line, `'${join(helpers, 'my helper')}' -x 'a b' 'c d'`);
  const bare = load(['--redirector.enable', '--redirector.program=sh -c true'], { PATH: '/nonexistent:/bin:/usr/bin' });
  assert.equal(bare.config.redirector.program.program, '/bin/sh');
  // Not enabled: the program need not exist (ExaProxy files name helpers that may not be installed).
  assert.equal(load(['--redirector.program=/nonexistent/helper']).config.redirector.program.program, '/nonexistent/helper');
  assert.equal(
    errorOf(() => load(['--redirector.program=helper "unclosed'])),
    'exaproxy: --redirector.program: redirector.program = "helper \\"unclosed": expected a command line: the " opened at character 8 is never closed',
  );
});

test('redirector.protocol: url, squid, icap://NAME or icap-service://HOST[:PORT]/SERVICE', () => {
  assert.equal(load(['--redirector.protocol=squid']).config.redirector.protocol, 'squid');
  assert.equal(load(['--redirector.protocol=icap://surfprotect']).config.redirector.protocol, 'icap://surfprotect');
  assert.equal(load(['--redirector.protocol=icap-service://10.0.0.5/avscan']).config.redirector.protocol, 'icap-service://10.0.0.5/avscan');
  assert.equal(
    errorOf(() => load(['--redirector.protocol=header'])),
    'exaproxy: --redirector.protocol: redirector.protocol = "header": expected url (ExaProxy line protocol), squid (Squid url_rewrite helper protocol), icap://NAME (ExaProxy ICAP-like protocol) or icap-service://HOST[:PORT]/SERVICE (an ICAP server, RFC 3507)',
  );
});

test('log destinations: stdout, stderr, syslog, remote syslog, files relative to the working directory', () => {
  const destination = (value: string): Config['log']['destination'] => load([`--log.destination=${value}`]).config.log.destination;
  assert.deepEqual(destination('stderr'), { kind: 'stderr' });
  assert.deepEqual(destination('syslog'), { kind: 'syslog' });
  assert.deepEqual(destination(''), { kind: 'syslog' });
  assert.deepEqual(destination('host:192.0.2.1'), { kind: 'remote', host: '192.0.2.1', port: 514 });
  assert.deepEqual(destination('host:logs.example:1514'), { kind: 'remote', host: 'logs.example', port: 1514 });
  assert.deepEqual(destination('host:2001:db8::1'), { kind: 'remote', host: '2001:db8::1', port: 514 });
  assert.deepEqual(destination('host:[2001:db8::1]:1514'), { kind: 'remote', host: '2001:db8::1', port: 1514 });
  assert.deepEqual(destination('logs/exaproxy.log'), { kind: 'file', path: join(dir, 'logs/exaproxy.log') });
  assert.deepEqual(destination('~/exaproxy.log'), { kind: 'file', path: join(dir, 'exaproxy.log') });
});

test('enums: case-insensitive input, stored as listed', () => {
  const { config } = load(['--log.level=warning', '--usage.format=JSON', '--redirector.failure=allow']);
  assert.equal(config.log.level, 'WARNING');
  assert.equal(config.usage.format, 'json');
  assert.equal(config.redirector.failure, 'allow');
});

test('priority: flags over environment over file; dotted environment over underscore', () => {
  const conf = file('priority.conf', '[http]\nconnections = 10\nheader-count = 11\nheader-size = 12000\n');
  const env = { exaproxy_http_connections: '20', 'exaproxy.http.header-count': '21', exaproxy_http_header_count: '22' };
  const { config } = load(['-c', conf, '--http.connections=30'], env);
  assert.equal(config.http.connections, 30);
  assert.equal(config.http.headerCount, 21);
  assert.equal(config.http.headerSize, 12000);
});

test('bad input in the file names file:line, the option, the value and what is accepted', () => {
  const conf = file('bad.conf', '[http]\n\nconnections = lots\n');
  assert.equal(errorOf(() => load(['-c', conf])), `exaproxy: ${conf}:3: http.connections = "lots": expected an integer from 1 to 1000000`);
  const relative = loadConfig.bind(null, { argv: ['-c', 'bad.conf'], env: {}, cwd: dir, root: emptyRoot });
  assert.equal(errorOf(relative), 'exaproxy: bad.conf:3: http.connections = "lots": expected an integer from 1 to 1000000');
});

test('cross-option rules', () => {
  assert.equal(
    errorOf(() => load(['--tcp4.listen=false'])),
    'exaproxy: --tcp4.listen: tcp4.listen and tcp6.listen are both false: the proxy would listen nowhere; set one of them to true',
  );
  assert.equal(load(['--tcp4.listen=false', '--tcp6.listen=true']).config.tcp6.listen, true);
});

test('not-implemented options are reported only when set to something else than their default', () => {
  const defaults = load([]);
  assert.deepEqual(notImplementedWarnings(defaults.config, defaults.defaults), []);
  const set = load(['--web.debug', '--daemon.daemonize=false', '--usage.destination=syslog', '--log.destination=syslog'], {
    exaproxy_daemon_speed: '3',
  });
  assert.deepEqual(notImplementedWarnings(set.config, set.defaults), [
    'exaproxy: warning: daemon.speed = "3" (environment exaproxy_daemon_speed) is not implemented in this release and is ignored',
    'exaproxy: warning: usage.destination = "syslog" (--usage.destination): local syslog is not implemented yet for this log: it goes to stderr instead',
    'exaproxy: warning: web.debug = "true" (--web.debug) is not implemented in this release and is ignored',
  ]);
});

test('-p and -m are accepted with a warning', () => {
  assert.deepEqual(load(['-p']).warnings, ['exaproxy: warning: -p (the Python debugger in ExaProxy) does nothing in this program; it is ignored']);
});

test('the schema: every option has help, a valid default and a camelCase name in Config', () => {
  const config = defaultConfig({ root: emptyRoot });
  for (const { section, name, option } of OPTIONS) {
    assert.ok(option.help.length > 10, `${section}.${name} needs a help line`);
    const camel = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    assert.ok(camel in (config[section] as object), `${section}.${name} is missing from Config`);
  }
  // ExaProxy's sections (proxy and debug were internal, never configured), and exaproxy's [auth].
  assert.deepEqual(Object.keys(SCHEMA).sort(), ['acl', 'auth', 'daemon', 'dns', 'http', 'icap', 'log', 'parent', 'passthrough', 'profile', 'redirector', 'security', 'tcp4', 'tcp6', 'tls', 'usage', 'web']);
});

test('configToJson gives the keys of ExaProxy /json/configuration', () => {
  const json = configToJson(load(['--security.local=127.0.0.1:80 *:*', '--http.extensions=mkcol', '-d']).config);
  for (const key of [
    'exaproxy.debug.log',
    'exaproxy.daemon.deamonize',
    'exaproxy.daemon.sleep',
    'exaproxy.dns.resolver',
    'exaproxy.log.level.worker',
    'exaproxy.tcp4.host',
    'exaproxy.tcp6.bind',
    'exaproxy.http.connect',
    'exaproxy.proxy.version',
    'exaproxy.redirector.program',
    'exaproxy.security.connect',
    'exaproxy.usage.enable',
    'exaproxy.web.debug',
  ]) {
    assert.ok(key in json, `${key} is missing`);
  }
  assert.equal(json['exaproxy.debug.log'], true);
  assert.equal(json['exaproxy.security.local'], '127.0.0.1:80 *:*');
  assert.equal(json['exaproxy.http.extensions'], 'MKCOL');
  assert.equal(json['exaproxy.tcp4.port'], 3128);
});
