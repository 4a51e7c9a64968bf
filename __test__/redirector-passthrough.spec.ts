/**
 * What each helper dialect is asked about a passthrough stream (transport tcp): the original
 * destination as host:port (url, squid), ExaProxy's passthrough REQMOD (icap://).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IcapDialect } from '../src/redirector/icap-dialect';
import { SquidDialect } from '../src/redirector/squid-dialect';
import { UrlDialect } from '../src/redirector/url-dialect';
import { request } from './fixtures/redirectors/harness';

const stream = (host: string, port: number): ReturnType<typeof request> =>
  request({ method: 'TCP', host, port, path: '', myIp: host, myPort: port, transport: 'tcp', rawHead: Buffer.alloc(0) });

test('url and squid helpers are asked about host:port (IPv6 in brackets); squid names the method CONNECT, as for HTTPS', () => {
  assert.equal(new UrlDialect(1).encode(stream('198.51.100.2', 25)), '198.51.100.2:25 192.0.2.10 - TCP -\n');
  assert.equal(new UrlDialect(1).encode(stream('2001:db8::2', 25)), '[2001:db8::2]:25 192.0.2.10 - TCP -\n');
  assert.equal(new SquidDialect(0, 1).encode(stream('198.51.100.2', 25)), '198.51.100.2:25 192.0.2.10/- - CONNECT myip=198.51.100.2 myport=25\n');
  assert.equal(new SquidDialect(0, 1).encode(stream('2001:db8::2', 25)), '[2001:db8::2]:25 192.0.2.10/- - CONNECT myip=2001:db8::2 myport=25\n');
});

test("icap:// helpers get ExaProxy's passthrough REQMOD: transport, accept, accept-port, client, method only, nothing encapsulated", () => {
  assert.equal(
    new IcapDialect('icap://filter/x').encode(stream('198.51.100.2', 25)),
    'REQMOD icap://filter/x ICAP/1.0\nHost: filter\nPragma: transport=tcp\nPragma: accept=198.51.100.2\nPragma: accept-port=25\n'
      + 'Pragma: client=192.0.2.10\nPragma: method=TCP\nEncapsulated: req-hdr=0, null-body=0\n\n',
  );
});
