// Captures a Fetch exchange for the byte-level fixture in test/kafka/fixtures/fetch/codecs.json:
// one batch of fixed records per codec (none, gzip, snappy, lz4, zstd) produced to a new topic,
// then read back from offset 0 with FlowGate's Fetch (kafka/client.ts fetchRecords). The fixture
// keeps the request's inputs and body, the response body as the broker sent it (after the
// correlation id) and the records written, so test/kafka/fetch-fixtures.test.ts can check the
// encoder, the response decoder and the batch reader without a broker. Run once, after
// `npm run build`, with the broker up:
//
//   node tools/capture-fetch.mjs [--broker 127.0.0.1:9092] [--out test/kafka/fixtures/fetch]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KafkaClient } from '../dist/src/kafka/client.js';
import { BatchBuilder, encodeHeaders, sealBatch, NO_PRODUCER } from '../dist/src/kafka/protocol/record-batch.js';
import { codecId, compress, compressionNames } from '../dist/src/kafka/protocol/compression.js';
import { encodeFetchRequest, READ_UNCOMMITTED } from '../dist/src/kafka/protocol/fetch-request.js';
import { createLogger } from '../dist/src/log.js';

const { values: opts } = parseArgs({ options: { broker: { type: 'string', default: '127.0.0.1:9092' }, out: { type: 'string', default: 'test/kafka/fixtures/fetch' } } });
const topic = `flowgate.fetch-fixture.${Date.now()}`;
const clientId = 'flowgate-capture';
const baseTime = 1_733_500_000_000;
const records = [];
const client = new KafkaClient({ brokers: [opts.broker], client_id: clientId, request_timeout_ms: 30_000, connection_timeout_ms: 3_000, retries: 3, ssl: false, sasl: null }, createLogger('error'));
await client.connect();
let leader = -1;
for (let i = 0; i < 50 && leader < 0; i++) {
  await client.loadTopics([topic]).catch(() => undefined);
  if (client.partitionCount(topic) > 0) leader = client.leaderOf(topic, 0);
  else await new Promise((r) => setTimeout(r, 100));
}
if (leader < 0) throw new Error(`no leader for ${topic}`);
const headers = encodeHeaders({ schema: 'fixture' });
for (const codec of compressionNames) {
  const b = new BatchBuilder(1 << 20);
  for (let i = 0; i < 3; i++) {
    const n = records.length;
    const key = n % 4 === 3 ? null : `192.0.2.${n}`;
    const value = n % 5 === 4 ? null : `${codec} record ${n} `.repeat(1 + (n % 3));
    const k = key === null ? null : Buffer.from(key);
    const v = Buffer.from(value ?? '');
    b.append(k, 0, k ? k.length : -1, v, 0, value === null ? -1 : v.length, headers, baseTime + n);
    records.push({ offset: n, key, value });
  }
  const batch = sealBatch(b, codec === 'none' ? null : await compress(codec, b.records()), codecId(codec), NO_PRODUCER);
  const [r] = await client.produce(leader, -1, [{ topic, partitions: [{ partition: 0, batch }] }]);
  if (r.type !== 'NONE') throw new Error(`${codec}: ${r.type}`);
}
const request = { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: READ_UNCOMMITTED, topics: [{ topic, partitions: [{ partition: 0, offset: 0, maxBytes: 1 << 20 }] }] };
const response = await client.fetchRecords(leader, request);
await client.disconnect();
const fixture = {
  name: 'fetch-codecs',
  note: 'one batch of three records per codec (none, gzip, snappy, lz4, zstd) on a new topic, fetched from offset 0 with Fetch v11',
  captured: new Date().toISOString(),
  broker: opts.broker,
  apiVersion: 11,
  request,
  requestBody: encodeFetchRequest(11, request).toString('hex'),
  responseBody: response.body.toString('hex'),
  records,
};
writeFileSync(join(opts.out, 'codecs.json'), `${JSON.stringify(fixture, null, 2)}\n`);
console.log(`wrote ${join(opts.out, 'codecs.json')}: ${records.length} records, response ${response.body.length} bytes`);
