// Idempotence's numbering: what the broker checks (each batch of a partition starts where the
// last one ended, a retry keeps its number) and what the producer must do when batches leave a
// partition unwritten or the broker forgets the producer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequences } from '../../src/kafka/sequences.js';
import { BatchBuilder, NO_PRODUCER, encodeHeaders } from '../../src/kafka/protocol/record-batch.js';
import { newBatch, type QueuedBatch } from '../../src/kafka/queued-batch.js';

function batch(records: number): QueuedBatch {
  const builder = new BatchBuilder(1 << 16, 256);
  const value = Buffer.from('{}');
  const headers = encodeHeaders({});
  for (let i = 0; i < records; i++) builder.append(null, 0, -1, value, 0, value.length, headers, 1);
  const b = newBatch('t', 0, builder, 1);
  b.records = records;
  return b;
}

const id = { producerId: 7n, producerEpoch: 2 };

test('batches of a partition are numbered one after another; a retry keeps its number; partitions count apart', () => {
  const s = new Sequences(true);
  assert.equal(s.needProducerId, true);
  const p0 = s.partition();
  const p1 = s.partition();
  const [a, b, c] = [batch(10), batch(5), batch(3)];
  s.reset(id, [{ sequence: p0, batches: [a, b] }, { sequence: p1, batches: [c] }]);
  assert.equal(s.needProducerId, false);
  assert.deepEqual(s.stamp(p0, a), { ...id, baseSequence: 0 });
  assert.deepEqual(s.stamp(p0, b), { ...id, baseSequence: 10 });
  assert.deepEqual(s.stamp(p0, a), { ...id, baseSequence: 0 }, 'a retry');
  assert.deepEqual(s.stamp(p1, c), { ...id, baseSequence: 0 });
  assert.equal(p0.next, 15);
});

test('sequences wrap to 0 after 2^31 - 1, as Kafka\'s int32 sequences do', () => {
  const s = new Sequences(true);
  const p = s.partition();
  s.reset(id, []);
  p.next = 0x7ffffffe;
  const b = batch(5);
  assert.equal(s.stamp(p, b).baseSequence, 0x7ffffffe);
  assert.equal(p.next, 3);
  s.acknowledged(p, b);
  assert.equal(p.acked, 3);
});

test('after a batch left the partition unwritten, the ones still queued are numbered again from the last acknowledged', () => {
  const s = new Sequences(true);
  const p = s.partition();
  const [a, b, c, d] = [batch(10), batch(10), batch(10), batch(4)];
  s.reset(id, []);
  for (const x of [a, b, c]) s.stamp(p, x);
  s.acknowledged(p, a);
  // b was refused for good and dropped: c (sequence 20) can never follow 10.
  s.renumber({ sequence: p, batches: [c, d] });
  assert.deepEqual([c.baseSequence, d.baseSequence], [-1, -1]);
  assert.equal(s.stamp(p, c).baseSequence, 10);
  assert.equal(s.stamp(p, d).baseSequence, 20);
});

test('a broker that lost the producer: a new id is needed, and with it every partition starts again at 0', () => {
  const s = new Sequences(true);
  const p = s.partition();
  s.reset(id, []);
  const [a, b] = [batch(10), batch(10)];
  s.stamp(p, a);
  s.stamp(p, b);
  s.acknowledged(p, a);
  s.lost();
  assert.equal(s.needProducerId, true);
  s.reset({ producerId: 8n, producerEpoch: 0 }, [{ sequence: p, batches: [b] }]);
  assert.deepEqual([p.next, p.acked, b.baseSequence], [0, 0, -1]);
  assert.deepEqual(s.stamp(p, b), { producerId: 8n, producerEpoch: 0, baseSequence: 0 });
});

test('without idempotence nothing is numbered: the stamp says "no producer" and no id is ever asked for', () => {
  const s = new Sequences(false);
  const p = s.partition();
  const b = batch(3);
  assert.equal(s.needProducerId, false);
  assert.deepEqual(s.stamp(p, b), NO_PRODUCER);
  assert.equal(b.baseSequence, -1);
  s.lost();
  assert.equal(s.needProducerId, false);
  s.acknowledged(p, b);
  assert.deepEqual(p, { next: 0, acked: 0 });
});
