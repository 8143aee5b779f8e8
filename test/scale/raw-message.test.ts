// The raw topic's message layout (src/scale/raw-message.ts): what a receiver writes, a decoder reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RAW_HEADER_BYTES, RAW_ADDRESS, RAW_VERSION, rawPort, rawProblem, rawReceivedAt, writeRawMessage } from '../../src/scale/raw-message.js';
import { addressBytes, addressText } from '../../src/net/address.js';

test('a datagram framed as a raw message reads back with its exporter, port and receive time', () => {
  const datagram = Buffer.from('000a0010000000000000000000000000', 'hex');
  for (const exporter of ['192.0.2.7', '2001:db8::1']) {
    const out = Buffer.alloc(RAW_HEADER_BYTES + 100);
    const address = addressBytes(exporter);
    const n = writeRawMessage(out, datagram, 0, datagram.length, address, 0, 40000, 1_765_000_000_123.5);
    const value = out.subarray(0, n);
    assert.equal(n, RAW_HEADER_BYTES + datagram.length);
    assert.equal(rawProblem(value), null);
    assert.equal(addressText(value, RAW_ADDRESS), exporter);
    assert.equal(rawPort(value), 40000);
    assert.equal(rawReceivedAt(value), 1_765_000_000_123.5);
    assert.deepEqual(value.subarray(RAW_HEADER_BYTES), datagram);
  }
});

test('a message of another version, a truncated one or none at all is named for what it is', () => {
  const ok = Buffer.alloc(RAW_HEADER_BYTES);
  ok[0] = RAW_VERSION;
  assert.equal(rawProblem(ok), null);
  assert.equal(rawProblem(null), 'raw_no_value');
  assert.equal(rawProblem(Buffer.alloc(0)), 'raw_version');
  assert.equal(rawProblem(Buffer.from([RAW_VERSION + 1, 0, 0, 0])), 'raw_version');
  assert.equal(rawProblem(ok.subarray(0, RAW_HEADER_BYTES - 1)), 'raw_truncated');
});
