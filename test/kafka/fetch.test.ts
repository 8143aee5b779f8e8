// FlowGate's Fetch: the request bytes are kafkajs's own encoder's for the same fetch (v4 and v11),
// and against the real broker, batches produced with every codec are read back record for record
// from FlowGate's fetch (one request, the record sets walked in place), from an offset inside a
// batch, past a partition byte limit smaller than a batch, and with an offset out of range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { KafkaClient } from '../../src/kafka/client.js';
import { BatchBuilder, encodeHeaders, sealBatch, NO_PRODUCER } from '../../src/kafka/protocol/record-batch.js';
import { codecId, compress, compressionNames, type CompressionName } from '../../src/kafka/protocol/compression.js';
import { encodeFetchRequest, fetchVersion, READ_UNCOMMITTED } from '../../src/kafka/protocol/fetch-request.js';
import { decodeFetchResponse } from '../../src/kafka/protocol/fetch-response.js';
import { RecordBatchReader } from '../../src/kafka/protocol/record-batch-reader.js';
import { createLogger } from '../../src/log.js';
import { connectedLeader } from '../support/kafka-client.js';
import { testBrokers as brokers } from '../support/broker.js';
import { createTopic, uniqueTopic } from '../support/kafka-topics.js';

const require = createRequire(import.meta.url);
const settings = () => ({ brokers: brokers(), client_id: 'flowgate-test', request_timeout_ms: 10_000, connection_timeout_ms: 3_000, retries: 3, ssl: false as const, sasl: null });

test('the Fetch request is byte for byte what kafkajs encodes for the same fetch (v4 and v11)', async () => {
  const topics = [{ topic: 'flowgate.raw', partitions: [{ partition: 3, offset: 2 ** 40 + 5, maxBytes: 4 << 20 }, { partition: 0, offset: 0, maxBytes: 1024 }] }];
  for (const version of [4, 11]) {
    const kafkajsRequest = require(`kafkajs/src/protocol/requests/fetch/v${version}/request.js`) as (o: object) => { encode(): Promise<{ buffer: Buffer }> };
    const theirs = await kafkajsRequest({
      replicaId: -1, maxWaitTime: 20, minBytes: 256 * 1024, maxBytes: 16 << 20, isolationLevel: READ_UNCOMMITTED,
      topics: topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, fetchOffset: String(p.offset), maxBytes: p.maxBytes })) })),
    }).encode();
    const ours = encodeFetchRequest(version, { maxWaitMs: 20, minBytes: 256 * 1024, maxBytes: 16 << 20, isolationLevel: READ_UNCOMMITTED, topics });
    assert.deepEqual(ours, theirs.buffer, `v${version}`);
  }
  assert.equal(fetchVersion(4, 17), 11, 'Kafka 4.x');
  assert.equal(fetchVersion(0, 11), 11);
  assert.equal(fetchVersion(0, 3), -1);
  assert.equal(fetchVersion(12, 17), -1);
});

test('a response cut short or with bytes past its end is refused', () => {
  const body = Buffer.alloc(4 + 2 + 4 + 4);
  body.writeInt32BE(0, 10); // no topics
  assert.equal(decodeFetchResponse(11, body).partitions.length, 0);
  assert.throws(() => decodeFetchResponse(11, body.subarray(0, 12)), /ends at byte 12/);
  assert.throws(() => decodeFetchResponse(11, Buffer.concat([body, Buffer.alloc(1)])), /1 bytes past its end/);
});

async function batchOf(first: number, n: number, codec: CompressionName): Promise<Buffer> {
  const b = new BatchBuilder(1 << 20);
  const headers = encodeHeaders({ schema: 'test' });
  for (let i = first; i < first + n; i++) {
    const key = Buffer.from(`exporter-${i % 3}`);
    const value = Buffer.from(`datagram ${i} `.repeat(1 + (i % 7)));
    b.append(key, 0, key.length, value, 0, value.length, headers, Date.now());
  }
  return sealBatch(b, codec === 'none' ? null : await compress(codec, b.records()), codecId(codec), NO_PRODUCER);
}

/** Fetches partition 0 of `topic` from `offset` and reads every record: [offset, value text][], the reader, the partition. */
async function fetchAll(client: KafkaClient, leader: number, topic: string, offset: number, partitionMaxBytes = 1 << 20) {
  const response = await client.fetchRecords(leader, { maxWaitMs: 0, minBytes: 0, maxBytes: 16 << 20, isolationLevel: READ_UNCOMMITTED,
    topics: [{ topic, partitions: [{ partition: 0, offset, maxBytes: partitionMaxBytes }] }] });
  assert.equal(response.errorCode, 0);
  const p = response.partitions[0]!;
  const reader = new RecordBatchReader().reset(response.body, p.recordsStart, p.recordsEnd);
  const records: [number, string][] = [];
  while (reader.nextBatch()) {
    assert.equal(reader.problem, null);
    if (reader.compressed) await reader.decompress();
    while (reader.nextRecord()) {
      if (reader.offset < offset) continue; // a batch starts before the offset asked
      records.push([reader.offset, reader.buffer.toString('utf8', reader.valueStart, reader.valueStart + reader.valueLength)]);
    }
  }
  return { records, reader, partition: p };
}

test('batches of every codec produced to the broker are read back record for record by FlowGate\'s fetch', async (t) => {
  const client = new KafkaClient(settings(), createLogger('error'));
  t.after(() => client.disconnect());
  const topic = uniqueTopic('flowgate.fetch');
  await createTopic(brokers(), topic, 1);
  const leader = await connectedLeader(client, topic);
  const expected: [number, string][] = [];
  let next = 0;
  for (const codec of [...compressionNames, 'none' as const]) {
    const r = await client.produce(leader, -1, [{ topic, partitions: [{ partition: 0, batch: await batchOf(next, 40, codec) }] }]);
    assert.equal(r[0]!.type, 'NONE', codec);
    for (let i = next; i < next + 40; i++) expected.push([i, `datagram ${i} `.repeat(1 + (i % 7))]);
    next += 40;
  }
  const all = await fetchAll(client, leader, topic, 0);
  assert.deepEqual(all.records, expected);
  assert.equal(all.partition.errorCode, 0);
  assert.equal(all.partition.highWatermark, next);
  assert.equal(all.reader.truncated, false);
  // From inside a compressed batch (the broker answers from the batch's start).
  const inside = await fetchAll(client, leader, topic, 57);
  assert.deepEqual(inside.records, expected.slice(57));
  // A partition limit smaller than two batches: the first whole (KIP-74), the next one cut or left out.
  const small = await fetchAll(client, leader, topic, 0, 600);
  assert.ok(small.records.length >= 40 && small.records.length < expected.length, `${small.records.length} records`);
  assert.deepEqual(small.records, expected.slice(0, small.records.length));
  // Past the end: OFFSET_OUT_OF_RANGE (1), no records.
  const past = await client.fetchRecords(leader, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: READ_UNCOMMITTED,
    topics: [{ topic, partitions: [{ partition: 0, offset: next + 100, maxBytes: 1 << 20 }] }] });
  assert.equal(past.partitions[0]!.errorCode, 1);
  assert.equal(past.partitions[0]!.recordsEnd - past.partitions[0]!.recordsStart, 0);
});
