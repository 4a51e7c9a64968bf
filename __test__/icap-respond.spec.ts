// The ICAP listener's pure pieces: the responses it writes and how a preview is split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitPreview } from '../src/icap/connection';
import { icapError, modifiedRequest, noContent, optionsResponse, servedResponse, type IcapService } from '../src/icap/respond';

const service: IcapService = { istag: '"exaproxy-0123456789abcdef"', server: 'exaproxy/test', maxConnections: 10 };

test('every response carries the ISTag and an Encapsulated list matching what follows', () => {
  for (const r of [noContent(service), icapError(service, 400, true), optionsResponse(service, 'now')]) {
    assert.match(r.toString('latin1'), /\r\nISTag: "exaproxy-0123456789abcdef"\r\n[\s\S]*Encapsulated: null-body=0\r\n\r\n$/);
  }
  assert.match(icapError(service, 400, true).toString('latin1'), /^ICAP\/1\.0 400 Bad Request\r\n[\s\S]*Connection: close\r\n/);
  const head = Buffer.from('GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n');
  assert.ok(modifiedRequest(service, head, false).toString('latin1').endsWith(`Encapsulated: req-hdr=0, null-body=${head.length}\r\n\r\n${head.toString('latin1')}`));
  assert.match(modifiedRequest(service, head, true).toString('latin1'), new RegExp(`req-hdr=0, req-body=${head.length}\\r\\n`));
  const res = Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\n');
  assert.ok(servedResponse(service, res, Buffer.from('nope!')).toString('latin1').endsWith(`res-hdr=0, res-body=${res.length}\r\n\r\n${res.toString('latin1')}5\r\nnope!\r\n0\r\n\r\n`));
  assert.ok(servedResponse(service, res, Buffer.alloc(0)).toString('latin1').endsWith(`res-hdr=0, null-body=${res.length}\r\n\r\n${res.toString('latin1')}`));
});

test('a preview is its data and whether the body ended in it (ieof); trailers are refused', () => {
  assert.deepEqual(splitPreview(Buffer.from('0\r\n\r\n')), { data: Buffer.alloc(0), complete: false });
  assert.deepEqual(splitPreview(Buffer.from('0; ieof\r\n\r\n')), { data: Buffer.alloc(0), complete: true });
  assert.deepEqual(splitPreview(Buffer.from('5\r\nhe\r\n0\r\n0\r\n\r\n')), { data: Buffer.from('5\r\nhe\r\n0\r\n'), complete: false });
  assert.deepEqual(splitPreview(Buffer.from('3\r\nabc\r\n0;ieof\r\n\r\n')), { data: Buffer.from('3\r\nabc\r\n'), complete: true });
  assert.equal(splitPreview(Buffer.from('0\r\nX-Trailer: 1\r\n\r\n')), null);
  assert.equal(splitPreview(Buffer.from('0; other\r\n\r\n')), null);
});
