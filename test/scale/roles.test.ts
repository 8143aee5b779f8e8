// The scale-out roles on one host (real processes, real UDP, the project's broker): a receiver
// writes raw datagrams, a decoder in a consumer group decodes them into the tenant topic; a
// decoder stopped with SIGTERM commits what it delivered, so the next one re-delivers nothing;
// templates shared through the template topic make instances interchangeable (role decode, and
// role all). The multi-host scenarios (namespaces, kill -9, link cut, scaling) are in netns-scale.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import net from 'node:net';
import { testBrokers } from '../support/broker.js';
import { readTopic, waitForCount } from '../support/kafka-topics.js';
import { pcapsDir } from '../support/corpus.js';
import { readDatagrams, dataOnly } from '../state/capture-split.js';
import { send, exporterSocket, expectedRecords } from '../support/exporter.js';
import { waitUntil } from '../support/wait.js';
import { roleCapture, roleConfigYaml, roleNames, startGateway } from '../support/roles.js';
import { RAW_HEADER_BYTES, writeRawMessage } from '../../src/scale/raw-message.js';
import { addressBytes } from '../../src/net/address.js';
import { publicKafkajs } from '../../src/kafka/kafkajs-internals.js';

test('receive + decode: every record reaches the tenant topic; a SIGTERMed decoder commits, its successor re-delivers nothing and needs no templates', async (t) => {
  const datagrams = roleCapture();
  const expected = expectedRecords(datagrams);
  const n = roleNames('s');
  const receiver = await startGateway(t, roleConfigYaml('receive', n));
  const first = await startGateway(t, roleConfigYaml('decode', n));
  const socket = await exporterSocket(t);
  await send(socket, receiver.listening!.udp.v4!, datagrams, (m) => m);
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full), expected.full);
  const rawDelivered = `flowgate_records_delivered_total{tenant="_raw",topic="${n.raw}"}`;
  const rx = await receiver.metricsWhen('every raw message counted as delivered', (m) => (m.get(rawDelivered) ?? 0) >= datagrams.length);
  assert.equal(rx.get(rawDelivered), datagrams.length, 'one raw message per datagram');
  const m1 = await first.metrics();
  assert.equal(m1.get('flowgate_raw_datagrams_consumed_total'), datagrams.length);
  assert.ok((m1.get(`flowgate_records_delivered_total{tenant="_templates",topic="${n.templates}"}`) ?? 0) > 0, 'templates published');

  assert.equal((await first.stop('SIGTERM')).code, 0);
  const stopped = first.accounting();
  assert.equal(stopped.records.decoded, stopped.records.delivered, 'everything it decoded was delivered');

  const second = await startGateway(t, roleConfigYaml('decode', n));
  await send(socket, receiver.listening!.udp.v4!, datagrams, dataOnly);
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full + expected.dataOnly), expected.full + expected.dataOnly);
  const m2 = await second.metrics();
  assert.equal(m2.get('flowgate_decoder_events_total{reason="unknown_template"}'), 0, 'templates came from the topic');
  assert.equal(m2.get('flowgate_held_sets'), 0);
  assert.ok((m2.get('flowgate_template_sessions_restored_total') ?? 0) >= 1);
  assert.equal(m2.get('flowgate_raw_datagrams_consumed_total'), datagrams.filter((d) => dataOnly(d.payload)).length, 'the first decoder\'s datagrams were committed: none taken again');
  // Settle, then the topic holds exactly what was sent: nothing twice.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full + expected.dataOnly + 1, 1_000), expected.full + expected.dataOnly);
  const records = await readTopic(testBrokers(), n.tenant, expected.full + expected.dataOnly);
  assert.equal(records[0]!.headers.exporter, '127.0.0.1', 'the exporter as the receiver saw it');
});

test('role all with a template topic: a second instance decodes data-only datagrams of an exporter it never saw', async (t) => {
  const datagrams = roleCapture();
  const expected = expectedRecords(datagrams);
  const n = roleNames('s');
  const socket = await exporterSocket(t);
  const a = await startGateway(t, roleConfigYaml('all', n));
  await send(socket, a.listening!.udp.v4!, datagrams, (m) => m);
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full), expected.full);
  assert.equal((await a.stop('SIGTERM')).code, 0);

  const b = await startGateway(t, roleConfigYaml('all', n));
  await b.waitFor('templates loaded from the template topic', { match: (e) => (e.sessions as number) >= 1 });
  await send(socket, b.listening!.udp.v4!, datagrams, dataOnly);
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full + expected.dataOnly), expected.full + expected.dataOnly);
  const m = await b.metrics();
  assert.equal(m.get('flowgate_decoder_events_total{reason="unknown_template"}'), 0);
  assert.equal(m.get('flowgate_held_sets'), 0);
});

test('a raw datagram larger than a ring slot is skipped, counted as too_large, and its offset committed past', async (t) => {
  const n = roleNames('s');
  const decoder = await startGateway(t, roleConfigYaml('decode', n));
  const big = Buffer.alloc(10_000, 0x0a); // ring.slot_bytes is 9216 by default
  const value = Buffer.alloc(RAW_HEADER_BYTES + big.length);
  const length = writeRawMessage(value, big, 0, big.length, addressBytes('127.0.0.1'), 0, 4739, Date.now());
  const { Kafka, logLevel } = publicKafkajs();
  const producer = new Kafka({ brokers: testBrokers(), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: n.raw, messages: [{ key: '127.0.0.1', value: value.subarray(0, length) }] });
  await producer.disconnect();
  const m = await waitUntil('the oversized datagram counted and its offset committed', async () => {
    const x = await decoder.metrics();
    return x.get('flowgate_raw_messages_skipped_total{reason="too_large"}') === 1 && (x.get('flowgate_raw_commits_total') ?? 0) >= 1 && x;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  assert.equal(m.get('flowgate_raw_messages_consumed_total'), 1);
  assert.equal(m.get('flowgate_raw_datagrams_consumed_total'), 0);
  assert.equal(m.get('flowgate_raw_messages_in_flight'), 0);
});

test('role decode protects a tenant\'s exporter as role all does: forged raw datagrams between each of its own evict each other, never its session', async (t) => {
  const n = roleNames('s');
  const decoder = await startGateway(t, `role: decode
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
scale: { raw_topic: ${n.raw}, raw_partitions: 1, template_topic: ${n.templates}, group: ${n.group}, commit_interval_ms: 100 }
decoder: { max_sessions: 2 }
routing:
  default_topic: flows.forged.${n.group}
  unknown_exporters: drop
  tenants:
    - { name: acme, topic: ${n.tenant}, exporters: ["127.0.0.1"] }
stats: { log_interval_s: 0 }
`);
  // One raw partition keeps this order: four forged sources' datagrams before each of the tenant's.
  const tenant = roleCapture();
  const forged = readDatagrams(join(pcapsDir, 'softflowd_v9_mixed.pcap'));
  const raw = (payload: Uint8Array, address: string) => {
    const value = Buffer.alloc(RAW_HEADER_BYTES + payload.length);
    return { key: address, value: value.subarray(0, writeRawMessage(value, payload, 0, payload.length, addressBytes(address), 0, 4739, Date.now())) };
  };
  const messages = tenant.flatMap((d, i) => [
    ...[1, 2, 3, 4].map((s) => raw(forged[i % forged.length]!.payload, `127.0.201.${s}`)),
    raw(d.payload, '127.0.0.1'),
  ]);
  const { Kafka, logLevel } = publicKafkajs();
  const producer = new Kafka({ brokers: testBrokers(), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: n.raw, messages });
  await producer.disconnect();
  const expected = expectedRecords(tenant).full;
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected), expected);
  const m = await decoder.metricsWhen('every raw datagram decoded', (x) => x.get('flowgate_raw_datagrams_consumed_total') === messages.length
    && x.get('flowgate_datagrams_decoded_total') === messages.length);
  // Two sessions: the first forged source and the tenant's exporter found room; every other forged datagram evicted one.
  assert.equal(m.get('flowgate_sessions_evicted_total'), 4 * tenant.length - 1);
  assert.equal(m.get('flowgate_decoder_events_total{reason="exporter_limit"}'), 0);
});

test('IPFIX over TCP through the raw topic: the decoder keeps the connection\'s templates, applies its transport rules, and frees them when the connection ends', async (t) => {
  const datagrams = roleCapture();
  const expected = expectedRecords(datagrams);
  const n = roleNames('s');
  const receiver = await startGateway(t, roleConfigYaml('receive', n));
  const decoder = await startGateway(t, roleConfigYaml('decode', n, { workers: 1 }));
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: receiver.listening!.tcp!.v4! }, () => resolve(s));
    s.once('error', reject);
  });
  t.after(() => socket.destroy());
  // IPFIX messages (the capture's only kind) written back to back: framing is the receiver's job.
  for (const d of datagrams) if (d.payload[1] === 10) socket.write(d.payload);
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full), expected.full);
  const live = await decoder.metricsWhen('the connection\'s templates known', (m) => (m.get('flowgate_templates') ?? 0) > 0);
  assert.equal(live.get('flowgate_transport_sessions_ended_total'), 0);
  await new Promise<void>((resolve) => socket.end(() => resolve()));
  const ended = await decoder.metricsWhen('the connection\'s end reaching the decoder', (m) => m.get('flowgate_transport_sessions_ended_total') === 1);
  assert.equal(ended.get('flowgate_templates'), 0, 'its templates freed with it');
  assert.equal((await receiver.stop('SIGTERM')).code, 0);
  const rx = receiver.accounting();
  assert.equal(rx.records.decoded, rx.records.delivered, 'the end travels as an entry of its own, counted as no datagram');
  assert.equal((await decoder.stop('SIGTERM')).code, 0);
});
