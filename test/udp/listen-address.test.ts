// Listen addresses and brokers are split into host and port by the config's own parser
// (splitHostPort over parseEndpoint): what the config accepts, the receiver and HTTP can bind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitHostPort } from '../../src/config/addresses.js';

test('HOST:PORT and [IPV6]:PORT split into host (no brackets) and port', () => {
  assert.deepEqual(splitHostPort('0.0.0.0:4739', false), { host: '0.0.0.0', port: 4739 });
  assert.deepEqual(splitHostPort('[::]:4739', false), { host: '::', port: 4739 });
  assert.deepEqual(splitHostPort('127.0.0.1:0', false), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(splitHostPort('[::1]:9092', true), { host: '::1', port: 9092 });
  assert.deepEqual(splitHostPort('kafka-1.internal:9092', true), { host: 'kafka-1.internal', port: 9092 });
});

test('what the config would refuse throws its problem text', () => {
  assert.throws(() => splitHostPort('localhost:4739', false), /is not an IPv4 or IPv6 address/);
  assert.throws(() => splitHostPort('::1:4739', false), /needs brackets/);
  assert.throws(() => splitHostPort('127.0.0.1', false), /expected HOST:PORT/);
  assert.throws(() => splitHostPort('broker:0', true), /the port must be 1 to 65535/);
});
