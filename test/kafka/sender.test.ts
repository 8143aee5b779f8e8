// The sender fed from another source than the accumulator (what a disk spool replaying
// undelivered batches will do): sealed batches enqueued directly, in order, each reported once
// as acknowledged or dropped, with retries reported on the way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sender, type BatchSource, type SenderSettings } from '../../src/kafka/sender.js';
import { BatchBuilder, encodeHeaders } from '../../src/kafka/protocol/record-batch.js';
import { newBatch, countRecords, type QueuedBatch } from '../../src/kafka/queued-batch.js';
import { createLogger } from '../../src/log.js';
import { ScriptedBroker, type Fault } from './scripted-broker.js';

const settings: SenderSettings = { brokers: ['127.0.0.1:1'], acks: -1, idempotent: true, compression: 'none', max_in_flight: 5 };

/** A batch of `values` as a spool would give it back: records, tenant counts, first receive time. */
function replayed(values: string[]): QueuedBatch {
  const builder = new BatchBuilder(1 << 20, 1024);
  const headers = encodeHeaders({ schema: '1' });
  for (const v of values) builder.append(null, 0, -1, Buffer.from(v), 0, Buffer.byteLength(v), headers, 1_700_000_000_000);
  const b = newBatch('flows', 0, builder, 1_700_000_000_000);
  countRecords(b, 'acme', values.length, 100);
  return b;
}

async function replay(fault: (n: number) => Fault, batches: QueuedBatch[]) {
  const broker = new ScriptedBroker(fault);
  const outcomes = new Map<QueuedBatch, string[]>();
  const note = (b: QueuedBatch, what: string) => outcomes.set(b, [...(outcomes.get(b) ?? []), what]);
  // No accumulator: topics and partitions only, nothing to seal.
  const source: BatchSource = { topics: () => ['flows'], partitionsKnown: () => undefined, topicRefused: () => undefined, sealDue: () => Infinity, queuedRecords: 0 };
  let finished = 0;
  const sender = new Sender(settings, broker, source, {
    acknowledged: (b) => { note(b, 'acknowledged'); finished++; },
    retrying: (b, code) => note(b, `retrying:${code}`),
    dropped: (b, reason, code) => { note(b, `dropped:${reason}:${code}`); finished++; },
    tooLarge: () => 1 << 20,
    error: () => undefined,
  }, createLogger('error'));
  for (const b of batches) sender.enqueue(b);
  sender.start();
  while (!sender.connected) await new Promise((r) => setTimeout(r, 1));
  await sender.close(Date.now() + 20_000, () => finished === batches.length);
  return { broker, outcomes };
}

const batchValues = (k: number) => Array.from({ length: 10 }, (_, i) => `{"n":${k * 10 + i}}`);

test('replayed batches are written in order and each is reported acknowledged once', async () => {
  const batches = Array.from({ length: 8 }, (_, k) => replayed(batchValues(k)));
  const { broker, outcomes } = await replay(() => 'none', batches);
  assert.deepEqual(broker.log, batches.flatMap((_, k) => batchValues(k)));
  assert.deepEqual(batches.map((b) => outcomes.get(b)), batches.map(() => ['acknowledged']));
});

test('a refused batch is reported dropped, a retried one retrying then acknowledged; the rest still in order', async () => {
  const batches = Array.from({ length: 8 }, (_, k) => replayed(batchValues(k)));
  // Request 2 is refused for good; request 0 (the first batch) meets a moving leader.
  const { broker, outcomes } = await replay((n) => (n === 0 ? 'NOT_LEADER_OR_FOLLOWER' : n === 2 ? 'TOPIC_AUTHORIZATION_FAILED' : 'none'), batches);
  const reports = batches.map((b) => outcomes.get(b)!);
  assert.equal(reports.filter((r) => r.at(-1) === 'dropped:kafka_rejected:TOPIC_AUTHORIZATION_FAILED').length, 1);
  assert.deepEqual(reports[0]!.slice(0, 1), ['retrying:NOT_LEADER_OR_FOLLOWER']);
  for (const r of reports) {
    assert.equal(r.filter((x) => x === 'acknowledged' || x.startsWith('dropped')).length, 1, `one outcome: ${r.join(', ')}`);
  }
  const written = batches.filter((b) => outcomes.get(b)!.at(-1) === 'acknowledged');
  assert.deepEqual(broker.log, written.map((b) => batches.indexOf(b)).flatMap(batchValues));
});

test('what the broker has not taken by the deadline is reported dropped as shutdown', async () => {
  const batches = [replayed(batchValues(0)), replayed(batchValues(1))];
  const broker = new ScriptedBroker(() => 'none', 1, false);
  const outcomes: string[] = [];
  const sender = new Sender(settings, broker, { topics: () => ['flows'], partitionsKnown: () => undefined, topicRefused: () => undefined, sealDue: () => Infinity, queuedRecords: 0 }, {
    acknowledged: () => outcomes.push('acknowledged'), retrying: () => undefined,
    dropped: (_b, reason) => outcomes.push(reason), tooLarge: () => 1 << 20, error: () => undefined,
  }, createLogger('error'));
  for (const b of batches) sender.enqueue(b);
  sender.start();
  await sender.close(Date.now() + 200, () => false);
  assert.deepEqual(outcomes, ['shutdown', 'shutdown']);
});
