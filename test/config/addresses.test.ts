// Address, prefix and HOST:PORT parsing shared by config validation and the tenant router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPv6, formatPrefix, parseEndpoint, parseIP, parseIPv4, parseIPv6, parsePrefix } from '../../src/config/addresses.js';

function prefixText(text: string): string {
  const p = parsePrefix(text);
  return typeof p === 'string' ? p : formatPrefix(p);
}

test('dotted quads parse to signed 32-bit numbers and reject bad octets, leading zeros and short forms', () => {
  assert.equal(parseIPv4('0.0.0.0'), 0);
  assert.equal(parseIPv4('192.0.2.1'), (0xc0000201 | 0));
  assert.equal(parseIPv4('255.255.255.255'), -1);
  for (const bad of ['10.0.0.300', '010.0.0.1', '10.0.0', '10.0.0.1.2', '1.2.3.-4', ' 1.2.3.4', '']) {
    assert.equal(parseIPv4(bad), null, bad);
  }
});

test('IPv6 text parses with "::", mixed case and a dotted tail, and rejects malformed forms', () => {
  assert.deepEqual([...parseIPv6('::')!], new Array(16).fill(0));
  assert.deepEqual([...parseIPv6('2001:DB8::1')!], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...parseIPv6('::ffff:192.0.2.1')!].slice(10), [0xff, 0xff, 192, 0, 2, 1]);
  assert.deepEqual([...parseIPv6('1:2:3:4:5:6:7::')!].slice(12), [0, 7, 0, 0]);
  for (const bad of ['1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::1:2:3:4:5:6:7:8', '12345::', 'fe80::1%eth0',
    '1.2.3.4::', '::1.2.3', 'g::1']) {
    assert.equal(parseIPv6(bad), null, bad);
  }
});

test('an IPv4-mapped IPv6 address is an IPv4 address', () => {
  assert.deepEqual(parseIP('::ffff:198.51.100.7'), { family: 4, v4: parseIPv4('198.51.100.7') });
  assert.equal(parseIP('::198.51.100.7')?.family, 6);
});

test('IPv6 is written as RFC 5952 text: lowercase, no leading zeros, the longest zero run compressed', () => {
  const f = (s: string) => formatIPv6(parseIPv6(s)!);
  assert.equal(f('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(f('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(f('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  assert.equal(f('0:0:0:0:0:0:0:0'), '::');
  assert.equal(f('::1'), '::1');
  assert.equal(f('1::'), '1::');
});

test('prefixes are normalised: host bits cleared, host prefixes shown as addresses, IPv4-mapped as IPv4', () => {
  assert.equal(prefixText('192.0.2.77/24'), '192.0.2.0/24');
  assert.equal(prefixText('198.51.100.7/32'), '198.51.100.7');
  assert.equal(prefixText('10.1.2.3/0'), '0.0.0.0/0');
  assert.equal(prefixText('2001:DB8:ffff::/32'), '2001:db8::/32');
  assert.equal(prefixText('2001:db8::1/128'), '2001:db8::1');
  assert.equal(prefixText('2001:db8::1/127'), '2001:db8::/127');
  assert.equal(prefixText('::ffff:10.1.0.0/112'), '10.1.0.0/16');
  assert.equal(prefixText('::ffff:10.1.2.3'), '10.1.2.3');
});

test('bad prefixes say whether the address or the length is wrong', () => {
  assert.equal(prefixText('10.0.0.300'), '"10.0.0.300" is not an IPv4/IPv6 address or CIDR prefix');
  assert.equal(prefixText('10.0.0.0/33'), '"10.0.0.0/33": the prefix length must be 0 to 32 for IPv4');
  assert.equal(prefixText('10.0.0.0/'), '"10.0.0.0/": the prefix length must be 0 to 32 for IPv4');
  assert.equal(prefixText('2001:db8::/129'), '"2001:db8::/129": the prefix length must be 0 to 128 for IPv6');
  assert.equal(prefixText('::ffff:10.0.0.0/80'), '"::ffff:10.0.0.0/80": an IPv4-mapped prefix needs a length of 96 to 128 (or write the IPv4 prefix)');
  assert.equal(prefixText('example.com'), '"example.com" is not an IPv4/IPv6 address or CIDR prefix');
});

test('endpoints take IPV4:PORT and [IPV6]:PORT, and hostnames only where names are resolved', () => {
  assert.deepEqual(parseEndpoint('0.0.0.0:4739', false), { host: '0.0.0.0', port: 4739 });
  assert.deepEqual(parseEndpoint('[::]:4739', false), { host: '::', port: 4739 });
  assert.deepEqual(parseEndpoint('kafka-1.example.com:9092', true), { host: 'kafka-1.example.com', port: 9092 });
  assert.deepEqual(parseEndpoint('kafka_1:9092', true), { host: 'kafka_1', port: 9092 });
  assert.equal(parseEndpoint('localhost:4739', false), '"localhost:4739": "localhost" is not an IPv4 or IPv6 address');
  assert.equal(parseEndpoint('10.0.0.300:9092', true), '"10.0.0.300:9092": "10.0.0.300" is not a hostname or an IP address');
  assert.equal(parseEndpoint('0.0.0.0', false), 'expected HOST:PORT or [IPV6]:PORT, got "0.0.0.0"');
  assert.equal(parseEndpoint('::1:9092', true), '"::1:9092": an IPv6 address needs brackets, as in [::1]:9092');
  assert.equal(parseEndpoint('[10.0.0.1]:9092', true), '"[10.0.0.1]:9092": [10.0.0.1] is not an IPv6 address');
  assert.equal(parseEndpoint('1.2.3.4:0', true), '"1.2.3.4:0": the port must be 1 to 65535');
  assert.equal(parseEndpoint('1.2.3.4:65536', false), '"1.2.3.4:65536": the port must be 0 to 65535');
});

test('a listen port of 0 (any free port, for tests) is accepted; a broker port of 0 is not', () => {
  assert.deepEqual(parseEndpoint('127.0.0.1:0', false), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseEndpoint('[::1]:0', false), { host: '::1', port: 0 });
  assert.equal(parseEndpoint('kafka:0', true), '"kafka:0": the port must be 1 to 65535');
});
