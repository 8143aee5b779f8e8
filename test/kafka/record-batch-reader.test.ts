// The record batch reader on batches FlowGate's own writer seals (record-batch.ts): records read
// in place with their offsets, keys, values and null values; every codec; a set cut short at its
// end; control batches; a damaged batch is named, never read. Against the broker: fetch.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchBuilder, encodeHeaders, sealBatch, stampBatch, NO_PRODUCER } from '../../src/kafka/protocol/record-batch.js';
import { codecId, compress, compressionNames, type CompressionName } from '../../src/kafka/protocol/compression.js';
import { RecordBatchReader } from '../../src/kafka/protocol/record-batch-reader.js';

interface Written {
  key: string | null;
  value: string | null;
}

const headers = encodeHeaders({ schema: 'flowgate-raw/3', receiver: 'r1' });

async function batch(records: readonly Written[], baseOffset: number, codec: CompressionName = 'none'): Promise<Buffer> {
  const b = new BatchBuilder(1 << 20);
  for (const r of records) {
    const key = r.key === null ? null : Buffer.from(r.key);
    const value = Buffer.from(r.value ?? '');
    assert.ok(b.append(key, 0, key ? key.length : -1, value, 0, r.value === null ? -1 : value.length, headers, 1_733_500_000_000 + b.count));
  }
  const sealed = sealBatch(b, codec === 'none' ? null : await compress(codec, b.records()), codecId(codec), NO_PRODUCER);
  sealed.writeBigInt64BE(BigInt(baseOffset), 0); // what the broker writes on append (outside the checksum)
  return sealed;
}

/** Every record the reader gives for `set`, as text, and the reader after the walk. */
async function readAll(set: Buffer, start = 0, end = set.length): Promise<{ records: { offset: number; key: string | null; value: string | null }[]; reader: RecordBatchReader; batches: number[] }> {
  const reader = new RecordBatchReader().reset(set, start, end);
  const records: { offset: number; key: string | null; value: string | null }[] = [];
  const batches: number[] = [];
  while (reader.nextBatch()) {
    batches.push(reader.baseOffset);
    if (reader.problem || reader.isControl) continue;
    if (reader.compressed) await reader.decompress();
    while (reader.nextRecord()) {
      const b = reader.buffer;
      records.push({
        offset: reader.offset,
        key: reader.keyLength < 0 ? null : b.toString('utf8', reader.keyStart, reader.keyStart + reader.keyLength),
        value: reader.valueLength < 0 ? null : b.toString('utf8', reader.valueStart, reader.valueStart + reader.valueLength),
      });
    }
  }
  return { records, reader, batches };
}

const sample: Written[] = [
  { key: '192.0.2.1', value: 'first datagrams' },
  { key: null, value: 'no key' },
  { key: '2001:db8::7', value: null },
  { key: '', value: '' },
  { key: '198.51.100.9', value: 'x'.repeat(300) }, // a two-byte varint length
];

test('records of uncompressed batches are read in place with their offsets, keys, null keys and null values', async () => {
  const set = Buffer.concat([await batch(sample, 100), await batch(sample.slice(0, 2), 105)]);
  const { records, reader, batches } = await readAll(set);
  assert.deepEqual(batches, [100, 105]);
  assert.deepEqual(records.map((r) => r.offset), [100, 101, 102, 103, 104, 105, 106]);
  assert.deepEqual(records.slice(0, 5).map(({ key, value }) => ({ key, value })), sample);
  assert.equal(reader.truncated, false);
  assert.equal(reader.problem, null);
  assert.equal(reader.nextOffset, 107);
});

for (const codec of compressionNames.filter((n) => n !== 'none')) {
  test(`a ${codec} batch is decompressed once and its records read from that buffer`, async () => {
    const set = Buffer.concat([await batch(sample, 0, codec), await batch(sample, 5)]);
    const { records, reader } = await readAll(set);
    assert.equal(reader.problem, null);
    assert.deepEqual(records.map(({ key, value }) => ({ key, value })), [...sample, ...sample]);
    assert.deepEqual(records.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
}

test('a batch cut short at the end of the set is not read: truncated, and the offset to fetch next is after the last whole batch', async () => {
  const whole = await batch(sample, 40);
  const cut = await batch(sample, 45);
  for (const keep of [1, 11, 12, 61, cut.length - 1]) {
    const set = Buffer.concat([whole, cut.subarray(0, keep)]);
    const { records, reader, batches } = await readAll(set);
    assert.deepEqual(batches, [40], `cut after ${keep} bytes`);
    assert.equal(records.length, 5);
    assert.equal(reader.truncated, true);
    assert.equal(reader.nextOffset, 45);
  }
  // Within a larger buffer: the set's end is what counts, not the buffer's.
  const body = Buffer.concat([Buffer.from('head'), whole, cut, Buffer.from('tail')]);
  const { records, reader } = await readAll(body, 4, 4 + whole.length + 30);
  assert.equal(records.length, 5);
  assert.equal(reader.truncated, true);
});

test('a control batch (a transaction marker) has no data records; the offset moves past it', async () => {
  // A COMMIT marker: key = version 0, type 1; value = version 0, coordinator epoch 3.
  const b = new BatchBuilder(1024);
  const key = Buffer.from([0, 0, 0, 1]);
  const value = Buffer.from([0, 0, 0, 0, 0, 3]);
  b.append(key, 0, 4, value, 0, value.length, Buffer.from([0]), Date.now());
  const control = sealBatch(b, null, 0, NO_PRODUCER);
  control.writeInt16BE(0x30, 21); // attributes: transactional + control
  stampBatch(control, { producerId: 7n, producerEpoch: 0, baseSequence: -1 });
  control.writeBigInt64BE(12n, 0);
  const set = Buffer.concat([await batch(sample.slice(0, 2), 10), control, await batch(sample.slice(0, 1), 13)]);
  const reader = new RecordBatchReader().reset(set, 0, set.length);
  const seen: string[] = [];
  while (reader.nextBatch()) {
    if (reader.isControl) {
      seen.push(`control ${reader.baseOffset} next ${reader.nextOffset}`);
      continue;
    }
    while (reader.nextRecord()) seen.push(`record ${reader.offset}`);
  }
  assert.deepEqual(seen, ['record 10', 'record 11', 'control 12 next 13', 'record 13']);
});

test('a damaged batch is named (checksum, magic, codec) and none of its records is read; the batches after it are', async () => {
  const good = await batch(sample.slice(0, 1), 1);
  const cases: [string, (b: Buffer) => void][] = [
    ['crc', (b) => (b[b.length - 1] ^= 0xff)],
    ['magic', (b) => (b[16] = 1)],
    ['codec', (b) => {
      b.writeInt16BE(6, 21);
      stampBatch(b, NO_PRODUCER);
    }],
  ];
  for (const [problem, damage] of cases) {
    const bad = await batch(sample, 2);
    damage(bad);
    const set = Buffer.concat([bad, good]);
    const reader = new RecordBatchReader().reset(set, 0, set.length);
    assert.ok(reader.nextBatch());
    assert.equal(reader.problem, problem);
    assert.equal(reader.nextRecord(), false);
    assert.equal(reader.nextOffset, 7, 'its offsets are still known, to go past it');
    assert.ok(reader.nextBatch());
    assert.equal(reader.problem, null);
    assert.ok(reader.nextRecord());
    assert.equal(reader.offset, 1);
  }
});

test('a record whose length runs past its batch stops the batch as corrupt, without reading past it', async () => {
  const b = await batch(sample.slice(0, 2), 0);
  // The first record's length varint (just after the 61-byte header) made larger than the batch.
  b[61] = 0xfe;
  b[62] = 0x7f;
  stampBatch(b, NO_PRODUCER);
  const reader = new RecordBatchReader().reset(b, 0, b.length);
  assert.ok(reader.nextBatch());
  assert.equal(reader.problem, null);
  assert.equal(reader.nextRecord(), false);
  assert.equal(reader.problem, 'corrupt');
});
