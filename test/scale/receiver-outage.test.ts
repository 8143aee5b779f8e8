// A receiver started while the broker is down (a private broker of the test's own): it starts,
// spools every raw datagram, makes the raw topic with its partitions once the broker answers
// (never auto-created with the broker's default), and delivers what it spooled; a decoder then
// delivers every record. The accounting identity is exact on both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { GatewayProcess, listeningFrom } from '../support/gateway-process.js';
import { startPrivateBroker } from '../support/broker.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { pcapsDir } from '../support/corpus.js';
import { readDatagrams } from '../state/capture-split.js';
import { send, exporterSocket, expectedRecords } from '../support/exporter.js';
import { waitUntil } from '../support/wait.js';
import { assertIdentity } from '../support/scale.js';
import { publicKafkajs } from '../../src/kafka/kafkajs-internals.js';

const PORT = 19792;

test('a receiver started with the broker down spools, then makes the raw topic and delivers; a decoder delivers every record', async (t) => {
  const broker = await startPrivateBroker({ port: PORT, controllerPort: PORT + 1 });
  t.after(() => broker.dispose());
  await broker.stop();
  const spool = mkdtempSync(join(tmpdir(), 'flowgate-rx-spool-'));
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const id = uniqueTopic('o');
  const [tenant, raw, templates, group] = [`flows.${id}`, `raw.${id}`, `templates.${id}`, `decode.${id}`];
  const yaml = (role: string) => `role: ${role}
listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 2
kafka: { brokers: ["${broker.bootstrap}"], linger_ms: 5, connection_timeout_ms: 500, retries: 1 }
spool: { dir: ${JSON.stringify(spool)} }
scale: { raw_topic: ${raw}, raw_partitions: 3, template_topic: ${templates}, group: ${group}, commit_interval_ms: 100 }
routing: { default_topic: ${tenant} }
stats: { log_interval_s: 0 }
`;
  const receiver = new GatewayProcess(yaml('receive'));
  t.after(() => receiver.dispose());
  // Ready means connected to Kafka: with the broker down it runs, listening, but is not ready.
  receiver.listening = listeningFrom(await receiver.waitFor('ready', { timeoutMs: 60_000 }));
  const udp = receiver.listening.udp.v4!;

  const datagrams = readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
  const expected = expectedRecords(datagrams);
  const socket = await exporterSocket(t);
  await send(socket, udp, datagrams, (m) => m);
  await waitUntil('every raw datagram spooled', async () => (await receiver.metrics()).get('flowgate_spool_records') === datagrams.length,
    { timeoutMs: 30_000, intervalMs: 200 });

  await broker.start();
  // Raw messages gather an exporter's datagrams: counted in datagrams (records of tenant _raw).
  await waitUntil('every raw datagram delivered', async () => (await receiver.metrics()).get(`flowgate_records_delivered_total{tenant="_raw",topic="${raw}"}`) === datagrams.length,
    { timeoutMs: 60_000, intervalMs: 200 });
  assert.ok(await waitForCount([broker.bootstrap], raw, 1) >= 1);
  const { Kafka, logLevel } = publicKafkajs();
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const { topics } = await admin.fetchTopicMetadata({ topics: [raw] });
  await admin.disconnect();
  assert.equal(topics[0]!.partitions.length, 3, 'made by FlowGate with scale.raw_partitions, not auto-created');

  const decoder = new GatewayProcess(yaml('decode'));
  t.after(() => decoder.dispose());
  await decoder.ready(60_000);
  assert.equal(await waitForCount([broker.bootstrap], tenant, expected.full, 60_000), expected.full);

  for (const [gw, label] of [[receiver, 'receiver'], [decoder, 'decoder']] as const) {
    assert.equal((await gw.stop('SIGTERM')).code, 0);
    const a = gw.accounting();
    assertIdentity(a, label);
    assert.equal(Object.values(a.records.dropped).reduce((x, y) => x + y, 0), 0, `${label}: nothing dropped`);
  }
  assert.equal(receiver.accounting().records.delivered, datagrams.length);
});
