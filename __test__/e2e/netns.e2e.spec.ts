/**
 * Filtering without browser configuration, end to end in network namespaces the test builds
 * (helpers/netns.ts): the client's port 80/8080 and 443/4443 traffic is redirected into
 * exaproxy, and its port 21/25 traffic TPROXYed into the passthrough listener, by the very
 * nftables rules and routes docs/operations.md gives. The origin answers with the address
 * and port it was reached at, and no name resolves anywhere: a response proves exaproxy
 * connected to the original destination, address and port.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { until } from '../helpers/net';
import { buildLab, CLIENT_IP, documentedRules, namespacesRefused, ORIGIN_IP, ORIGIN_OTHER_IP, ROUTER_LAN_IP, type Lab } from '../helpers/netns';
import { runCli } from '../helpers/run-cli';
import { makePki, type TestPki } from '../helpers/tls';

const refused = process.platform === 'linux' ? namespacesRefused() : `network namespaces are Linux only (this is ${process.platform})`;
if (refused !== null) {
  process.stderr.write(`netns e2e: cannot build network namespaces here: ${refused}\n`);
  if (process.env['CI'] === 'true') test('network namespaces can be built (CI=true)', () => assert.fail(`network namespaces refused: ${refused}`));
}

const work = mkdtempSync(join(tmpdir(), 'exaproxy-netns-'));
/** The monitor's port inside the router namespace (nothing else listens there). */
const MONITOR_PORT = 8080;

/** The origin: HTTP, HTTPS and plain TCP servers saying which address and port they were reached at. */
const ORIGIN_SCRIPT = `
const http = require('http'), https = require('https'), net = require('net'), fs = require('fs');
const tls = { cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]) };
const say = (req, res) => res.end('origin ' + req.socket.localAddress + ':' + req.socket.localPort + ' host=' + req.headers.host + ' path=' + req.url);
const banner = (s) => { s.write('220 origin ' + s.localAddress + ':' + s.localPort + ' from ' + s.remoteAddress + '\\n'); s.pipe(s); };
const servers = [
  [http.createServer(say), '${ORIGIN_IP}', 80], [http.createServer(say), '${ORIGIN_IP}', 8080], [http.createServer(say), '${ORIGIN_OTHER_IP}', 80],
  [https.createServer(tls, say), '${ORIGIN_IP}', 443], [https.createServer(tls, say), '${ORIGIN_IP}', 4443],
  [net.createServer(banner), '${ORIGIN_IP}', 25], [net.createServer(banner), '${ORIGIN_IP}', 21], [net.createServer(banner), '${ORIGIN_OTHER_IP}', 25],
];
let n = 0;
for (const [s, host, port] of servers) s.listen(port, host, () => { if (++n === servers.length) console.log('ready'); });
`;

/** A TCP client: sends a line, prints everything it receives until the server closes or echoes it. */
const TCP_CLIENT_SCRIPT = `
const s = require('net').connect(Number(process.argv[3]), process.argv[2]);
let got = '';
s.on('connect', () => s.write('ping\\n'));
s.on('data', (d) => { got += d; if (got.includes('ping')) s.end(); });
s.on('close', () => { process.stdout.write(got); });
s.on('error', () => {});
`;

/** The url helper: records every line; denies blocked.* names and port 21. */
const HELPER_SCRIPT = (lines: string): string => `import sys
log = open(${JSON.stringify(lines)}, 'a')
for line in sys.stdin:
    log.write(line); log.flush()
    target = line.split(' ')[0]
    sys.stdout.write(('file://deny.html' if target.startswith('blocked.') or target.endswith(':21') else '') + '\\n'); sys.stdout.flush()
`;

/**
 * An icap:// helper (ExaProxy's protocol on stdin/stdout): records every request whole;
 * intercepts passthrough streams to port 25 to the origin's other address, permits the rest.
 */
const ICAP_HELPER_SCRIPT = (record: string): string => `import sys
rec = open(${JSON.stringify(record)}, 'ab')
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    lines = []
    while True:
        line = inp.readline()
        if not line:
            sys.exit(0)
        lines.append(line)
        if line == b'\\n':
            break
    size = 0
    for l in lines:
        if l.lower().startswith(b'encapsulated:'):
            for part in l.split(b':', 1)[1].split(b','):
                key, _, value = part.strip().partition(b'=')
                if key == b'null-body':
                    size = int(value)
    head = b''.join(lines)
    rec.write(head + inp.read(size) + b'--\\n'); rec.flush()
    if b'Pragma: accept-port=25\\n' in head:
        block = b'CONNECT ${ORIGIN_OTHER_IP}:25 HTTP/1.1\\r\\nHost: ${ORIGIN_OTHER_IP}\\r\\n\\r\\n'
        out.write(b'ICAP/1.0 200 OK\\r\\nX-Intercept: active\\r\\nEncapsulated: req-hdr=0, null-body=%d\\r\\n\\r\\n' % len(block) + block)
    else:
        out.write(b'ICAP/1.0 204 No Content\\r\\n\\r\\n')
    out.flush()
`;

describe('redirected and TPROXYed traffic in network namespaces', { skip: refused !== null }, () => {
  let lab: Lab;
  let pki: TestPki;
  let proxy: RunningExaproxy;
  const lines = join(work, 'helper-lines.txt');
  const icapRecord = join(work, 'icap-requests.txt');
  const tcpClient = join(work, 'tcp-client.js');

  before(async () => {
    lab = buildLab();
    pki = makePki('DNS:www.example.test,DNS:blocked.example.test');
    writeFileSync(join(work, 'origin.js'), ORIGIN_SCRIPT);
    writeFileSync(tcpClient, TCP_CLIENT_SCRIPT);
    writeFileSync(join(work, 'helper.py'), HELPER_SCRIPT(lines));
    writeFileSync(join(work, 'icap-helper.py'), ICAP_HELPER_SCRIPT(icapRecord));
    writeFileSync(join(pki.dir, 'server.crt'), pki.cert);
    writeFileSync(join(pki.dir, 'server.key.pem'), pki.key);

    const rules = documentedRules({
      lan: `"${lab.lan}"`,
      web_ports: '{ 80, 8080 }',
      tls_ports: '{ 443, 4443 }',
      other_ports: '{ 21, 25 }',
      http_port: '3128',
      tls_port: '8443',
      passthrough_port: '8000',
    });
    writeFileSync(join(work, 'exaproxy.nft'), rules.nft);
    const applied = await lab.run(lab.router, ['nft', '-f', join(work, 'exaproxy.nft')]);
    assert.equal(applied.code, 0, `nft -f refused the documented rules: ${applied.stderr}`);
    for (const route of rules.routes) {
      const r = await lab.run(lab.router, ['ip', ...route]);
      assert.equal(r.code, 0, `ip ${route.join(' ')}: ${r.stderr}`);
    }

    const origin = lab.start(lab.origin, [process.execPath, join(work, 'origin.js'), join(pki.dir, 'server.crt'), join(pki.dir, 'server.key.pem')]);
    let said = '';
    origin.stdout!.on('data', (d: Buffer) => (said += d.toString()));
    origin.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    await until(() => said.includes('ready'), 'the origin servers', () => said);

  });

  after(() => {
    lab?.remove();
  });

  /** exaproxy in the router namespace, where the documented rules send the client's traffic. */
  function startProxy(helper: string[], extra: string[] = []): Promise<RunningExaproxy> {
    return startExaproxy(
      testArgs([
        '--tcp4.host=0.0.0.0',
        '--tcp4.port=3128',
        '--http.transparent=true',
        '--tls.enable=true',
        '--tls.host=0.0.0.0',
        '--tls.port=8443',
        '--passthrough.enable=true',
        '--passthrough.host=0.0.0.0',
        '--passthrough.port=8000',
        `--security.clients=${CLIENT_IP}/32`,
        '--redirector.enable=true',
        ...helper,
        '--usage.enable=true',
        '--usage.destination=stderr',
        ...extra,
      ]),
      {},
      { netns: lab.router },
    );
  }

  const usage = (): string[] => proxy.stderr().split('\n');
  /** The helper processes under `pid` (its children, or its workers' with daemon.supervise). */
  const helperPids = (pid: number): number[] => {
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
    return children.flatMap((c) => {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${c}/cmdline`, 'utf8');
      } catch {
        return [];
      }
      return cmdline.includes('python') ? [c] : helperPids(c);
    });
  };
  const helperLines = (): string => {
    try {
      return readFileSync(lines, 'utf8');
    } catch {
      return '';
    }
  };
  const curlFromClient = (args: string[]): ReturnType<Lab['run']> => lab.run(lab.client, ['curl', '-sS', '--max-time', '10', ...args]);
  const tcpFromClient = (port: number): ReturnType<Lab['run']> => lab.run(lab.client, [process.execPath, tcpClient, ORIGIN_IP, String(port)]);

  describe('with a url helper', () => {
    before(async () => {
      proxy = await startProxy([`--redirector.program=python3 ${join(work, 'helper.py')}`, '--redirector.protocol=url'], [
        '--web.enable=true',
        `--web.port=${MONITOR_PORT}`,
      ]);
    });
    after(async () => {
      await proxy?.stop();
    });

    test('HTTP to port 8080 goes to the original address and port, whatever Host says; the helper and the log see the full URL', async () => {
      const r = await curlFromClient(['-H', 'Host: www.example.test:8080', `http://${ORIGIN_IP}:8080/eighty?x=1`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `origin ${ORIGIN_IP}:8080 host=www.example.test:8080 path=/eighty?x=1`);
      await until(() => usage().some((l) => / GET http:\/\/www\.example\.test:8080\/eighty\?x=1 PERMIT\//.test(l)), 'the access line', () => proxy.stderr());
      assert.match(helperLines(), /^www\.example\.test\/eighty\?x=1 192\.0\.2\.2 - GET -$/m);
    });

    test('HTTP to another address on port 80 goes there, not where Host points (no name resolves here)', async () => {
      const r = await curlFromClient(['-H', 'Host: www.example.test', `http://${ORIGIN_OTHER_IP}/other`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `origin ${ORIGIN_OTHER_IP}:80 host=www.example.test path=/other`);
    });

    test('HTTP sent to the proxy port itself (not redirected) goes where Host says', async () => {
      const r = await curlFromClient(['-H', `Host: ${ORIGIN_IP}:8080`, `http://${ROUTER_LAN_IP}:3128/direct`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `origin ${ORIGIN_IP}:8080 host=${ORIGIN_IP}:8080 path=/direct`);
    });

    test('HTTPS to port 4443: the TLS listener asks about the SNI name and connects to the original address and port', async () => {
      const r = await curlFromClient(['--cacert', pki.caFile, '--resolve', `www.example.test:4443:${ORIGIN_IP}`, 'https://www.example.test:4443/secure']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `origin ${ORIGIN_IP}:4443 host=www.example.test:4443 path=/secure`);
      await until(() => usage().some((l) => / TLS www\.example\.test:4443 PERMIT\//.test(l)), 'the TLS access line', () => proxy.stderr());
      assert.match(helperLines(), /^www\.example\.test 192\.0\.2\.2 - TLS -$/m);
    });

    test('HTTPS to a blocked name is closed, logged as denied', async () => {
      const r = await curlFromClient(['--cacert', pki.caFile, '--resolve', `blocked.example.test:443:${ORIGIN_IP}`, 'https://blocked.example.test/']);
      assert.notEqual(r.code, 0);
      await until(() => usage().some((l) => / TLS blocked\.example\.test:443 DENY\/file:\/\/deny\.html/.test(l)), 'the TLS deny line', () => proxy.stderr());
    });

    test('TCP port 25 through TPROXY: the passthrough listener relays it to the original destination, asked as host:port', async () => {
      const r = await tcpFromClient(25);
      assert.equal(r.code, 0, r.stderr);
      // The origin is reached from the router (exaproxy connects itself), at the address the client asked for.
      assert.equal(r.stdout, `220 origin ${ORIGIN_IP}:25 from 198.51.100.1\nping\n`);
      await until(() => usage().some((l) => / 192\.0\.2\.2 TCP 198\.51\.100\.2:25 PERMIT\//.test(l)), 'the TCP access line', () => proxy.stderr());
      assert.match(helperLines(), /^198\.51\.100\.2:25 192\.0\.2\.2 - TCP -$/m);
    });

    test('TCP port 21 refused by the helper: closed without a byte, logged as denied', async () => {
      const r = await tcpFromClient(21);
      assert.equal(r.stdout, '');
      await until(() => usage().some((l) => / TCP 198\.51\.100\.2:21 DENY\/file:\/\/deny\.html/.test(l)), 'the TCP deny line', () => proxy.stderr());
    });

    test("destination protection applies: redirected to the router's own address, HTTP gets 403 and TCP is closed", async () => {
      const r = await curlFromClient(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: www.example.test', `http://${ROUTER_LAN_IP}/mine`]);
      assert.equal(r.stdout, '403');
      await until(() => usage().some((l) => / GET http:\/\/www\.example\.test\/mine DENY\/destination not allowed/.test(l)), 'the HTTP refusal', () => proxy.stderr());
      const tcp = await lab.run(lab.client, [process.execPath, tcpClient, ROUTER_LAN_IP, '25']);
      assert.equal(tcp.stdout, '');
      await until(() => usage().some((l) => / TCP 192\.0\.2\.1:25 DENY\/destination not allowed/.test(l)), 'the TCP refusal', () => proxy.stderr());
    });

    test('the monitor counts passthrough connections as method TCP', async () => {
      // The workers report their counts every second: the three connections above show up by then.
      await until(async () => {
        const r = await lab.run(lab.router, ['curl', '-sS', '--max-time', '10', `http://127.0.0.1:${MONITOR_PORT}/metrics`]);
        return Number(/exaproxy_requests_total\{method="TCP"\} (\d+)/.exec(r.stdout)?.[1] ?? 0) >= 3;
      }, 'exaproxy_requests_total{method="TCP"} 3 or more');
    });

    test('SIGTTOU: new passthrough connections are closed at once, the socket stays bound; SIGTTIN: served again', async () => {
      proxy.child.kill('SIGTTOU');
      await until(async () => (await tcpFromClient(25)).stdout === '', 'passthrough connections closed after SIGTTOU');
      proxy.child.kill('SIGTTIN');
      await until(async () => (await tcpFromClient(25)).stdout.startsWith('220 origin'), 'passthrough served after SIGTTIN');
    });

    test('after a reload (SIGHUP) the new data path serves the passthrough socket, and every connection meanwhile is served', async () => {
      // The old data path is gone once its helpers are (it stops them as it closes): in one
      // process (daemon.workers=1) the access log's pid stays the same, so that is the sign.
      const oldHelpers = helperPids(proxy.child.pid!);
      assert.ok(oldHelpers.length > 0, 'the helper runs');
      proxy.child.kill('SIGHUP');
      await until(async () => {
        const oldGone = oldHelpers.every((pid) => !existsSync(`/proc/${pid}`));
        const r = await tcpFromClient(25);
        assert.equal(r.stdout, `220 origin ${ORIGIN_IP}:25 from 198.51.100.1\nping\n`);
        return oldGone;
      }, 'a passthrough connection served by the new data path', () => proxy.stderr());
    });
  });

  describe('with an icap:// helper, the workers running as nobody', () => {
    before(async () => {
      // The primary makes the transparent socket as root; the workers (and the helper) run as nobody.
      chmodSync(work, 0o755);
      writeFileSync(icapRecord, '', { mode: 0o666 });
      chmodSync(icapRecord, 0o666);
      proxy = await startProxy([`--redirector.program=/usr/bin/python3 ${join(work, 'icap-helper.py')}`, '--redirector.protocol=icap://filter'], ['--daemon.user=nobody']);
    });
    after(async () => {
      await proxy?.stop();
    });

    test("ExaProxy's passthrough REQMOD: an intercept relays the stream to the helper's server, a 204 to the original destination", async () => {
      const intercepted = await tcpFromClient(25);
      assert.equal(intercepted.stdout, `220 origin ${ORIGIN_OTHER_IP}:25 from 198.51.100.1\nping\n`);
      const permitted = await tcpFromClient(21);
      assert.equal(permitted.stdout, `220 origin ${ORIGIN_IP}:21 from 198.51.100.1\nping\n`);
      const requests = readFileSync(icapRecord, 'latin1').split('--\n');
      assert.equal(
        requests.find((r) => r.includes('accept-port=25')),
        'REQMOD icap://filter ICAP/1.0\nHost: filter\nPragma: transport=tcp\nPragma: accept=198.51.100.2\nPragma: accept-port=25\n'
          + 'Pragma: client=192.0.2.2\nPragma: method=TCP\nEncapsulated: req-hdr=0, null-body=0\n\n',
      );
      await until(() => usage().some((l) => / TCP 198\.51\.100\.3:25 INTERCEPT\//.test(l)), 'the intercept line', () => proxy.stderr());
      const worker = /ExaProxy (\d+) /.exec(usage().find((l) => / TCP /.test(l))!)![1]!;
      assert.match(readFileSync(`/proc/${worker}/status`, 'utf8'), /^Uid:\s+65534\s/m, 'the worker runs as nobody');
    });
  });
});

describe('passthrough options', () => {
  test('`exaproxy -h` no longer marks passthrough.* as not implemented', async () => {
    const help = await runCli(['-h']);
    for (const option of ['enable', 'host', 'ipv6', 'port', 'idle-connect', 'connections', 'proxied']) {
      const line = help.stdout.split('\n').find((l) => l.includes(`exaproxy.passthrough.${option} `));
      assert.ok(line !== undefined, `passthrough.${option} listed`);
      assert.ok(!line.includes('not implemented'), line);
    }
  });
});

describe('passthrough.enable without the privilege it needs', { skip: process.platform !== 'linux' || process.getuid?.() !== 0 }, () => {
  test('as nobody (no CAP_NET_ADMIN), the start stops with one line saying why', async () => {
    const r = await runCli(['--web.enable=false', '--tcp4.port=0', '--passthrough.enable=true', '--passthrough.port=0'], { uid: 65534, gid: 65534, cwd: '/' });
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim(), 'exaproxy: passthrough.enable: a transparent socket (IP_TRANSPARENT) needs CAP_NET_ADMIN; start exaproxy as root (it switches to daemon.user once bound) or set passthrough.enable=false');
  });
});
