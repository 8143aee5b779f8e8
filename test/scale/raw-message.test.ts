// The raw topic's message layout (src/scale/raw-message.ts): what a receiver writes, a decoder reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RAW_ENTRY_ADDRESS, RAW_ENTRY_BYTES, RAW_FLAG_RELIABLE, RAW_FLAG_SESSION_END, RAW_HEADER_BYTES, RAW_MESSAGE_HEADER_BYTES, RAW_VERSION, appendRawDatagram,
  nextRawEntry, rawCount, rawLength, rawPort, rawProblem, rawReceivedAt, rawTransportFlags, startRawMessage, writeRawMessage } from '../../src/scale/raw-message.js';
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

test('IPFIX over TCP: entries carry their transport flags; a connection\'s end is an entry without a datagram', () => {
  const out = Buffer.alloc(1024);
  const address = addressBytes('192.0.2.9');
  const message = Buffer.from('000a0010000000000000000000000000', 'hex');
  let n = startRawMessage(out);
  n = appendRawDatagram(out, n, message, 0, message.length, address, 0, 50000, 1, RAW_FLAG_RELIABLE);
  n = appendRawDatagram(out, n, message, 0, 0, address, 0, 50000, 2, RAW_FLAG_SESSION_END);
  n = appendRawDatagram(out, n, message, 0, message.length, address, 0, 4739, 3);
  const value = out.subarray(0, n);
  assert.equal(rawProblem(value), null);
  let at = RAW_MESSAGE_HEADER_BYTES;
  const read = [];
  for (let i = 0; i < rawCount(value); i++, at = nextRawEntry(value, at)) read.push([rawTransportFlags(value, at), rawLength(value, at), rawPort(value, at)]);
  assert.deepEqual(read, [[RAW_FLAG_RELIABLE, 16, 50000], [RAW_FLAG_SESSION_END, 0, 50000], [0, 16, 4739]]);
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
