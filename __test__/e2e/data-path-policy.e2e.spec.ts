/**
 * Regression tests for the data path's timeout, policy and resolver defects found by
 * probing (issue 9): 408 on keep-alive connections, silent connections, CONNECT refusals,
 * `dns.resolver`, NAT64 destinations, dripped heads. Real exaproxy, sockets and curl.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config';
import { native } from '../../src/native/addon';
import { Resolver } from '../../src/proxy/dns';
import { fakeDns } from '../helpers/dns';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, parseDump, rawConnect, readUntil, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
let proxy: RunningExaproxy;
let base: string;

before(async () => {
  origin = await startOrigin();
  base = `http://127.0.0.1:${origin.port}`;
  proxy = await startExaproxy(testArgs(['--security.local=127.0.0.1:*', '--http.header-timeout=1']));
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
});

describe('timeouts', () => {
  test('a slow second head on a keep-alive connection gets 408, like the first', async () => {
    const s = await rawConnect(proxy.port);
    const host = `Host: 127.0.0.1:${origin.port}\r\n`;
    const first = readUntil(s, (t) => /\r\n\r\n\{.*\}/s.test(t), 5000);
    s.write(`GET ${base}/first HTTP/1.1\r\n${host}\r\n`);
    assert.match(await first, /^HTTP\/1\.1 200 /);
    const second = readUntil(s, () => false, 5000);
    s.write(`GET ${base}/second HTTP/1.1\r\n${host}`); // never finished
    assert.match(await second, /^HTTP\/1\.1 408 /);
    s.destroy();
  });

  test('a connection that sends nothing is closed at the header timeout, not http.idle-connect', async () => {
    const s = await rawConnect(proxy.port);
    const text = await readUntil(s, () => false, 4000); // header timeout 1 s, idle-connect 300 s
    assert.equal(text, '');
    assert.ok(s.readableEnded || s.destroyed, 'closed');
    s.destroy();
  });
});

describe('CONNECT refusals are never 2xx', () => {
  test('a dotless name with dns.fqdn gets 403 to CONNECT (a 200 would read as an open tunnel)', async () => {
    const s = await rawConnect(proxy.port);
    const reply = readUntil(s, (t) => t.includes('\r\n\r\n'), 5000);
    s.write('CONNECT intranet:443 HTTP/1.1\r\nHost: intranet:443\r\n\r\n');
    assert.match(await reply, /^HTTP\/1\.1 403 /);
    s.destroy();
  });

  test("a helper's file:// verdict for CONNECT is a 403 with the page", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exaproxy-connect-'));
    const helper = join(dir, 'page.py');
    writeFileSync(helper, 'import sys\nfor line in sys.stdin:\n    print("file://deny.html", flush=True)\n', { mode: 0o755 });
    const p = await startExaproxy(
      testArgs(['--redirector.enable=true', `--redirector.program=python3 ${helper}`, '--redirector.protocol=url', '--redirector.minimum=1']),
    );
    try {
      const r = await curl(['-i', '-p', '-x', p.url, 'https://www.example.test/']);
      assert.match(r.stdout, /^HTTP\/1\.1 403 /, r.stdout + r.stderr);
      assert.notEqual(r.code, 0, 'curl does not take it as a tunnel');
    } finally {
      await p.stop();
    }
  });
});

describe('dns.resolver', () => {
  test('the nameservers of the dns.resolver file are the ones asked', async () => {
    assert.equal(process.getuid?.(), 0, 'this test binds a DNS server to port 53 (resolv.conf has no port): run it as root');
    const dns = await fakeDns();
    const p = await startExaproxy(testArgs(['--security.local=127.0.0.1:*', `--dns.resolver=${dns.resolvConf}`]));
    try {
      const r = await curl(['-i', '-x', p.url, `http://app.exaproxy.test:${origin.port}/named`]);
      assert.equal(parseDump(r.stdout).status, 200, r.stdout + r.stderr);
      assert.ok(dns.queries.includes('app.exaproxy.test/1'), `queries: ${dns.queries.join(', ')}`);
    } finally {
      await p.stop();
      dns.close();
    }
  });

  test('a dns.resolver file without a nameserver line stops the program with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exaproxy-dns-'));
    const conf = join(dir, 'resolv.conf');
    writeFileSync(conf, 'search example.test\n');
    const servers = { file: conf, timeoutMs: 100, tries: 1 };
    assert.throws(() => new Resolver({ ttl: 1, negativeTtl: 1, ipv4: true, ipv6: false, servers }), /^Error: dns\.resolver .*resolv\.conf: no "nameserver ADDRESS" line/);
  });
});

describe('destination protection', () => {
  test('NAT64 of a loopback address (64:ff9b::7f00:1) is refused as local', async () => {
    const r = await curl(['-i', '-x', proxy.url, `http://[64:ff9b::7f00:1]:${origin.port + 1}/`]);
    assert.equal(parseDump(r.stdout).status, 403, r.stdout);
  });
});

describe('a head dripped one byte per segment', () => {
  test('is parsed again only when a line ends in it, not once per byte', async () => {
    let parses = 0;
    const parse = native.parseRequest;
    native.parseRequest = (buf, start, table) => {
      parses++;
      return parse(buf, start, table);
    };
    // Loaded only now that the counter is in place: the data path binds the function once.
    const { startProxy } = await import('../../src/proxy/server.js');
    const argv = ['--tcp4.host=127.0.0.1', '--tcp4.port=0', '--security.local=127.0.0.1:*'];
    const { config } = loadConfig({ argv, env: {}, cwd: process.cwd() });
    const running = await startProxy(config, { info() {}, warn() {}, error() {}, debug() {} });
    try {
      const lines = 40;
      let head = `GET ${base}/drip HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n`;
      for (let i = 0; i < lines; i++) head += `X-Filler-${i}: ${'f'.repeat(200)}\r\n`;
      head += '\r\n';
      const s = await rawConnect(running.port);
      const reply = readUntil(s, (t) => t.includes('"url":"/drip"'), 20_000);
      parses = 0;
      let segments = 0;
      for (let i = 0; i < head.length; i++) {
        s.write(head[i]!);
        if (i % 8 === 0) {
          segments++;
          await new Promise((r) => setImmediate(r)); // let the proxy read what came so far
        }
      }
      assert.match(await reply, /^HTTP\/1\.1 200 /);
      assert.ok(segments > 1000, 'the head really arrived in pieces');
      assert.ok(parses <= lines + 4, `parsed ${parses} times for ${lines + 3} lines`);
      s.destroy();
    } finally {
      native.parseRequest = parse;
      await running.close();
    }
  });
});
