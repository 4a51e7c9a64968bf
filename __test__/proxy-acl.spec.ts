import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCAL_DESTINATIONS, RangeList, parseRange, plainAddress } from '../src/proxy/acl';

test('local destinations include every loopback, unspecified, link-local and mapped form', () => {
  const local = new RangeList(LOCAL_DESTINATIONS);
  for (const ip of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '0.0.0.0', '::', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', 'fe80::1', '169.254.1.1', '::ffff:0.0.0.0']) {
    assert.equal(local.has(ip), true, ip);
  }
  for (const ip of ['8.8.8.8', '10.0.0.1', '::ffff:8.8.8.8', '2001:db8::1', '128.0.0.1']) assert.equal(local.has(ip), false, ip);
});

test('NAT64 (64:ff9b::/96) of a loopback, unspecified or link-local address is a local destination', () => {
  const local = new RangeList(LOCAL_DESTINATIONS);
  for (const ip of ['64:ff9b::7f00:1', '64:ff9b::127.0.0.1', '64:ff9b::', '64:ff9b::a9fe:a9fe']) assert.equal(local.has(ip), true, ip);
  for (const ip of ['64:ff9b::808:808', '64:ff9b::c000:201']) assert.equal(local.has(ip), false, ip);
});

test('ranges match IPv4, IPv6 and IPv4-mapped clients', () => {
  const clients = new RangeList(['10.0.0.0/8', '172.16.0.0/12', 'fc00::/7']);
  assert.equal(clients.has('10.200.3.4'), true);
  assert.equal(clients.has('::ffff:10.1.1.1'), true);
  assert.equal(clients.has('172.31.255.255'), true);
  assert.equal(clients.has('172.32.0.0'), false);
  assert.equal(clients.has('fd12::1'), true);
  assert.equal(clients.has('fe00::1'), false);
  assert.equal(clients.has('not an address'), false);
});

test('bad ranges are refused with the accepted form', () => {
  assert.throws(() => parseRange('10.0.0.0/33'), /prefix length must be 0 to 32/);
  assert.throws(() => parseRange('ten'), /IPv4\/IPv6 address or CIDR/);
  assert.throws(() => parseRange('1.2.3'), /IPv4\/IPv6 address or CIDR/);
  assert.throws(() => parseRange('1::2::3/64'), /IPv4\/IPv6 address or CIDR/);
  assert.equal(new RangeList(['::/0', '0.0.0.0/0']).has('1::2::3'), false);
});

test('plainAddress strips the dual-stack prefix only from IPv4 peers', () => {
  assert.equal(plainAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(plainAddress('::1'), '::1');
  assert.equal(plainAddress(undefined), '');
});
