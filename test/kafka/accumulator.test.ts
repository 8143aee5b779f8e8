// The accumulator: records into batches per partition (sticky for keyless records, murmur2 for
// keyed ones), records staged until the topic's partitions are known, linger, and admission
// (the queue's limits, all or nothing per datagram).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Accumulator, type AccumulatorSettings } from '../../src/kafka/accumulator.js';
import { encodeHeaders, recordViews } from '../../src/kafka/protocol/record-batch.js';
import { partitionForKey } from '../../src/kafka/partitioner.js';
import { splitBatch, type QueuedBatch } from '../../src/kafka/queued-batch.js';
import { createLogger } from '../../src/log.js';
import { decoderOutput } from '../support/decoder-output.js';

const base: AccumulatorSettings = { linger_ms: 60_000, batch_max_records: 1000, batch_max_bytes: 1 << 20, queue_max_records: 1_000_000, queue_max_bytes: 1 << 30 };
const headers = encodeHeaders({ schema: '1' });

function setup(over: Partial<AccumulatorSettings> = {}) {
  const sealed: QueuedBatch[] = [];
  const dropped: { reason: string; tenant: string; records: number }[] = [];
  const topics: string[] = [];
  const acc = new Accumulator({ ...base, ...over }, {
    sealed: (b) => sealed.push(b), opened: () => undefined, topicAdded: (t) => topics.push(t),
    dropped: (reason, tenant, records) => dropped.push({ reason, tenant, records }),
  }, createLogger('error'));
  return { acc, sealed, dropped, topics };
}

const valuesOf = (b: QueuedBatch) => recordViews(b.builder).map((v) => b.builder.buffer.toString('utf8', v.valueStart, v.valueEnd));

test('keyless records stay on one partition until its batch is sealed, then move to another', () => {
  const { acc, sealed } = setup({ batch_max_records: 4 });
  acc.addTopic('t');
  acc.partitionsKnown('t', 3);
  const values = Array.from({ length: 12 }, (_, i) => `{"n":${i}}`);
  const { output: out, index } = decoderOutput(values);
  acc.appendRecords('t', 'acme', null, -1, out, index, 12, headers, 1);
  assert.equal(sealed.length, 3);
  assert.deepEqual(sealed.map(valuesOf), [values.slice(0, 4), values.slice(4, 8), values.slice(8, 12)]);
  for (let i = 1; i < sealed.length; i++) assert.notEqual(sealed[i]!.partition, sealed[i - 1]!.partition, 'the next batch goes elsewhere');
  assert.deepEqual(sealed.map((b) => [b.tenants, b.tenantRecords]), [[['acme'], [4]], [['acme'], [4]], [['acme'], [4]]]);
});

test('a keyed record goes to the key\'s murmur2 partition', () => {
  const { acc, sealed } = setup();
  acc.addTopic('t');
  acc.partitionsKnown('t', 7);
  const want = new Map<string, number>();
  for (const k of ['192.0.2.1', '192.0.2.2', '2001:db8::1', 'a', 'bb']) {
    const key = Buffer.from(k);
    const value = Buffer.from(`{"k":"${k}"}`);
    acc.append('t', 'acme', key, key.length, value, 0, value.length, headers, 1, 1);
    want.set(`{"k":"${k}"}`, partitionForKey(key, 0, key.length, 7));
  }
  acc.sealDue(Date.now(), true);
  const got = new Map<string, number>();
  for (const b of sealed) for (const v of valuesOf(b)) got.set(v, b.partition);
  assert.deepEqual(got, want);
});

test('records that arrive before the topic\'s partitions are known are queued, then framed in order once they are', () => {
  const { acc, sealed, topics } = setup();
  const values = ['{"n":0}', '{"n":1}', '{"n":2}'];
  const { output: out, index } = decoderOutput(values);
  acc.appendRecords('new', 'acme', null, -1, out, index, 2, headers, 1);
  const one = Buffer.from(values[2]!);
  assert.equal(acc.append('new', 'acme', null, -1, one, 0, one.length, headers, 1, 1), true);
  assert.deepEqual(topics, ['new']);
  assert.equal(acc.queuedRecords, 3);
  assert.equal(acc.sealDue(Date.now(), true), Infinity);
  assert.equal(sealed.length, 0, 'nothing to seal: no partition yet');
  acc.partitionsKnown('new', 1);
  acc.sealDue(Date.now(), true);
  assert.deepEqual(sealed.map(valuesOf), [values]);
});

test('a batch is sealed when its linger is over, not before', () => {
  const { acc, sealed } = setup({ linger_ms: 60_000 });
  acc.addTopic('t');
  acc.partitionsKnown('t', 1);
  const v = Buffer.from('{}');
  acc.append('t', 'acme', null, -1, v, 0, v.length, headers, 1, 1);
  const left = acc.sealDue(Date.now(), false);
  assert.ok(left > 0 && left <= 60_000, `${left} ms left`);
  assert.equal(sealed.length, 0);
  assert.equal(acc.sealDue(Date.now() + 60_001, false), Infinity);
  assert.equal(sealed.length, 1);
});

test('a batch past its linger that the sender could not send now stays open and keeps filling; sealed once it can be sent', () => {
  const { acc, sealed } = setup({ linger_ms: 5 });
  acc.addTopic('t');
  acc.partitionsKnown('t', 2);
  const key = Buffer.from('192.0.2.1');
  const p = partitionForKey(key, 0, key.length, 2);
  const v = Buffer.from('{}');
  acc.append('t', 'acme', key, key.length, v, 0, v.length, headers, 1, 1);
  const asked: string[] = [];
  // Its partition's window is full: due, not sealed, and not counted as due again (the sender calls back).
  assert.equal(acc.sealDue(Date.now() + 10, false, (topic, partition) => (asked.push(`${topic}/${partition}`), true)), Infinity);
  assert.deepEqual(asked, [`t/${p}`]);
  assert.equal(sealed.length, 0);
  acc.append('t', 'acme', key, key.length, v, 0, v.length, headers, 1, 1);
  acc.sealDue(Date.now() + 20, false, () => false);
  assert.equal(sealed.length, 1);
  assert.equal(sealed[0]!.builder.count, 2, 'the records that came meanwhile are in the same batch');
  // At close (all) nothing is held.
  acc.append('t', 'acme', key, key.length, v, 0, v.length, headers, 1, 1);
  acc.sealDue(Date.now(), true, () => true);
  assert.equal(sealed.length, 2);
});

test('a datagram that does not fit the queue is dropped whole as queue_full; released batches make room again', () => {
  const { acc, sealed, dropped } = setup({ queue_max_records: 5, batch_max_records: 4 });
  acc.addTopic('t');
  acc.partitionsKnown('t', 1);
  const { output: out, index } = decoderOutput(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}']);
  acc.appendRecords('t', 'acme', null, -1, out, index, 4, headers, 1);
  const [records, bytes] = [acc.queuedRecords, acc.queuedBytes];
  acc.appendRecords('t', 'acme', null, -1, out, index, 2, headers, 1);
  assert.deepEqual(dropped, [{ reason: 'queue_full', tenant: 'acme', records: 2 }]);
  assert.deepEqual([acc.queuedRecords, acc.queuedBytes], [records, bytes], 'nothing of it counted');
  assert.equal(sealed.length, 1);
  acc.release(sealed[0]!);
  assert.deepEqual([acc.queuedRecords, acc.queuedBytes], [0, 0]);
  acc.appendRecords('t', 'acme', null, -1, out, index, 2, headers, 1);
  assert.equal(acc.queuedRecords, 2);
});

test('a record larger than a whole batch is dropped as kafka_rejected; those around it are batched', () => {
  const { acc, sealed, dropped } = setup({ batch_max_bytes: 2048 });
  acc.addTopic('t');
  acc.partitionsKnown('t', 1);
  const big = `{"pad":"${'x'.repeat(3000)}"}`;
  const { output: out, index } = decoderOutput(['{"n":0}', big, '{"n":2}']);
  acc.appendRecords('t', 'acme', null, -1, out, index, 3, headers, 1);
  acc.sealDue(Date.now(), true);
  assert.deepEqual(dropped, [{ reason: 'kafka_rejected', tenant: 'acme', records: 1 }]);
  assert.deepEqual(sealed.flatMap(valuesOf), ['{"n":0}', '{"n":2}']);
  assert.equal(acc.queuedRecords, 2);
});

test('closing: new records are dropped as shutdown; what is left open or staged is dropped with its tenants', () => {
  const { acc, dropped } = setup();
  acc.addTopic('t');
  acc.partitionsKnown('t', 1);
  const v = Buffer.from('{}');
  acc.append('t', 'acme', null, -1, v, 0, v.length, headers, 3, 1);
  acc.append('later', 'globex', null, -1, v, 0, v.length, headers, 2, 1);
  acc.closing = true;
  assert.equal(acc.append('t', 'acme', null, -1, v, 0, v.length, headers, 1, 1), false);
  const batches: QueuedBatch[] = [];
  acc.dropAll('shutdown', (b) => batches.push(b));
  assert.deepEqual(dropped, [{ reason: 'shutdown', tenant: 'acme', records: 1 }, { reason: 'shutdown', tenant: 'globex', records: 2 }]);
  assert.deepEqual(batches.map((b) => [b.tenants, b.tenantRecords]), [[['acme'], [3]]]);
  assert.deepEqual([acc.queuedRecords, acc.queuedBytes], [0, 0]);
});

test('a batch split in two keeps every record, in order, and every tenant\'s count', () => {
  const { acc, sealed } = setup();
  acc.addTopic('t');
  acc.partitionsKnown('t', 1);
  const values = Array.from({ length: 9 }, (_, i) => `{"n":${i}}`);
  for (let i = 0; i < values.length; i++) {
    const v = Buffer.from(values[i]!);
    acc.append('t', i < 5 ? 'acme' : 'globex', null, -1, v, 0, v.length, headers, 1, 1);
  }
  acc.sealDue(Date.now(), true);
  const [whole] = sealed;
  const parts = splitBatch(whole!);
  assert.equal(parts.length, 2);
  assert.deepEqual(parts.flatMap(valuesOf), values);
  assert.deepEqual(parts.map((b) => [b.tenants, b.tenantRecords]), [[['acme'], [5]], [['globex'], [4]]]);
  assert.equal(parts[0]!.bytes + parts[1]!.bytes, whole!.bytes);
  assert.deepEqual(parts.map((b) => [b.topic, b.partition, b.baseSequence]), [['t', 0, -1], ['t', 0, -1]]);
});

test('a run of records from the middle of a datagram (a relay\'s records of one exporter) is queued alone, framed or staged', () => {
  const values = Array.from({ length: 7 }, (_, i) => `{"n":${i},"pad":"${'p'.repeat(i * 3)}"}`);
  const { output: out, index } = decoderOutput(values);
  const framed = setup();
  framed.acc.addTopic('t');
  framed.acc.partitionsKnown('t', 1);
  framed.acc.appendRecords('t', 'acme', null, -1, out, index, 3, headers, 1, 2);
  assert.equal(framed.acc.queuedRecords, 3);
  framed.acc.sealDue(Date.now(), true);
  assert.deepEqual(framed.sealed.map(valuesOf), [values.slice(2, 5)]);

  const staged = setup();
  staged.acc.appendRecords('new', 'acme', null, -1, out, index, 2, headers, 1, 5);
  staged.acc.partitionsKnown('new', 1);
  staged.acc.sealDue(Date.now(), true);
  assert.deepEqual(staged.sealed.map(valuesOf), [values.slice(5, 7)]);
});

test('a delivered batch\'s buffer serves a later batch whatever its size, up to the spare limit (8 batch caps)', () => {
  const { acc, sealed } = setup({ batch_max_bytes: 64 * 1024 });
  acc.addTopic('t');
  acc.partitionsKnown('t', 1);
  const small = Buffer.from('{"n":1}');
  const large = Buffer.alloc(40 * 1024, 0x61); // grows the batch's buffer past its first 16 KiB
  acc.append('t', 'acme', null, -1, small, 0, small.length, headers, 1, 1);
  acc.sealDue(Date.now(), true);
  acc.append('t', 'acme', null, -1, large, 0, large.length, headers, 1, 1);
  acc.sealDue(Date.now(), true);
  const [first, grown] = sealed;
  assert.ok(first!.builder.buffer.length < grown!.builder.buffer.length, 'the second batch grew');
  acc.release(first!);
  acc.release(grown!);
  // The most recently freed buffer first (a steady stream's batches are alike), then the other.
  acc.append('t', 'acme', null, -1, small, 0, small.length, headers, 1, 1);
  acc.sealDue(Date.now(), true);
  acc.append('t', 'acme', null, -1, small, 0, small.length, headers, 1, 1);
  acc.sealDue(Date.now(), true);
  acc.append('t', 'acme', null, -1, small, 0, small.length, headers, 1, 1);
  acc.sealDue(Date.now(), true);
  assert.equal(sealed[2]!.builder.buffer, grown!.builder.buffer);
  assert.equal(sealed[3]!.builder.buffer, first!.builder.buffer);
  assert.ok(sealed[4]!.builder.buffer !== first!.builder.buffer && sealed[4]!.builder.buffer !== grown!.builder.buffer, 'no spare left: a new buffer');
  // Spares are bounded in bytes: releasing more than 8 caps' worth keeps only what fits.
  const many = Array.from({ length: 12 }, () => {
    acc.append('t', 'acme', null, -1, large, 0, large.length, headers, 1, 1);
    acc.sealDue(Date.now(), true);
    return sealed.at(-1)!;
  });
  for (const b of many) acc.release(b);
  const reused = new Set<Buffer>();
  for (let i = 0; i < 12; i++) {
    acc.append('t', 'acme', null, -1, small, 0, small.length, headers, 1, 1);
    acc.sealDue(Date.now(), true);
    const buffer = sealed.at(-1)!.builder.buffer;
    if (many.some((b) => b.builder.buffer === buffer)) reused.add(buffer);
  }
  const kept = Math.floor((8 * 64 * 1024) / many[0]!.builder.buffer.length);
  assert.equal(reused.size, Math.min(12, kept));
});
