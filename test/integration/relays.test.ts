// Exporters behind a relay, end to end: datagrams sent over real UDP from an address listed in
// routing.relays reach the tenants of the exporters their records state (pmacct's capture states
// its exporter in options data; crafted datagrams in the records themselves, or in options data),
// with that exporter as dvc and in the exporter header, through the real gateway and broker. A
// relay's record stating nothing, and a record with a forged IE 130 from a source that is no relay,
// stay with their source address, as do a relay's records once a reload takes it out of
// routing.relays. Every record is accounted for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { testBrokers } from '../support/broker.js';
import { assertMatches, flows, replay, truth } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { ipfix, set } from '../support/packets.js';

const RELAY = '127.0.0.7';
const NOT_A_RELAY = '127.0.0.8';

// Template 256: src, dst, exporterIPv4Address (130). Template 258: src, dst. Options template 259,
// scope observationDomainId: exporterIPv4Address.
const withV4 = set(2, '0100 0003  0008 0004  000c 0004  0082 0004');
const plain = set(2, '0102 0002  0008 0004  000c 0004');
const PLAIN = set(258, 'c0000201 c6336407 c0000202 c6336407');
const exporterOptions = set(3, '0103 0002 0001  0095 0004  0082 0004');

async function sender(address: string, port: number): Promise<{ send(pkt: Uint8Array): Promise<void>; close(): void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind({ address, port: 0 }, () => r()));
  return {
    send: (pkt) => new Promise<void>((r, j) => socket.send(pkt, port, '127.0.0.1', (e) => (e ? j(e) : r()))),
    close: () => socket.close(),
  };
}

test('a relay\'s records reach the tenants of the exporters they state, with those as dvc; forged and unstated ones keep their source', async (t) => {
  const brokers = testBrokers();
  const topics = { pmacct: uniqueTopic('flows.relayed.pmacct'), behind: uniqueTopic('flows.relayed.behind'), other: uniqueTopic('flows.relayed.other') };
  const config = (relays: string) => `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 2
kafka: { brokers: ${JSON.stringify(brokers)}, linger_ms: 5 }
routing:
  default_topic: ${topics.other}
  unknown_exporters: default
  relays: ${relays}
  tenants:
    - { name: pmacct, topic: ${topics.pmacct}, exporters: ["127.0.0.2"] }
    - { name: behind, topic: ${topics.behind}, exporters: ["198.51.100.0/24"] }
stats: { log_interval_s: 0 }
`;
  const gw = new GatewayProcess(config(`["${RELAY}"]`));
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();

  // pmacct's capture, sent from the relay: only its options data (template 4098, IE 130) says 127.0.0.2.
  replay('pmacct_v10_mixed', `127.0.0.1:${udp.v4}`, { bind: RELAY });
  const relay = await sender(RELAY, udp.v4!);
  t.after(() => relay.close());
  await relay.send(ipfix({ domain: 1 }, withV4, set(256, 'c0000201 c6336407 c6336409  c0000202 c6336407 c6336409')));
  await relay.send(ipfix({ domain: 2 }, exporterOptions, set(259, '00000000 c6336414'), plain, PLAIN));
  await relay.send(ipfix({ domain: 3 }, plain, set(258, 'c0000203 c6336407')));
  const forger = await sender(NOT_A_RELAY, udp.v4!);
  t.after(() => forger.close());
  await forger.send(ipfix({}, withV4, set(256, 'c0000204 c6336407 7f000002')));

  const pmacct = flows(truth('pmacct_v10_mixed'), ['127.0.0.2']);
  const got = await readTopic(brokers, topics.pmacct, pmacct.length);
  assertMatches(t, got.map((m) => m.value), pmacct, 'pmacct behind the relay');
  assert.ok(got.every((m) => m.headers.exporter === '127.0.0.2' && (JSON.parse(m.value) as { dvc: string }).dvc === '127.0.0.2'));

  const behind = await readTopic(brokers, topics.behind, 4);
  const dvcOf = (m: { value: string }) => (JSON.parse(m.value) as { dvc: string; src: string }).dvc;
  assert.deepEqual(behind.map((m) => `${dvcOf(m)} ${m.headers.exporter}`).sort(),
    ['198.51.100.20 198.51.100.20', '198.51.100.20 198.51.100.20', '198.51.100.9 198.51.100.9', '198.51.100.9 198.51.100.9']);

  const other = await readTopic(brokers, topics.other, 2);
  assert.deepEqual(other.map((m) => `${dvcOf(m)} ${(JSON.parse(m.value) as { src: string }).src}`).sort(),
    [`${RELAY} 192.0.2.3`, `${NOT_A_RELAY} 192.0.2.4`], 'unstated: the relay\'s address; forged IE 130 from no relay: ignored');

  const m = await gw.metricsWhen('the relay\'s records counted', (s) => s.get('flowgate_relay_records_total{outcome="no_stated_exporter"}') === 1);
  assert.equal(m.get('flowgate_relay_records_total{outcome="stated"}'), pmacct.length + 4);
  assert.equal(m.get('flowgate_relay_records_total{outcome="too_many_exporters"}'), 0);

  // A reload that takes the relay out of routing.relays: its records' IE 130 no longer counts.
  writeFileSync(gw.configFile, config('[]'));
  await Promise.all([0, 1].map((worker) => gw.waitFor('routing reloaded', { timeoutMs: 10_000, match: (e) => e.worker === worker })));
  await relay.send(ipfix({ domain: 1 }, set(256, 'c0000205 c6336407 c6336409')));
  const afterReload = await readTopic(brokers, topics.other, 3);
  assert.ok(afterReload.some((r) => dvcOf(r) === RELAY && (JSON.parse(r.value) as { src: string }).src === '192.0.2.5'));

  const { code } = await gw.stop();
  assert.equal(code, 0);
  const accounting = gw.accounting();
  const all = pmacct.length + 4 + 2 + 1;
  assert.equal(accounting.records.decoded, all);
  assert.equal(accounting.records.delivered, all);
  assert.equal(Object.values(accounting.records.dropped).reduce((a, b) => a + b, 0), 0);
});
