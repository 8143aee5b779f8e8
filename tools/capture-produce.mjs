// Captures Produce requests FlowGate sends and the broker's responses, for the byte-level
// fixtures in test/kafka/fixtures/. A loopback TCP proxy sits between FlowGate's producer and a
// real broker and records every frame; Metadata responses are rewritten so that the broker's
// advertised address points at the proxy (the producer sends Produce to the partition leader
// named there, which would otherwise bypass it). Run once, after `npm run build`, with the
// broker up:
//
//   node tools/capture-produce.mjs [--broker 127.0.0.1:9092] [--out test/kafka/fixtures]
//
// Inputs are fixed (records, timestamps, topic, client id, timeout); the producer id and epoch
// are the ones the broker grants, recorded with the capture.
import net from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RecordProducer } from '../dist/src/kafka/producer.js';
import { KafkaClient } from '../dist/src/kafka/client.js';
import { BatchBuilder, encodeHeaders, sealBatch } from '../dist/src/kafka/protocol/record-batch.js';
import { createLogger } from '../dist/src/log.js';

const { values: opts } = parseArgs({ options: { broker: { type: 'string', default: '127.0.0.1:9092' }, out: { type: 'string', default: 'test/kafka/fixtures' } } });
const [brokerHost, brokerPortText] = opts.broker.split(':');
const brokerPort = Number(brokerPortText);

/** Every frame seen: { direction, connection, apiKey, apiVersion, correlationId, frame }. */
const frames = [];

function frameReader(onFrame) {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const out = [];
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      out.push(onFrame(pending.subarray(0, 4 + size)));
      pending = pending.subarray(4 + size);
    }
    return Buffer.concat(out);
  };
}

function advertised(host, port) {
  const h = Buffer.from(host);
  const b = Buffer.alloc(2 + h.length + 4);
  b.writeInt16BE(h.length, 0);
  h.copy(b, 2);
  b.writeInt32BE(port, 2 + h.length);
  return b;
}

const proxy = net.createServer((client) => {
  const connection = frames.length;
  const upstream = net.connect(brokerPort, brokerHost);
  const apis = new Map();
  const toBroker = frameReader((frame) => {
    const apiKey = frame.readInt16BE(4);
    const apiVersion = frame.readInt16BE(6);
    const correlationId = frame.readInt32BE(8);
    apis.set(correlationId, { apiKey, apiVersion });
    frames.push({ direction: 'request', connection, apiKey, apiVersion, correlationId, frame: Buffer.from(frame) });
    return frame;
  });
  const toClient = frameReader((frame) => {
    const correlationId = frame.readInt32BE(4);
    const api = apis.get(correlationId) ?? { apiKey: -1, apiVersion: -1 };
    let out = Buffer.from(frame);
    if (api.apiKey === 3) {
      // Metadata: the broker's own address becomes the proxy's (same length: only the port differs).
      const from = advertised(brokerHost, brokerPort);
      const to = advertised(brokerHost, proxy.address().port);
      for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + 1)) to.copy(out, at);
    }
    frames.push({ direction: 'response', connection, ...api, correlationId, frame: out });
    return out;
  });
  client.on('data', (chunk) => upstream.write(toBroker(chunk)));
  upstream.on('data', (chunk) => client.write(toClient(chunk)));
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.end());
  upstream.on('close', () => client.end());
});
await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
const via = `127.0.0.1:${proxy.address().port}`;

const topic = 'flowgate.fixture';
const clientId = 'flowgate-capture';
const requestTimeoutMs = 30_000;
const headers = { schema: '1', exporter: '192.0.2.1' };
const baseTime = 1_764_572_400_000;
// Five records of the decoder's shape; the receive times are fixed, 1 ms apart.
const values = Array.from({ length: 5 }, (_, i) => `{"dvc":"192.0.2.1","src":"10.0.0.${i + 1}","dst":"198.51.100.7","srcp":${40000 + i},"dstp":443,"proto":6,"bytes":${1500 * (i + 1)},"pkts":${i + 1}}`);
const inputs = { topic, clientId, requestTimeoutMs, acks: -1, headers, records: values.map((value, i) => ({ key: null, value, receivedAt: baseTime + i })) };

const settings = {
  brokers: [via], client_id: clientId, request_timeout_ms: requestTimeoutMs, connection_timeout_ms: 3_000, retries: 3, ssl: false, sasl: null,
  acks: -1, idempotent: true, linger_ms: 60_000, batch_max_records: values.length, batch_max_bytes: 1 << 20,
  queue_max_records: 1000, queue_max_bytes: 1 << 24, flush_timeout_ms: 10_000, max_in_flight: 5, sink: 'kafka',
};
const log = createLogger('error');

/** Sends the records through FlowGate's producer with `compression`; answers the Produce exchange. */
async function produceOnce(compression) {
  const first = frames.length;
  let delivered = 0;
  const producer = new RecordProducer({ ...settings, compression }, {
    delivered: (_t, _topic, n) => { delivered += n; }, dropped: (reason) => { throw new Error(`dropped: ${reason}`); }, error: () => undefined,
  }, log);
  producer.start([topic]);
  const encodedHeaders = encodeHeaders(headers);
  for (const r of inputs.records) {
    const v = Buffer.from(r.value);
    producer.append(topic, 'fixture', null, -1, v, 0, v.length, encodedHeaders, 1, r.receivedAt);
  }
  while (delivered < values.length) await new Promise((r) => setTimeout(r, 10));
  await producer.close();
  return exchange(first, 0);
}

/** The first request of `apiKey` since frame `first`, the InitProducerId answer before it, and its response. */
function exchange(first, apiKey) {
  const seen = frames.slice(first);
  const request = seen.find((f) => f.direction === 'request' && f.apiKey === apiKey);
  const response = seen.find((f) => f.direction === 'response' && f.connection === request.connection && f.correlationId === request.correlationId);
  const pid = seen.find((f) => f.direction === 'response' && f.apiKey === 22);
  return { request, response, pid };
}

/** InitProducerId v0-v1 response: throttle i32 · error i16 · producer id i64 · epoch i16. */
function producerIdOf(frame) {
  return { producerId: frame.readBigInt64BE(4 + 4 + 4 + 2).toString(), producerEpoch: frame.readInt16BE(4 + 4 + 4 + 2 + 8) };
}

function fixture(name, note, ex, extra = {}) {
  return {
    name, note, captured: new Date().toISOString(), broker: opts.broker,
    apiVersion: ex.request.apiVersion,
    inputs: { ...inputs, ...extra, ...(ex.pid ? producerIdOf(ex.pid.frame) : {}) },
    request: ex.request.frame.toString('hex'),
    response: ex.response.frame.toString('hex'),
  };
}

mkdirSync(opts.out, { recursive: true });
const out = [];
for (const compression of ['none', 'gzip', 'snappy']) {
  const ex = await produceOnce(compression);
  out.push(fixture(`produce-${compression}`, `FlowGate's producer, compression ${compression}, idempotent, acks -1: the first batch of a new producer id (sequence 0)`, ex, { compression }));
}

// A refused batch: a new producer id writes sequences 0-4, then sends a batch at sequence 10 (a gap).
{
  const client = new KafkaClient({ ...settings }, log);
  await client.connect();
  await client.loadTopics([topic]);
  const pid = await client.initProducerId();
  const encodedHeaders = encodeHeaders(headers);
  const batchAt = (baseSequence) => {
    const b = new BatchBuilder(1 << 20);
    for (const r of inputs.records) {
      const v = Buffer.from(r.value);
      b.append(null, 0, -1, v, 0, v.length, encodedHeaders, r.receivedAt);
    }
    return sealBatch(b, null, 0, { ...pid, baseSequence });
  };
  const send = (batch) => client.produce(client.leaderOf(topic, 0), -1, [{ topic, partitions: [{ partition: 0, batch }] }]);
  const [ok] = await send(batchAt(0));
  if (ok.type !== 'NONE') throw new Error(`sequence 0 answered ${ok.type}`);
  const first = frames.length;
  const [result] = await send(batchAt(10));
  await client.disconnect();
  const ex = { ...exchange(first, 0), pid: undefined };
  out.push(fixture('produce-sequence-gap', `after sequences 0-4 of a producer id, a batch at sequence 10: refused (${result.type})`, ex,
    { compression: 'none', baseSequence: 10, producerId: String(pid.producerId), producerEpoch: pid.producerEpoch }));
}

for (const f of out) writeFileSync(join(opts.out, `${f.name}.json`), JSON.stringify(f, null, 2) + '\n');
process.stdout.write(`${out.map((f) => f.name).join(', ')} written to ${opts.out}\n`);
proxy.close();
