// A partition's batches reach the broker, and are numbered, in the order they were enqueued,
// also when one Produce request carries batches of several partitions and the next request
// (sent before the first is answered) carries the next batch of one of them. Found by the
// scale-out tests: a receiver wrote an exporter's datagrams to the raw topic out of order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Sender, type BatchSource, type SenderSettings } from '../../src/kafka/sender.js';
import { BatchBuilder, encodeHeaders } from '../../src/kafka/protocol/record-batch.js';
import { newBatch, countRecords, type QueuedBatch } from '../../src/kafka/queued-batch.js';
import type { PartitionResult, ProduceClient, ProduceTopic } from '../../src/kafka/client.js';
import { createLogger } from '../../src/log.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  producerId: string; firstSequence: number; records: { value: Buffer }[];
}>;

/** Several partitions, each with its own log and Kafka's sequence check (the next batch starts at the last sequence + 1). */
class PartitionedBroker implements ProduceClient {
  connected = false;
  readonly logs = new Map<number, string[]>();
  readonly #next = new Map<string, number>();
  constructor(readonly partitions: number) {}
  async connect(): Promise<void> {
    this.connected = true;
  }
  async loadTopics(): Promise<void> {}
  partitionCount(): number {
    return this.partitions;
  }
  leaderOf(): number {
    return 1;
  }
  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    return { producerId: 1n, producerEpoch: 0 };
  }
  async disconnect(): Promise<void> {
    this.connected = false;
  }
  async produce(_node: number, _acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]> {
    // What the broker takes from one connection, in the order the requests were handed over.
    const decoded = await Promise.all(topics.flatMap((t) => t.partitions.map(async (p) => ({ topic: t.topic, partition: p.partition,
      batch: await decodeBatch(new Decoder(Buffer.from(p.batch))) }))));
    const out: PartitionResult[] = [];
    for (const { topic, partition, batch } of decoded) {
      const key = `${batch.producerId}/${partition}`;
      const next = this.#next.get(key) ?? 0;
      if (batch.firstSequence !== next) {
        out.push({ topic, partition, errorCode: 45, type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false });
        continue;
      }
      this.#next.set(key, next + batch.records.length);
      let log = this.logs.get(partition);
      if (!log) this.logs.set(partition, (log = []));
      for (const r of batch.records) log.push(r.value.toString());
      out.push({ topic, partition, errorCode: 0, type: 'NONE', retriable: false });
    }
    await new Promise((r) => setTimeout(r, 5));
    return out;
  }
}

function batch(partition: number, values: string[]): QueuedBatch {
  const builder = new BatchBuilder(1 << 20, 1024);
  const headers = encodeHeaders({ schema: '1' });
  for (const v of values) builder.append(null, 0, -1, Buffer.from(v), 0, Buffer.byteLength(v), headers, 1_700_000_000_000);
  const b = newBatch('raw', partition, builder, 1_700_000_000_000);
  countRecords(b, 'x', values.length, 100);
  return b;
}

for (const compression of ['none', 'gzip'] as const) {
  test(`batches of one partition are written in enqueue order when requests carry several partitions (${compression})`, async () => {
    const settings: SenderSettings = { brokers: ['127.0.0.1:1'], acks: -1, idempotent: true, compression, max_in_flight: 5 };
    const broker = new PartitionedBroker(3);
    const source: BatchSource = { topics: () => ['raw'], partitionsKnown: () => undefined, topicRefused: () => undefined, sealDue: () => Infinity, queuedRecords: 0 };
    const batches = [batch(0, ['a0']), batch(1, ['x0']), batch(2, ['m0']), batch(1, ['x1']), batch(1, ['x2']), batch(2, ['m1']), batch(0, ['a1']), batch(1, ['x3'])];
    let finished = 0;
    const outcomes: string[] = [];
    const sender = new Sender(settings, broker, source, {
      acknowledged: () => void finished++,
      retrying: (_b, code) => void outcomes.push(`retrying:${code}`),
      dropped: (_b, reason) => { outcomes.push(`dropped:${reason}`); finished++; },
      tooLarge: () => 1 << 20,
      error: () => undefined,
    }, createLogger('error'));
    for (const b of batches) sender.enqueue(b);
    sender.start();
    await sender.close(Date.now() + 10_000, () => finished === batches.length);
    assert.deepEqual(outcomes, [], 'every batch written the first time, none out of sequence');
    assert.deepEqual(Object.fromEntries([...broker.logs].sort(([a], [b]) => a - b)), { 0: ['a0', 'a1'], 1: ['x0', 'x1', 'x2', 'x3'], 2: ['m0', 'm1'] });
  });
}
