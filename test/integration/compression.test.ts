// Every compression codec end to end: a real exporter's capture through the gateway with
// kafka.compression set, the broker taking the batches (it decompresses them to validate: Java's
// lz4-java, zstd-jni, snappy-java, zlib), and the records read back by three consumers that share
// no code: kafkajs with FlowGate's codecs, Kafka's console consumer and kcat (librdkafka). All three
// must hold exactly the records the decoder produced, equal to Wireshark's decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testBrokers } from '../support/broker.js';
import { replay, truthDir } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { codecsRead, readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { kcatSkipReason, readWithConsoleConsumer, readWithKcat } from '../support/other-consumers.js';
import { codecId, compressionNames } from '../../src/kafka/protocol/compression.js';

const capture = 'softflowd_v10_mixed';
const flowRecords = readFileSync(join(truthDir, `${capture}.jsonl`), 'utf8').trim().split('\n')
  .filter((l) => !(JSON.parse(l) as { options?: boolean }).options).length;
const kcatSkip = kcatSkipReason();

for (const codec of compressionNames.filter((n) => n !== 'none')) {
  test(`kafka.compression ${codec}: the broker takes the batches and kafkajs, Java and kcat read back every record`, async (t) => {
    const brokers = testBrokers();
    const topic = uniqueTopic(`codec.${codec}`);
    const gw = new GatewayProcess(`listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 1
kafka:
  brokers: ${JSON.stringify(brokers)}
  compression: ${codec}
  linger_ms: 20
routing:
  default_topic: ${topic}
stats:
  log_interval_s: 0
`);
    t.after(() => gw.dispose());
    const { udp } = await gw.ready();
    replay(capture, `127.0.0.1:${udp.v4}`);

    codecsRead.clear();
    const viaKafkajs = (await readTopic(brokers, topic, flowRecords)).map((m) => m.value);
    assert.equal(viaKafkajs.length, flowRecords);
    assert.deepEqual([...codecsRead], [codecId(codec)], `the batches on the topic carry codec ${codec}`);
    const sorted = [...viaKafkajs].sort();

    assert.deepEqual((await readWithConsoleConsumer(brokers, topic, flowRecords)).sort(), sorted, 'Kafka\'s console consumer reads the same records');
    if (kcatSkip) t.diagnostic(`kcat part skipped: ${kcatSkip}`);
    else assert.deepEqual((await readWithKcat(brokers, topic, flowRecords)).sort(), sorted, 'kcat (librdkafka) reads the same records');

    const { code } = await gw.stop('SIGTERM');
    assert.equal(code, 0);
    const accounting = gw.accounting();
    assert.equal(accounting.records.delivered, flowRecords);
    assert.equal(accounting.records.decoded, accounting.records.delivered + Object.values(accounting.records.dropped).reduce((a, b) => a + b, 0));
  });
}
