/**
 * The streaming readers of RESPMOD (src/redirector/chunked-decoder.ts, icap-answer-reader.ts):
 * the same bytes give the same result however the socket cuts them, down to one byte at a time;
 * what is not the chunked coding or ICAP is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedDecoder } from '../src/redirector/chunked-decoder';
import { ProtocolError } from '../src/redirector/dialect';
import { IcapAnswerReader, type IcapAnswerHead } from '../src/redirector/icap-answer-reader';

/** `bytes` fed in pieces of `size`. */
function pieces(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

test('ChunkedDecoder: data, extensions, ieof, trailers and what follows, whatever the cuts', () => {
  const coded = Buffer.from('5;name=x\r\nhello\r\nb\r\n, the world\r\n0; ieof\r\nTrailer: t\r\n\r\nNEXT', 'latin1');
  for (const size of [1, 2, 3, 7, coded.length]) {
    const decoder = new ChunkedDecoder();
    const data: Buffer[] = [];
    let rest = '';
    for (const piece of pieces(coded, size)) {
      if (decoder.done) {
        rest += piece.toString('latin1');
        continue;
      }
      const end = decoder.push(piece, 0, (d) => data.push(Buffer.from(d)));
      if (end !== -1) rest += piece.subarray(end).toString('latin1');
    }
    assert.equal(Buffer.concat(data).toString(), 'hello, the world', `pieces of ${size}`);
    assert.equal(decoder.ieof, true);
    assert.equal(rest, 'NEXT');
  }
});

test('ChunkedDecoder: a size that is not hex, or data longer than its size, is refused', () => {
  assert.throws(() => new ChunkedDecoder().push(Buffer.from('zz\r\n'), 0, () => undefined), ProtocolError);
  assert.throws(() => new ChunkedDecoder().push(Buffer.from('2\r\nabc\r\n'), 0, () => undefined), ProtocolError);
});

test('IcapAnswerReader: 100 Continue, then a 200 with res-hdr and a chunked body, cut anywhere', () => {
  const resHdr = 'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n';
  const answer = Buffer.from(
    'ICAP/1.0 100 Continue\r\n\r\n'
    + `ICAP/1.0 200 OK\r\nISTag: "x"\r\nEncapsulated: res-hdr=0, res-body=${resHdr.length}\r\n\r\n${resHdr}`
    + '4\r\nbad \r\n5\r\nthing\r\n0\r\n\r\n',
    'latin1',
  );
  for (const size of [1, 5, 64, answer.length]) {
    const heads: IcapAnswerHead[] = [];
    const body: Buffer[] = [];
    let ended = -1;
    const reader = new IcapAnswerReader({ head: (h) => heads.push(h), body: (p) => body.push(Buffer.from(p)), end: (rest) => (ended = rest) });
    for (const piece of pieces(answer, size)) reader.push(piece);
    assert.deepEqual(heads.map((h) => h.code), [100, 200], `pieces of ${size}`);
    assert.equal(heads[1]!.sections.get('res-hdr')!.toString('latin1'), resHdr);
    assert.equal(heads[1]!.hasBody, true);
    assert.equal(Buffer.concat(body).toString(), 'bad thing');
    assert.equal(ended, 0);
  }
});

test('IcapAnswerReader: a 204 without Encapsulated ends with its head; a bad status line is refused', () => {
  let ended = -1;
  const reader = new IcapAnswerReader({ head: () => undefined, body: () => undefined, end: (rest) => (ended = rest) });
  reader.push(Buffer.from('ICAP/1.0 204 No Content\r\nISTag: "x"\r\n\r\n'));
  assert.equal(ended, 0);
  assert.equal(reader.finished, true);
  const broken = new IcapAnswerReader({ head: () => undefined, body: () => undefined, end: () => undefined });
  assert.throws(() => broken.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), ProtocolError);
});
