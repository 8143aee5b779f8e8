// AddressMap: values found by 16 address bytes read in place (the worker's stated exporters behind relays).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressMap } from '../../src/net/address-map.js';
import { address, concatBytes } from '../support/packets.js';

test('IPv4-mapped and IPv6 addresses are found at any offset, each apart from the others', () => {
  const m = new AddressMap<string>();
  const bytes = Buffer.from(concatBytes([1, 2, 3], address('192.0.2.9'), address('2001:db8::7'), address('2001:db8::8')));
  assert.equal(m.get(bytes, 3), undefined);
  m.set(bytes, 3, 'v4');
  m.set(bytes, 19, 'v6 7');
  assert.equal(m.get(bytes, 3), 'v4');
  assert.equal(m.get(address('192.0.2.9'), 0), 'v4');
  assert.equal(m.get(bytes, 19), 'v6 7');
  assert.equal(m.get(bytes, 35), undefined, 'another IPv6 address');
  assert.equal(m.get(address('192.0.2.10'), 0), undefined);
  assert.equal(m.size, 2);
});

test('past its limit the map is cleared and refilled', () => {
  const m = new AddressMap<number>(4);
  for (let i = 0; i < 4; i++) m.set(address(`192.0.2.${i}`), 0, i);
  assert.equal(m.size, 4);
  m.set(address('2001:db8::1'), 0, 99);
  assert.equal(m.size, 1);
  assert.equal(m.get(address('192.0.2.0'), 0), undefined);
  assert.equal(m.get(address('2001:db8::1'), 0), 99);
});
