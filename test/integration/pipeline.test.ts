// The gateway end to end: real UDP from real exporters' captures (tools/replay, from their
// original 127.0.0.x addresses and over IPv6), a real Kafka broker, tenants' topics read back
// with kafkajs and compared with Wireshark's decoding. Run by `npm test`, which starts the broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { startPrivateBroker, testBrokers } from '../support/broker.js';
import { assertMatches, flows, replay, truth } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { readTopic, topicCounts, uniqueTopic } from '../support/kafka-topics.js';
import { ipfix, set } from '../support/packets.js';
import { total } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';

function config(brokers: string[], routing: string, extra = ''): string {
  return `listen:
  udp: ["127.0.0.1:0", "[::1]:0"]
http:
  listen: "127.0.0.1:0"
workers: 2
kafka:
  brokers: ${JSON.stringify(brokers)}
  linger_ms: 5
${extra}
routing:
${routing}
stats:
  log_interval_s: 0
`;
}

function sumDropped(d: Record<string, number>): number {
  return Object.values(d).reduce((a, b) => a + b, 0);
}

test('captures from several exporters, over IPv4 and IPv6, reach their tenants\' topics exactly as Wireshark decoded them', async (t) => {
  const brokers = testBrokers();
  const topics = { acme: uniqueTopic('flows.acme'), globex: uniqueTopic('flows.globex'), other: uniqueTopic('ipfix') };
  const gw = new GatewayProcess(config(brokers, `  default_topic: ${topics.other}
  unknown_exporters: default
  tenants:
    - { name: acme, topic: ${topics.acme}, exporters: ["127.0.0.21", "127.0.0.22/32", "::1"] }
    - { name: globex, topic: ${topics.globex}, exporters: ["127.0.0.16/28"] }`));
  t.after(() => gw.dispose());
  const { udp: ports } = await gw.ready();
  replay('multi_exporter', `127.0.0.1:${ports.v4}`, { bindOriginal: true });
  replay('softflowd_v10_mixed', `[::1]:${ports.v6}`);
  replay('fprobe_v5_mixed', `127.0.0.1:${ports.v4}`, { bindOriginal: true });

  const multi = truth('multi_exporter');
  const expected = {
    acme: [...flows(multi, ['127.0.0.21', '127.0.0.22']), ...flows(truth('softflowd_v10_mixed'), ['127.0.0.1']).map((r) => ({ ...r, exporter: '::1' }))],
    globex: flows(multi, ['127.0.0.23', '127.0.0.24', '127.0.0.25']),
    other: flows(truth('fprobe_v5_mixed'), ['127.0.0.5']),
  };
  for (const tenant of ['acme', 'globex', 'other'] as const) {
    const got = await readTopic(brokers, topics[tenant], expected[tenant].length);
    assertMatches(t, got.map((m) => m.value), expected[tenant], tenant);
    const exporters = new Set(got.map((m) => m.headers.exporter));
    assert.ok([...exporters].every((e) => expected[tenant].some((r) => r.exporter === e)), `headers name the exporter: ${[...exporters].join(',')}`);
    assert.ok(got.every((m) => m.headers.schema === '1'));
  }
  const { code } = await gw.stop();
  assert.equal(code, 0);
  const accounting = gw.accounting();
  const all = expected.acme.length + expected.globex.length + expected.other.length;
  assert.equal(accounting.records.decoded, all);
  assert.equal(accounting.records.delivered, all);
  assert.equal(sumDropped(accounting.records.dropped), 0);
  assert.equal(accounting.datagrams.received, 50 + 53 + 35);
  assert.equal(accounting.datagrams.decoded, 50 + 53 + 35);
});

test('an exporter no tenant owns is dropped and counted as no_tenant under the drop policy; keys name the exporter, gzip on', async (t) => {
  const brokers = testBrokers();
  const topics = { owned: uniqueTopic('flows.owned'), other: uniqueTopic('ipfix') };
  const gw = new GatewayProcess(config(brokers, `  default_topic: ${topics.other}
  unknown_exporters: drop
  tenants:
    - { name: owned, topic: ${topics.owned}, exporters: ["127.0.0.14"] }`, '  key: dvc\n  compression: gzip'));
  t.after(() => gw.dispose());
  const { udp: ports } = await gw.ready();
  replay('softflowd_v10_milli_vlan', `127.0.0.1:${ports.v4}`, { bindOriginal: true });
  replay('fprobe_v5_mixed', `127.0.0.1:${ports.v4}`, { bindOriginal: true });
  const got = await readTopic(brokers, topics.owned, 111);
  assert.equal(got.length, 111);
  assert.ok(got.every((m) => m.key === '127.0.0.14' && (JSON.parse(m.value) as { dvc: string }).dvc === '127.0.0.14'));
  await gw.stop();
  const accounting = gw.accounting();
  assert.equal(accounting.records.decoded, 111 + 1021);
  assert.equal(accounting.records.delivered, 111);
  assert.equal(accounting.records.dropped.no_tenant, 1021);
  assert.equal(accounting.records.decoded, accounting.records.delivered + sumDropped(accounting.records.dropped));
  assert.deepEqual(await topicCounts(brokers, [topics.other]), { [topics.other]: 0 });
});

test('SIGTERM while records wait in the Kafka queue: every one of them is delivered before exit (snappy)', async (t) => {
  const brokers = testBrokers();
  const topic = uniqueTopic('flows.term');
  // A long linger keeps records queued when the signal arrives.
  const gw = new GatewayProcess(config(brokers, `  default_topic: ${topic}`, '  linger_ms: 60000\n  batch_max_records: 100000\n  queue_max_records: 1000000\n  compression: snappy').replace('  linger_ms: 5\n', ''));
  t.after(() => gw.dispose());
  const { udp: ports } = await gw.ready();
  replay('pmacct_v10_mixed', `127.0.0.1:${ports.v4}`, { bindOriginal: true });
  // Every record decoded and none delivered yet: they all wait in the queue when the signal arrives.
  const queued = await waitUntil('1406 records decoded', async () => {
    const m = await gw.metrics();
    return total(m, 'flowgate_records_decoded_total') === 1406 && m;
  });
  assert.equal(total(queued, 'flowgate_records_delivered_total'), 0);
  const { code } = await gw.stop('SIGTERM');
  assert.equal(code, 0);
  const accounting = gw.accounting();
  assert.equal(accounting.records.decoded, 1406);
  assert.equal(accounting.records.delivered, 1406);
  assert.deepEqual(await topicCounts(brokers, [topic]), { [topic]: 1406 });
  assert.equal((await readTopic(brokers, topic, 1406)).filter((m) => JSON.parse(m.value)).length, 1406);
});

test('a reload moves an exporter to another tenant and keeps its templates; a bad file changes nothing', async (t) => {
  const brokers = testBrokers();
  const a = uniqueTopic('flows.a');
  const b = uniqueTopic('flows.b');
  const routing = (ownerOfOne: 'a' | 'b') => `  default_topic: ${uniqueTopic('unused')}
  unknown_exporters: drop
  tenants:
    - { name: a, topic: ${a}, exporters: ["${ownerOfOne === 'a' ? '127.0.0.1' : '127.0.0.99'}"] }
    - { name: b, topic: ${b}, exporters: ["${ownerOfOne === 'b' ? '127.0.0.1' : '127.0.0.98'}"] }`;
  const gw = new GatewayProcess(config(brokers, routing('a')));
  t.after(() => gw.dispose());
  const { udp: ports } = await gw.ready();
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind({ address: '127.0.0.1', port: 0 }, () => r()));
  t.after(() => socket.close());
  const send = (pkt: Uint8Array) => new Promise<void>((r, j) => socket.send(pkt, ports.v4!, '127.0.0.1', (e) => (e ? j(e) : r())));
  const template = set(2, '0100 0002 0008 0004 000c 0004');
  const data = set(256, 'c0000201 c6336407');
  await send(ipfix({}, template, data));
  assert.equal((await readTopic(brokers, a, 1)).length, 1);

  writeFileSync(gw.configFile, config(brokers, routing('b')));
  await gw.waitFor('config reloaded', { timeoutMs: 10_000 });
  // Applied once every worker has its new routing.
  await Promise.all([0, 1].map((worker) => gw.waitFor('routing reloaded', { timeoutMs: 10_000, match: (e) => e.worker === worker })));
  await send(ipfix({}, data)); // no template: the one sent before the reload must still be known
  assert.equal((await readTopic(brokers, b, 1)).length, 1);

  writeFileSync(gw.configFile, 'workers: two\nrouting:\n  tenants: nonsense\n');
  const rejected = await gw.waitFor('config reload rejected', { timeoutMs: 10_000 });
  assert.ok((rejected.problems as string[]).some((p) => p.includes('workers')));
  await send(ipfix({}, data));
  assert.equal((await readTopic(brokers, b, 2)).length, 2);
  gw.child.kill('SIGHUP');
  await gw.waitFor('config reload rejected', { timeoutMs: 10_000, match: (e) => e.why === 'SIGHUP' });
  assert.equal(gw.count('routing reloaded'), 2, 'a rejected file reaches no worker');

  await gw.stop();
  const accounting = gw.accounting();
  assert.equal(accounting.records.decoded, 3);
  assert.equal(accounting.records.delivered, 3);
});

test('with the broker stopped mid-stream, every record is still delivered or counted as dropped', async (t) => {
  // A broker of this test's own, so stopping it does not disturb the others.
  const broker = await startPrivateBroker({ port: 19192, controllerPort: 19193 });
  t.after(() => broker.dispose());
  const { bootstrap } = broker;
  const topic = uniqueTopic('flows.outage');
  const gw = new GatewayProcess(config([bootstrap], `  default_topic: ${topic}`,
    '  queue_max_records: 2000\n  retries: 1\n  request_timeout_ms: 2000\n  connection_timeout_ms: 1000\n  flush_timeout_ms: 2000'));
  t.after(() => gw.dispose());
  const { udp: ports } = await gw.ready();
  replay('softflowd_v10_mixed', `127.0.0.1:${ports.v4}`, { bindOriginal: true });
  assert.equal((await readTopic([bootstrap], topic, 1406)).length, 1406);
  await broker.stop();
  // Three times what one worker's queue holds arrives while the broker is down.
  replay('pmacct_v10_mixed', `127.0.0.1:${ports.v4}`, { bindOriginal: true, loop: 3 });
  await waitUntil('every record of the outage decoded', async () => total(await gw.metrics(), 'flowgate_records_decoded_total') === 1406 + 3 * 1406);
  const { code } = await gw.stop();
  assert.equal(code, 0);
  const r = gw.accounting().records;
  assert.equal(r.decoded, 1406 + 3 * 1406);
  assert.equal(r.decoded, r.delivered + sumDropped(r.dropped), JSON.stringify(r));
  assert.ok(r.dropped.queue_full! > 0, JSON.stringify(r));
  assert.equal(r.queued, 0);
  // What the gateway says it delivered is in Kafka.
  await broker.start();
  const inKafka = (await topicCounts([bootstrap], [topic]))[topic]!;
  assert.ok(inKafka >= r.delivered && r.delivered >= 1406, `kafka has ${inKafka}, delivered ${r.delivered}`);
});

test('a batch the broker refuses as too large is split and sent again, not dropped (NDJSON per datagram)', async (t) => {
  const brokers = testBrokers();
  const topic = uniqueTopic('flows.large');
  // 4 x 53 datagrams of ~7 KB of NDJSON queue up behind a long linger: well over the broker's 1 MB per batch.
  const gw = new GatewayProcess(config(brokers, `  default_topic: ${topic}`,
    '  records_per_message: datagram\n  batch_max_bytes: 16777216\n  linger_ms: 3000').replace('  linger_ms: 5\n', ''));
  t.after(() => gw.dispose());
  const { udp: ports } = await gw.ready();
  replay('softflowd_v10_mixed', `127.0.0.1:${ports.v4}`, { bindOriginal: true, loop: 4 });
  const messages = await readTopic(brokers, topic, 4 * 53, 30_000);
  assert.equal(messages.reduce((n, m) => n + m.value.trim().split('\n').length, 0), 4 * 1406);
  await gw.waitFor('kafka refused a batch as too large, sending smaller ones', { timeoutMs: 5_000 });
  await gw.stop();
  const accounting = gw.accounting();
  assert.equal(accounting.records.delivered, 4 * 1406);
  assert.equal(sumDropped(accounting.records.dropped), 0);
});
