// icap-service://: the REQMOD message exaproxy writes to an ICAP server, what each answer
// means, the OPTIONS it reads, the URI form, and the one-line error of a bad one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawReply } from '../src/redirector/dialect';
import { IcapReader } from '../src/redirector/icap-reply';
import { extensionListed, readOptions } from '../src/redirector/icap-options';
import { IcapServiceDialect } from '../src/redirector/icap-service-dialect';
import { parseIcapServiceUri, type IcapServiceUri } from '../src/redirector/icap-uri';
import { request } from './fixtures/redirectors/harness';
import { runCli } from './helpers/run-cli';

const service = parseIcapServiceUri('icap-service://127.0.0.1/filter?mode=strict') as IcapServiceUri;
const dialect = new IcapServiceDialect(service);

function reply(text: string): RawReply {
  const out: RawReply[] = [];
  new IcapReader(1 << 20).push(Buffer.from(text, 'latin1'), out);
  assert.equal(out.length, 1);
  return out[0]!;
}

test('icap-service URI: default port 1344, the icap:// request-URI, bad forms named', () => {
  assert.deepEqual(service, { host: '127.0.0.1', port: 1344, uri: 'icap://127.0.0.1:1344/filter?mode=strict', hostHeader: '127.0.0.1:1344' });
  assert.deepEqual(parseIcapServiceUri('icap-service://[::1]:11344/av'), { host: '::1', port: 11344, uri: 'icap://[::1]:11344/av', hostHeader: '[::1]:11344' });
  assert.match(parseIcapServiceUri('icap-service://host') as string, /service name after the host is missing/);
  assert.match(parseIcapServiceUri('icap-service://host:99999/x') as string, /is not host\[:port\]/);
});

test('REQMOD: CRLF, X-Client-IP, the checked user, Allow: 204, null-body; no Proxy-Authorization or hop-by-hop lines encapsulated', () => {
  const head = 'GET http://www.example.com/a HTTP/1.1\r\nHost: www.example.com\r\nProxy-Authorization: Basic dTpw\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n';
  const sent = dialect.encode(request({ path: '/a', user: 'alice', rawHead: Buffer.from(head, 'latin1') }));
  const kept = 'GET http://www.example.com/a HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n';
  assert.equal(sent, [
    'REQMOD icap://127.0.0.1:1344/filter?mode=strict ICAP/1.0',
    'Host: 127.0.0.1:1344',
    'X-Client-IP: 192.0.2.10',
    'X-Authenticated-User: alice',
    'Allow: 204',
    `Encapsulated: req-hdr=0, null-body=${kept.length}`,
    '',
    kept,
  ].join('\r\n'));
  const tls = dialect.encode(request({ method: 'TLS', host: 'sni.example', port: 443, path: '', transport: 'tls', rawHead: Buffer.from([22, 3, 1]) }));
  assert.match(tls, /\r\n\r\nCONNECT sni\.example:443 HTTP\/1\.1\r\nHost: sni\.example:443\r\n\r\n$/);
});

test('answers: 204 permit, the same head echoed permit, a new head, a page, an ICAP error → fail', () => {
  const req = request({ path: '/x' });
  const head = req.rawHead.toString('latin1');
  const istag = 'ISTag: "t"\r\n';
  assert.deepEqual(dialect.interpret(reply(`ICAP/1.0 204 No Content\r\n${istag}\r\n`), req), { kind: 'decision', decision: { kind: 'permit' }, cacheable: true });
  const echoed = reply(`ICAP/1.0 200 OK\r\n${istag}Encapsulated: req-hdr=0, null-body=${head.length}\r\n\r\n${head}`);
  assert.deepEqual(dialect.interpret(echoed, req), { kind: 'decision', decision: { kind: 'permit' }, cacheable: true });
  const other = 'GET http://www.example.com/safe HTTP/1.1\r\nHost: www.example.com\r\n\r\n';
  const modified = reply(`ICAP/1.0 200 OK\r\n${istag}Encapsulated: req-hdr=0, null-body=${other.length}\r\n\r\n${other}`);
  assert.deepEqual(dialect.interpret(modified, req), { kind: 'decision', decision: { kind: 'request', head: Buffer.from(other) }, cacheable: true });
  const page = 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n';
  const served = reply(`ICAP/1.0 200 OK\r\n${istag}Encapsulated: res-hdr=0, res-body=${page.length}\r\n\r\n${page}2\r\nno\r\n0\r\n\r\n`);
  assert.deepEqual(dialect.interpret(served, req), { kind: 'decision', decision: { kind: 'response', head: Buffer.from(page), body: Buffer.from('no') }, cacheable: true });
  assert.deepEqual(dialect.interpret(reply(`ICAP/1.0 503 Service Overloaded\r\n${istag}\r\n`), req), { kind: 'fail', reason: 'the ICAP service answered "ICAP/1.0 503 Service Overloaded"' });
  assert.equal(dialect.interpret(reply(`ICAP/1.0 200 OK\r\n${istag}Encapsulated: null-body=0\r\n\r\n`), req).kind, 'fail');
});

test('OPTIONS: methods, limits, TTL, ISTag, preview and the extension lists', () => {
  const options = readOptions(reply([
    'ICAP/1.0 200 OK', 'Methods: RESPMOD, REQMOD', 'ISTag: "CI0001"', 'Max-Connections: 8', 'Options-TTL: 3600', 'Preview: 1024',
    'Allow: 204', 'Transfer-Preview: *', 'Transfer-Ignore: JPG, gif', 'Transfer-Complete: bat', 'Encapsulated: null-body=0', '', '',
  ].join('\r\n')).icap!);
  assert.deepEqual(options, {
    methods: ['RESPMOD', 'REQMOD'], istag: '"CI0001"', maxConnections: 8, ttl: 3600, preview: 1024, allow204: true,
    transferPreview: ['*'], transferIgnore: ['jpg', 'gif'], transferComplete: ['bat'],
  });
  assert.equal(readOptions(reply('ICAP/1.0 404 Service Not Found\r\nISTag: "x"\r\n\r\n').icap!), 'answered OPTIONS with "ICAP/1.0 404 Service Not Found"');
  assert.equal(extensionListed(['jpg'], '/a/b.JPG?x=1'), true);
  assert.equal(extensionListed(['jpg'], '/a.jpg.html'), false);
  assert.equal(extensionListed(['*'], '/'), true);
  assert.equal(extensionListed([], '/a.jpg'), false);
});

test('a bad icap-service URI stops the start with one line naming redirector.protocol', async () => {
  const result = await runCli(['--redirector.protocol=icap-service://127.0.0.1:1344', '-i']);
  assert.equal(result.status, 1);
  assert.match(result.stderr.trim(), /^exaproxy: --redirector\.protocol: .*icap-service:\/\/127\.0\.0\.1:1344.*service name after the host is missing\)?$/);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});
