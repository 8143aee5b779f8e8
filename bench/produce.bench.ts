// FlowGate's produce path alone: record batches built by src/kafka/protocol/record-batch.ts and sent by
// src/kafka/client.ts to the local broker, acks=-1 with a producer id, no decoding and no UDP.
// What the Kafka stage can do on this machine, to compare with the broker's ceiling (Kafka's own
// ProducerPerformance, bench/baselines/producer-perf.ts) and with the whole pipeline.
//
//   npm run build && node dist/bench/produce.bench.js [--in-flight 5] [--batch-bytes 1048576] [--seconds 6]
//
// Needs the broker running (node scripts/kafka.js start). One JSON line on stdout.
import { parseArgs } from 'node:util';
import { KafkaClient } from '../src/kafka/client.js';
import { BatchBuilder, encodeHeaders, sealBatch } from '../src/kafka/protocol/record-batch.js';
import { codecId } from '../src/kafka/protocol/compression.js';
import { createLogger } from '../src/log.js';
import { deleteTopicsAndGroups } from './lib/bench-topics.js';

const { values: opts } = parseArgs({ options: {
  'in-flight': { type: 'string', default: '5' }, 'batch-bytes': { type: 'string', default: '1048576' },
  seconds: { type: 'string', default: '6' }, bootstrap: { type: 'string', default: '127.0.0.1:9092' },
} });
const inFlight = Number(opts['in-flight']);
const capacity = Number(opts['batch-bytes']);
const seconds = Number(opts.seconds);
const client = new KafkaClient({ brokers: [opts.bootstrap!], client_id: 'flowgate-bench', request_timeout_ms: 30_000, connection_timeout_ms: 3_000, retries: 3, ssl: false, sasl: null }, createLogger('error'));
const topic = `bench.produce.${Math.random().toString(36).slice(2)}`;
await client.connect();
for (let i = 0; i < 50 && client.partitionCount(topic) === 0; i++) {
  await client.loadTopics([topic]).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 100));
}
const leader = client.leaderOf(topic, 0);
const producer = await client.initProducerId();
// A record as the decoder writes it for the load generator's IPv4 template (about 300 bytes).
const value = Buffer.from('{"dvc":"127.0.1.1","src":"10.1.2.3","srcp":44321,"dst":"192.168.7.9","dstp":443,"proto":6,"flags":27,"bytes":123456,"pkts":321,"time":1764572400000,"start":1764572399000,"end":1764572400000,"in_if":3,"out_if":7,"tos":0,"src_as":64512,"dst_as":64513,"vlan":100,"version":10,"odid":1,"tid":256}');
const headers = encodeHeaders({ schema: '1', exporter: '127.0.1.1' });
let sequence = 0;
let records = 0;
let bytes = 0;
const latencies: number[] = [];
const start = Date.now();
const cpu0 = process.cpuUsage();
// Each lane builds a batch, takes the next sequence numbers and sends it synchronously up to the
// socket write, so batches reach the broker in sequence order.
async function lane(): Promise<void> {
  while (Date.now() - start < seconds * 1000) {
    const b = new BatchBuilder(capacity, capacity);
    let n = 0;
    while (b.append(null, 0, -1, value, 0, value.length, headers, Date.now())) n++;
    const batch = sealBatch(b, null, codecId('none'), { ...producer, baseSequence: sequence });
    sequence += n;
    const t = Date.now();
    const [r] = await client.produce(leader, -1, [{ topic, partitions: [{ partition: 0, batch }] }]);
    latencies.push(Date.now() - t);
    if (r?.type !== 'NONE') throw new Error(`broker answered ${r?.type}`);
    records += n;
    bytes += batch.length;
  }
}
await Promise.all(Array.from({ length: inFlight }, lane));
const elapsed = (Date.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({
  name: 'produce path (record-batch + client)', in_flight: inFlight, batch_bytes: capacity, value_bytes: value.length,
  records_per_s: Math.round(records / elapsed), mb_per_s: Number((bytes / elapsed / 1e6).toFixed(1)),
  cpu_us_per_record: Number((((cpu.user + cpu.system) / records)).toFixed(3)),
  request_p50_ms: latencies[latencies.length >> 1], request_p99_ms: latencies[Math.floor(latencies.length * 0.99)],
}) + '\n');
await client.disconnect();
// The broker's disk is shared: up to a GiB per run otherwise (log.retention.bytes).
await deleteTopicsAndGroups(opts.bootstrap!, [topic], []).catch((err: unknown) => process.stderr.write(`clean-up of ${topic}: ${(err as Error).message}\n`));
