// The hand-written Kafka encoding checked against kafkajs's own decoders and partitioner (an
// independent implementation of the same protocol) and against the CRC-32C the broker verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { crc32c } from '@node-rs/crc32';
import { BatchBuilder, encodeHeaders, readVarint, recordViews, sealBatch, stampBatch, varintSize, writeVarint, BATCH_HEADER_BYTES } from '../../src/kafka/protocol/record-batch.js';
import { murmur2, partitionForKey } from '../../src/kafka/partitioner.js';
import { FlowKeyWriter } from '../../src/kafka/flow-key.js';
import { codecId, compress } from '../../src/kafka/protocol/compression.js';
import { decoderOutput } from '../support/decoder-output.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  firstOffset: string; firstTimestamp: string; maxTimestamp: string; producerId: string; producerEpoch: number; firstSequence: number;
  lastOffsetDelta: number; compression: number;
  records: { key: Buffer | null; value: Buffer; headers: Record<string, Buffer>; timestamp: string; offset: string }[];
}>;
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;
// kafkajs's decoder reads snappy batches only with the codec in its global table: registered
// here, for this test's decoder (FlowGate itself calls the codec directly and leaves kafkajs alone).
const { Types: CompressionTypes, Codecs: CompressionCodecs } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { Snappy: number }; Codecs: Record<number, unknown> };
CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy');

test('varints round-trip, with the sizes Kafka gives them, at every length boundary', () => {
  const buf = Buffer.alloc(8);
  for (const v of [-1, 0, 1, 63, 64, 127, 128, 8191, 8192, 1048575, 1048576, 134217727, 134217728, 0x7fffffff]) {
    const end = writeVarint(buf, 0, v);
    assert.equal(end, varintSize(v), `size of ${v}`);
    assert.deepEqual(readVarint(buf, 0), [v, end]);
  }
});

function build(records: { key: string | null; value: string; at: number }[], headers: Buffer, capacity = 1 << 20): BatchBuilder {
  const b = new BatchBuilder(capacity, 64);
  const value = Buffer.from(records.map((r) => r.value).join('\n'));
  let start = 0;
  for (const r of records) {
    const key = r.key === null ? null : Buffer.from(r.key);
    const end = start + Buffer.byteLength(r.value);
    assert.ok(b.append(key, 0, key ? key.length : -1, value, start, end, headers, r.at));
    start = end + 1;
  }
  return b;
}

test('a sealed batch decodes with kafkajs to the same keys, values, headers, offsets and timestamps; its CRC-32C is right', async () => {
  const headers = encodeHeaders({ schema: '1', exporter: '2001:db8::1' });
  const records = Array.from({ length: 300 }, (_, i) => ({
    key: i % 3 === 0 ? null : `k${i}`,
    value: `{"dvc":"2001:db8::1","n":${i},"pad":"${'x'.repeat(i % 200)}"}`,
    at: 1_700_000_000_000 + Math.floor(i / 7) - (i === 5 ? 10 : 0), // one clock step back
  }));
  const builder = build(records, headers);
  const batch = sealBatch(builder, null, codecId('none'), { producerId: 4242n, producerEpoch: 3, baseSequence: 17 });
  assert.equal(batch.readUInt32BE(17), crc32c(batch.subarray(21)) >>> 0);
  assert.equal(batch.readInt32BE(8), batch.length - 12);
  const decoded = await decodeBatch(new Decoder(batch));
  assert.equal(decoded.producerId, '4242');
  assert.equal(decoded.producerEpoch, 3);
  assert.equal(decoded.firstSequence, 17);
  assert.equal(decoded.lastOffsetDelta, records.length - 1);
  assert.equal(decoded.records.length, records.length);
  assert.equal(decoded.maxTimestamp, String(1_700_000_000_000 + Math.floor(299 / 7)));
  decoded.records.forEach((r, i) => {
    const want = records[i]!;
    assert.equal(r.key === null ? null : r.key.toString(), want.key);
    assert.equal(r.value.toString(), want.value);
    assert.deepEqual(Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])), { schema: '1', exporter: '2001:db8::1' });
    assert.equal(r.offset, String(i));
    assert.equal(r.timestamp, String(Math.max(want.at, records[0]!.at)), `timestamp of ${i}`);
  });
});

test('restamping changes the producer fields and keeps the CRC right', async () => {
  const builder = build([{ key: null, value: '{"a":1}', at: 5 }], encodeHeaders({}));
  const batch = sealBatch(builder, null, codecId('none'), { producerId: 1n, producerEpoch: 0, baseSequence: 0 });
  stampBatch(batch, { producerId: 99n, producerEpoch: 7, baseSequence: 123456 });
  assert.equal(batch.readUInt32BE(17), crc32c(batch.subarray(21)) >>> 0);
  const decoded = await decodeBatch(new Decoder(batch));
  assert.deepEqual([decoded.producerId, decoded.producerEpoch, decoded.firstSequence], ['99', 7, 123456]);
});

test('gzip and snappy batches decode with kafkajs to the same records', async () => {
  const records = Array.from({ length: 50 }, (_, i) => ({ key: null, value: `{"n":${i},"s":"${'ab'.repeat(i)}"}`, at: 1000 + i }));
  for (const name of ['gzip', 'snappy'] as const) {
    const builder = build(records, encodeHeaders({ schema: '1' }));
    const compressed = await compress(name, builder.records());
    assert.ok(compressed.length < builder.length - BATCH_HEADER_BYTES, `${name} compresses`);
    const batch = sealBatch(builder, compressed, codecId(name), { producerId: -1n, producerEpoch: -1, baseSequence: -1 });
    const decoded = await decodeBatch(new Decoder(batch));
    assert.deepEqual(decoded.records.map((r) => r.value.toString()), records.map((r) => r.value), name);
  }
});

test('a full batch refuses a record without changing; the records read back for splitting', () => {
  const headers = encodeHeaders({ schema: '1' });
  const b = new BatchBuilder(1024, 64);
  const value = Buffer.from('x'.repeat(100));
  let n = 0;
  while (b.append(null, 0, -1, value, 0, value.length, headers, 1)) n++;
  const before = [b.length, b.count];
  assert.equal(b.append(null, 0, -1, value, 0, value.length, headers, 1), false);
  assert.deepEqual([b.length, b.count], before);
  assert.ok(b.length <= 1024 && n === b.count && n > 5);
  const views = recordViews(b);
  assert.equal(views.length, n);
  for (const v of views) assert.equal(b.buffer.toString('utf8', v.valueStart, v.valueEnd), value.toString());
});

test('murmur2 and the partition of a key agree with kafkajs (the Java client\'s partitioner)', () => {
  const keys = ['', 'a', 'ab', 'abc', 'abcd', '10.0.0.1', '2001:db8::1', 'ffffffff', '7', 'héllo wörld'];
  for (let i = 0; i < 200; i++) keys.push(Math.floor(Math.random() * 2 ** 32).toString(16));
  for (const k of keys) {
    const bytes = Buffer.from(`..${k}`);
    assert.equal(murmur2(bytes, 2, bytes.length - 2), kafkajsMurmur2(Buffer.from(k)), k);
    for (const n of [1, 3, 12]) assert.equal(partitionForKey(bytes, 2, bytes.length - 2, n), (kafkajsMurmur2(Buffer.from(k)) & 0x7fffffff) % n);
  }
});

test('the flow key is the hash in hex without leading zeros', () => {
  const w = new FlowKeyWriter();
  for (const h of [0, 1, 15, 16, 255, 0x1000, 0xabcdef, 0x7fffffff, 0x80000000, 0xffffffff, 0x0f0f0f0f]) {
    const n = w.write(h);
    assert.equal(w.bytes.toString('latin1', 0, n), h.toString(16));
  }
});

test('a run of records from the decoder output frames byte for byte as appending them one by one, and stops where the batch is full', () => {
  const headers = encodeHeaders({ schema: '1', exporter: '192.0.2.1' });
  const values = Array.from({ length: 40 }, (_, i) => `{"n":${i},"v":"${'z'.repeat((i * 37) % 300)}"}`);
  const { output, index: recordIndex } = decoderOutput(values);
  const index = recordIndex.entries;
  const end = (k: number): number => index[k * recordIndex.stride + recordIndex.endAt]!;
  const key = Buffer.from('192.0.2.1');
  for (const [capacity, keyLength] of [[1 << 20, -1], [1 << 20, key.length], [3000, key.length], [1500, -1]] as const) {
    const one = new BatchBuilder(capacity, 64);
    let start = 0;
    let fitOne = 0;
    for (let i = 0; i < values.length; i++) {
      if (!one.append(key, 0, keyLength, output, start, end(i), headers, 77)) break;
      fitOne++;
      start = end(i) + 1;
    }
    const run = new BatchBuilder(capacity, 64);
    const m1 = run.appendRun(key, 0, keyLength, output, 0, recordIndex, 0, 5, headers, 77, 1_000_000);
    const from = end(m1 - 1) + 1;
    const m2 = run.appendRun(key, 0, keyLength, output, from, recordIndex, m1, values.length - m1, headers, 77, 1_000_000);
    assert.equal(m1 + m2, fitOne, `records that fit, capacity ${capacity}`);
    assert.equal(run.length, one.length);
    assert.ok(run.records().equals(one.records()), `bytes, capacity ${capacity} key ${keyLength}`);
  }
  const capped = new BatchBuilder(1 << 20, 64);
  assert.equal(capped.appendRun(null, 0, -1, output, 0, recordIndex, 0, values.length, headers, 1, 7), 7);
  assert.equal(capped.appendRun(null, 0, -1, output, end(6) + 1, recordIndex, 7, 3, headers, 1, 7), 0);
});
