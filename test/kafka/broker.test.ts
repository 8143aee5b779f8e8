// The produce path against the real broker: what idempotence promises (a batch sent again with
// the same producer id and sequence is written once) and what it refuses (a gap in the
// sequence); that without idempotence a resent batch is written twice; acks 1 and 0; keyed
// records on the partitions the Java client would pick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaClient } from '../../src/kafka/client.js';
import { BatchBuilder, encodeHeaders, sealBatch, NO_PRODUCER } from '../../src/kafka/protocol/record-batch.js';
import { codecId } from '../../src/kafka/protocol/compression.js';
import { createLogger } from '../../src/log.js';
import { connectedLeader, producerId } from '../support/kafka-client.js';
import { testBrokers as brokers } from '../support/broker.js';
import { createTopic, readTopic, topicCounts, uniqueTopic } from '../support/kafka-topics.js';
import { RecordProducer, type KafkaSettings } from '../../src/kafka/producer.js';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const settings = () => ({ brokers: brokers(), client_id: 'flowgate-test', request_timeout_ms: 10_000, connection_timeout_ms: 3_000, retries: 3, ssl: false as const, sasl: null });

function batchOf(records: number, stamp: { producerId: bigint; producerEpoch: number; baseSequence: number }): Buffer {
  const b = new BatchBuilder(1 << 20);
  const value = Buffer.from('{"dvc":"127.0.0.1","bytes":1}');
  const headers = encodeHeaders({ schema: '1' });
  for (let i = 0; i < records; i++) b.append(null, 0, -1, value, 0, value.length, headers, Date.now());
  return sealBatch(b, null, codecId('none'), stamp);
}

test('a batch sent twice with the same producer id and sequence is written once; a sequence gap is refused', async (t) => {
  const client = new KafkaClient(settings(), createLogger('error'));
  t.after(() => client.disconnect());
  const topic = uniqueTopic('flowgate.idem');
  const leader = await connectedLeader(client, topic);
  const pid = await producerId(client);
  const first = batchOf(7, { ...pid, baseSequence: 0 });
  const send = (batch: Buffer) => client.produce(leader, -1, [{ topic, partitions: [{ partition: 0, batch }] }]);
  assert.equal((await send(first))[0]!.type, 'NONE');
  const again = (await send(first))[0]!;
  assert.ok(again.type === 'NONE' || again.type === 'DUPLICATE_SEQUENCE_NUMBER', again.type);
  assert.equal((await topicCounts(brokers(), [topic]))[topic], 7);
  // Sequence 7 is next; 9 leaves a gap.
  const gap = (await send(batchOf(3, { ...pid, baseSequence: 9 })))[0]!;
  assert.equal(gap.type, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  assert.equal((await send(batchOf(3, { ...pid, baseSequence: 7 })))[0]!.type, 'NONE');
  assert.equal((await topicCounts(brokers(), [topic]))[topic], 10);
});

test('without a producer id a batch sent twice is written twice (what idempotence prevents)', async (t) => {
  const client = new KafkaClient(settings(), createLogger('error'));
  t.after(() => client.disconnect());
  const topic = uniqueTopic('flowgate.noidem');
  const leader = await connectedLeader(client, topic);
  const batch = batchOf(5, NO_PRODUCER);
  for (let i = 0; i < 2; i++) assert.equal((await client.produce(leader, 1, [{ topic, partitions: [{ partition: 0, batch }] }]))[0]!.type, 'NONE');
  assert.equal((await topicCounts(brokers(), [topic]))[topic], 10);
});

const producerSettings = (over: Partial<KafkaSettings>): KafkaSettings => ({
  ...settings(), acks: -1, idempotent: true, compression: 'none', linger_ms: 5, batch_max_records: 10_000, batch_max_bytes: 1 << 20,
  queue_max_records: 100_000, queue_max_bytes: 1 << 26, flush_timeout_ms: 10_000, max_in_flight: 5, sink: 'kafka', ...over,
});

async function produceKeyed(over: Partial<KafkaSettings>, topic: string, count: number): Promise<{ delivered: number; dropped: number }> {
  let delivered = 0;
  let dropped = 0;
  const producer = new RecordProducer(producerSettings(over), {
    delivered: (_t, _topic, n) => { delivered += n; },
    dropped: (_r, _t, n) => { dropped += n; },
    error: () => undefined,
  }, createLogger('error'));
  producer.start([topic]);
  const headers = encodeHeaders({ schema: '1' });
  for (let i = 0; i < count; i++) {
    const key = Buffer.from(`exporter-${i % 17}`);
    const value = Buffer.from(`{"n":${i},"key":"${key.toString()}"}`);
    producer.append(topic, 'acme', key, key.length, value, 0, value.length, headers, 1, Date.now());
  }
  await producer.close();
  return { delivered, dropped };
}

for (const acks of [1, 0] as const) {
  test(`acks ${acks} without idempotence: every record arrives, each key on its murmur2 partition (as the Java client)`, async () => {
    const topic = uniqueTopic(`flowgate.acks${acks}`);
    await createTopic(brokers(), topic, 3);
    const { delivered, dropped } = await produceKeyed({ acks, idempotent: false }, topic, 500);
    assert.deepEqual({ delivered, dropped }, { delivered: 500, dropped: 0 });
    const got = await readTopic(brokers(), topic, 500);
    assert.equal(got.length, 500);
    const murmur = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: Buffer) => number;
    for (const m of got) assert.equal(m.partition, (murmur(Buffer.from(m.key!)) & 0x7fffffff) % 3, `partition of ${m.key}`);
    assert.deepEqual(new Set(got.map((m) => JSON.parse(m.value).n)).size, 500);
    assert.equal(new Set(got.map((m) => m.partition)).size, 3, 'the keys spread over the partitions');
  });
}
