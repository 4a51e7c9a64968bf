// The stdout readers on their own: replies split at any byte boundary parse the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../src/redirector/dialect';
import type { RawReply } from '../src/redirector/dialect';
import { IcapReader } from '../src/redirector/icap-reply';
import { LineReader } from '../src/redirector/line-reader';

const STREAM = Buffer.from([
  'ICAP/1.0 204 No Content\r\n\r\n',
  'ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=45\r\nX-Note: a:b\r\n\r\n',
  'HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n',
  '9\r\n<b>no</b>\r\n4;ext=1\r\n!!!!\r\n0\r\n',
  'ICAP/1.0 200 OK\nEncapsulated: req-hdr=0, null-body=33\n\n',
  'GET /safe HTTP/1.1\r\nHost: a.b\r\n\r\n',
].join(''), 'latin1');

function summary(replies: RawReply[]): unknown[] {
  return replies.map((r) => ({
    verdict: r.verdict,
    sections: [...r.icap!.sections].map(([name, data]) => [name, data.toString('latin1')]),
    body: r.icap!.body?.toString('latin1') ?? null,
    note: r.icap!.headers.get('x-note') ?? null,
  }));
}

test('icap reader: the same responses whether the stream arrives whole or byte by byte', () => {
  const whole: RawReply[] = [];
  new IcapReader(1 << 20).push(STREAM, whole);
  const split: RawReply[] = [];
  const reader = new IcapReader(1 << 20);
  for (let i = 0; i < STREAM.length; i++) reader.push(STREAM.subarray(i, i + 1), split);
  assert.deepEqual(summary(split), summary(whole));
  assert.deepEqual(summary(whole), [
    { verdict: 'ICAP/1.0 204 No Content', sections: [], body: null, note: null },
    {
      verdict: 'ICAP/1.0 200 OK',
      sections: [['res-hdr', 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n']],
      body: '<b>no</b>!!!!',
      note: 'a:b',
    },
    { verdict: 'ICAP/1.0 200 OK', sections: [['req-hdr', 'GET /safe HTTP/1.1\r\nHost: a.b\r\n\r\n']], body: null, note: null },
  ]);
});

test('icap reader: malformed or oversized responses are protocol errors', () => {
  const bad = (text: string, max = 1 << 20) => () => new IcapReader(max).push(Buffer.from(text, 'latin1'), []);
  assert.throws(bad('HTTP/1.1 200 OK\n\n'), ProtocolError);
  assert.throws(bad('ICAP/1.0 204\n\n'), /reason is required/);
  assert.throws(bad('ICAP/1.0 2x4 No\n\n'), ProtocolError);
  assert.throws(bad('ICAP/1.0 200 OK\nno colon here\n\n'), /without ":"/);
  assert.throws(bad('ICAP/1.0 200 OK\nEncapsulated: res-hdr=0, res-body=2\n\nab\nzz\n'), /chunk size/);
  assert.throws(bad('ICAP/1.0 200 OK\nEncapsulated: req-hdr=0, null-body=5000\n\n', 1000), /5000 encapsulated bytes/);
  assert.throws(bad(`ICAP/1.0 204 ${'x'.repeat(2000)}`, 1000), /larger than 1000 bytes/);
});

test('line reader: LF or CRLF, split anywhere, bounded length', () => {
  const lines: string[] = [];
  const reader = new LineReader(100);
  const text = 'first\r\nsecond\n\nthird\r\n';
  for (const ch of text) reader.push(Buffer.from(ch, 'latin1'), (line) => lines.push(line));
  assert.deepEqual(lines, ['first', 'second', '', 'third']);
  assert.throws(() => new LineReader(10).push(Buffer.from('x'.repeat(11)), () => undefined), /longer than 10 bytes/);
  assert.throws(() => new LineReader(10).push(Buffer.from(`${'x'.repeat(11)}\n`), () => undefined), /longer than 10 bytes/);
});
