// The raw topic's message layout (src/scale/raw-message.ts): what a receiver writes, a decoder reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RAW_ENTRY_ADDRESS, RAW_ENTRY_BYTES, RAW_HEADER_BYTES, RAW_MESSAGE_HEADER_BYTES, RAW_VERSION, appendRawDatagram, nextRawEntry, rawCount, rawLength, rawPort,
  rawProblem, rawReceivedAt, startRawMessage, writeRawMessage } from '../../src/scale/raw-message.js';
import { addressBytes, addressText } from '../../src/net/address.js';

test('datagrams gathered in one raw message read back in order, each with its exporter, port and receive time', () => {
  const datagrams = [Buffer.from('000a0010000000000000000000000000', 'hex'), Buffer.from('0009', 'hex'), Buffer.alloc(1400, 7)];
  for (const exporter of ['192.0.2.7', '2001:db8::1']) {
    const out = Buffer.alloc(4096);
    const address = addressBytes(exporter);
    let n = startRawMessage(out);
    datagrams.forEach((d, i) => (n = appendRawDatagram(out, n, d, 0, d.length, address, 0, 40000 + i, 1_765_000_000_123.5 + i)));
    const value = out.subarray(0, n);
    assert.equal(n, RAW_MESSAGE_HEADER_BYTES + datagrams.reduce((a, d) => a + RAW_ENTRY_BYTES + d.length, 0));
    assert.equal(rawProblem(value), null);
    assert.equal(rawCount(value), 3);
    let at = RAW_MESSAGE_HEADER_BYTES;
    datagrams.forEach((d, i) => {
      assert.equal(addressText(value, at + RAW_ENTRY_ADDRESS), exporter);
      assert.equal(rawPort(value, at), 40000 + i);
      assert.equal(rawReceivedAt(value, at), 1_765_000_000_123.5 + i);
      assert.deepEqual(value.subarray(at + RAW_ENTRY_BYTES, at + RAW_ENTRY_BYTES + rawLength(value, at)), d);
      at = nextRawEntry(value, at);
    });
    assert.equal(at, value.length);
  }
});

test('a message of another version, a truncated one, a count that does not match or none at all is named for what it is', () => {
  const d = Buffer.alloc(10, 1);
  const ok = Buffer.alloc(RAW_HEADER_BYTES + d.length);
  writeRawMessage(ok, d, 0, d.length, addressBytes('10.0.0.1'), 0, 1, 2);
  assert.equal(rawProblem(ok), null);
  assert.equal(rawProblem(null), 'raw_no_value');
  assert.equal(rawProblem(Buffer.alloc(0)), 'raw_version');
  assert.equal(rawProblem(Buffer.from([RAW_VERSION - 1, 0, 0, 1])), 'raw_version');
  assert.equal(rawProblem(ok.subarray(0, ok.length - 1)), 'raw_truncated');
  assert.equal(rawProblem(Buffer.concat([ok, Buffer.from([0])])), 'raw_truncated', 'bytes past the last datagram');
  const twice = Buffer.from(ok);
  twice.writeUInt16BE(2, 2);
  assert.equal(rawProblem(twice), 'raw_truncated', 'a second datagram announced, not there');
  const none = Buffer.from(ok.subarray(0, RAW_MESSAGE_HEADER_BYTES));
  none.writeUInt16BE(0, 2);
  assert.equal(rawProblem(none), 'raw_truncated');
});
