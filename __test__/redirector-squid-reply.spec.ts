// Squid's reply grammar (kv quoting, %-decoding, legacy forms), checked on the parser alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { legacyNotes, parseSquidReply, unescapeUrl } from '../src/redirector/squid-reply';

test('squid reply: result codes need a space or the end after them; empty is ERR', () => {
  assert.equal(parseSquidReply('OK').result, 'OK');
  assert.equal(parseSquidReply('OK url=x').result, 'OK');
  assert.equal(parseSquidReply('ERR').result, 'ERR');
  assert.equal(parseSquidReply('BH message="x"').result, 'BH');
  assert.equal(parseSquidReply('').result, 'ERR');
  assert.equal(parseSquidReply('OKAY').result, 'unknown');
  assert.equal(parseSquidReply('ERRor').result, 'unknown');
  assert.equal(parseSquidReply('O').result, 'unknown');
});

test('squid reply: unquoted values over 2 bytes are %-decoded, quoted ones keep their escapes', () => {
  assert.deepEqual(parseSquidReply('OK rewrite-url=http://a.example/%7Euser%20x').notes, [['rewrite-url', 'http://a.example/~user x']]);
  assert.deepEqual(parseSquidReply('OK rewrite-url="http://a.example/%7Euser"').notes, [['rewrite-url', 'http://a.example/%7Euser']]);
  assert.deepEqual(parseSquidReply('OK message="two words" url="a\\"b\\\\c"').notes, [['message', 'two words'], ['url', 'a"b\\c']]);
  assert.deepEqual(parseSquidReply('OK message="line\\nbreak\\rx\\q"').notes, [['message', 'line\nbreak\rxq']]);
  // Outside quotes a backslash is an ordinary byte.
  assert.deepEqual(parseSquidReply('OK tag=a\\nb').notes, [['tag', 'a\\nb']]);
  // Quotes may open mid-word; the value then still counts as unquoted for %-decoding.
  assert.deepEqual(parseSquidReply('OK tag=ab"c d"%41').notes, [['tag', 'abc dA']]);
  assert.deepEqual(parseSquidReply('OK tag=').notes, [['tag', '']]);
});

test('squid reply: parsing stops at the first token that is not key=value', () => {
  assert.deepEqual(parseSquidReply('OK status=302 garbage url=http://x/').notes, [['status', '302']]);
  assert.deepEqual(parseSquidReply('OK url= http://x/').notes, []);
  assert.deepEqual(parseSquidReply('OK a.b=1').notes, []);
});

test('squid reply: rfc1738 unescape keeps %00, a lone % and folds %%', () => {
  assert.equal(unescapeUrl('%41%42%zz%'), 'AB%zz%');
  assert.equal(unescapeUrl('100%%'), '100%');
  assert.equal(unescapeUrl('a%00b'), 'a%00b');
  assert.equal(unescapeUrl('%e9'), '\u00e9');
});

test('squid reply: legacy replies keep the first word; NNN:URL redirects, anything else rewrites', () => {
  assert.deepEqual(legacyNotes('302:http://block.example/ 10.0.0.1/- - GET'), [['status', '302'], ['url', 'http://block.example/']]);
  assert.deepEqual(legacyNotes('301:http://x/'), [['status', '301'], ['url', 'http://x/']]);
  assert.deepEqual(legacyNotes('404:http://x/'), [['rewrite-url', '404:http://x/']]);
  assert.deepEqual(legacyNotes('http://new.example/ 10.0.0.1/- - GET'), [['rewrite-url', 'http://new.example/']]);
  assert.deepEqual(legacyNotes('!group!http://x/'), [['rewrite-url', 'http://x/']]);
  assert.deepEqual(legacyNotes(' leading-space'), []);
});
