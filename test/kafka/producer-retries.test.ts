// The producer's window of requests in flight, against a scripted broker that keeps a partition
// log and checks sequences as Kafka does (the next batch must start at the last sequence + 1;
// a resend of a recent batch is a duplicate, acknowledged and not written again). Faults are
// injected per request: a connection that fails before the write, a response lost after it,
// retriable errors, a producer id the broker forgot. Whatever happens, every record must be in
// the log exactly once, in order, and the producer's accounting must say so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordProducer, type KafkaSettings, type ProducerDropReason } from '../../src/kafka/producer.js';
import { ScriptedBroker, type Fault } from './scripted-broker.js';
import { encodeHeaders } from '../../src/kafka/protocol/record-batch.js';
import { createLogger } from '../../src/log.js';
import { decoderOutput } from '../support/decoder-output.js';

const settings: KafkaSettings = {
  brokers: ['127.0.0.1:1'], client_id: 'test', request_timeout_ms: 1000, connection_timeout_ms: 1000, retries: 3, ssl: false, sasl: null,
  acks: -1, idempotent: true, compression: 'none', linger_ms: 1, batch_max_records: 40, batch_max_bytes: 1 << 20,
  queue_max_records: 1_000_000, queue_max_bytes: 1 << 30, flush_timeout_ms: 20_000, max_in_flight: 5, sink: 'kafka',
};

async function run(fault: (request: number) => Fault, over: Partial<KafkaSettings> = {}, broker = new ScriptedBroker(fault),
  datagram = (d: number) => Array.from({ length: 25 }, (_, i) => `{"n":${d * 25 + i}}`), burst = false): Promise<{ broker: ScriptedBroker; delivered: number; dropped: Record<string, number>; sent: string[] }> {
  let delivered = 0;
  const dropped: Record<string, number> = {};
  const producer = new RecordProducer({ ...settings, ...over }, {
    delivered: (_t, _topic, n) => { delivered += n; },
    dropped: (reason: ProducerDropReason, _t, n) => { dropped[reason] = (dropped[reason] ?? 0) + n; },
    error: () => undefined,
  }, createLogger('error'), broker);
  producer.start(['flows']);
  const headers = encodeHeaders({ schema: '1' });
  const sent: string[] = [];
  // 2,000 records in datagrams of 25, arriving over time so several batches are in flight at once.
  for (let d = 0; d < 80; d++) {
    const values = datagram(d);
    sent.push(...values);
    const { output, index } = decoderOutput(values);
    producer.appendRecords('flows', 'acme', null, -1, output, index, values.length, headers, Date.now());
    if (!burst && d % 4 === 3) await new Promise((r) => setTimeout(r, 2));
  }
  // close() does not wait for a broker it is not connected to: let the first connect happen.
  while (broker.reachable && !producer.connected) await new Promise((r) => setTimeout(r, 1));
  await producer.close();
  // Whatever happened, the window held: never more requests outstanding than max_in_flight.
  const maxInFlight = over.max_in_flight ?? settings.max_in_flight;
  assert.ok(broker.maxOutstanding <= maxInFlight, `${broker.maxOutstanding} requests outstanding at once, max_in_flight ${maxInFlight}`);
  return { broker, delivered, dropped, sent };
}

test('with no fault, every record is written once, in order', async () => {
  const { broker, delivered, dropped, sent } = await run(() => 'none');
  assert.deepEqual(broker.log, sent);
  assert.equal(delivered, sent.length);
  assert.deepEqual(dropped, {});
  assert.ok(broker.requests >= 50, `batches of 40: ${broker.requests} requests`);
});

for (const maxInFlight of [5, 2]) {
  test(`a backlog goes out with several requests in flight, up to max_in_flight (${maxInFlight}), written once, in order`, async () => {
    // All 2,000 records arrive before the producer has connected: 50 sealed batches wait. The
    // scripted broker answers each request after a delay, so a producer that sends the next
    // batch only when the last one is answered never has more than one outstanding (nor one
    // that sends one request per wake-up: fewer than max_in_flight).
    const broker = new ScriptedBroker(() => 'none', 5);
    const { delivered, dropped, sent } = await run(() => 'none', { max_in_flight: maxInFlight }, broker, undefined, true);
    assert.deepEqual(broker.log, sent);
    assert.equal(delivered, sent.length);
    assert.deepEqual(dropped, {});
    // 50 batches wait from the start, so the window is full at once, and never fuller.
    assert.equal(broker.maxOutstanding, maxInFlight, 'requests outstanding at once, at most');
  });
}

for (const [name, fault] of [
  ['a connection that fails before the write', (n: number) => (n % 7 === 3 ? 'fail-before-write' : 'none')],
  ['a response lost after the write (the resend is a duplicate)', (n: number) => (n % 5 === 2 ? 'lose-response' : 'none')],
  ['a leader that moves (retriable error)', (n: number) => (n % 6 === 1 ? 'NOT_LEADER_OR_FOLLOWER' : 'none')],
  ['a broker that forgets the producer id', (n: number) => (n === 9 || n === 30 ? 'forget-producer' : 'none')],
] as const) {
  test(`${name}: every record is still written exactly once, in order, and counted delivered once`, async () => {
    const { broker, delivered, dropped, sent } = await run(fault as (n: number) => Fault);
    assert.equal(broker.log.length, sent.length, 'records in the log');
    assert.deepEqual(broker.log, sent);
    assert.equal(delivered, sent.length);
    assert.deepEqual(dropped, {});
  });
}

test('a batch the broker refuses for good is dropped as kafka_rejected; the records around it are written once, in order', async () => {
  const { broker, delivered, dropped, sent } = await run((n) => (n === 4 ? 'TOPIC_AUTHORIZATION_FAILED' : 'none'));
  assert.equal(dropped.kafka_rejected, 40, 'one batch of 40');
  assert.equal(delivered + dropped.kafka_rejected!, sent.length);
  const written = new Set(broker.log);
  const missing = sent.filter((v) => !written.has(v)).map((v) => JSON.parse(v).n as number);
  assert.equal(missing.length, 40);
  assert.equal(missing.at(-1)! - missing[0]!, 39, 'the missing records are one batch');
  // The batches after the dropped one were renumbered: the broker took them, in order.
  assert.deepEqual(broker.log, sent.filter((v) => written.has(v)));
});

test('a record larger than a whole batch is dropped as kafka_rejected, the others delivered', async () => {
  const big = `{"n":-1,"pad":"${'x'.repeat(3000)}"}`;
  const { broker, delivered, dropped, sent } = await run(() => 'none', { batch_max_bytes: 2048 },
    undefined, (d) => (d === 10 ? [`{"n":250}`, big, `{"n":251}`] : Array.from({ length: 25 }, (_, i) => `{"n":${d * 25 + i}}`)));
  assert.equal(dropped.kafka_rejected, 1);
  assert.equal(delivered, sent.length - 1);
  assert.deepEqual(broker.log, sent.filter((v) => v !== big));
});

test('a full queue drops new records as queue_full, and the identity holds: delivered + dropped = offered', async () => {
  const slow = new ScriptedBroker(() => 'none', 200);
  const { broker, delivered, dropped, sent } = await run(() => 'none', { queue_max_records: 300 }, slow);
  assert.ok((dropped.queue_full ?? 0) > 0, 'some records found the queue full');
  assert.equal(delivered + dropped.queue_full!, sent.length);
  assert.equal(broker.log.length, delivered);
});

test('with the broker unreachable, what is queued at close is counted as shutdown', async () => {
  const down = new ScriptedBroker(() => 'none', 1, false);
  const { broker, delivered, dropped, sent } = await run(() => 'none', { flush_timeout_ms: 500 }, down);
  assert.equal(delivered, 0);
  assert.equal(broker.log.length, 0);
  assert.deepEqual(dropped, { shutdown: sent.length });
});
