// decoder.fields: all end to end: a real exporter's capture (pmacct: MAC addresses, VLAN, and two
// enterprise elements no dictionary knows, one a variable-length string) through the gateway
// process, the records read back from Kafka: the short fields as always, then every other element
// under its IANA name, the unknown ones as e{PEN}_{id} with hex values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBrokers } from '../support/broker.js';
import { flows, replay, truth } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';

const capture = 'pmacct_v10_mixed';
const EXPORTER = '127.0.0.2';
const expected = flows(truth(capture), [EXPORTER]);

function config(brokers: string[], topic: string): string {
  return `listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 1
decoder:
  fields: all
kafka:
  brokers: ${JSON.stringify(brokers)}
  linger_ms: 20
routing:
  unknown_exporters: drop
  tenants:
    - { name: lab, topic: ${topic}, exporters: ["${EXPORTER}"] }
stats:
  log_interval_s: 0
`;
}

test('with decoder.fields all, records carry every element by name, typed, and the unknown ones by number in hex', async (t) => {
  const brokers = testBrokers();
  const topic = uniqueTopic('flows.fields');
  const gw = new GatewayProcess(config(brokers, topic));
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();
  replay(capture, `127.0.0.1:${udp.v4}`, { bindOriginal: true });
  const records = (await readTopic(brokers, topic, expected.length)).map((m) => JSON.parse(m.value) as Record<string, unknown>);
  assert.equal(records.length, expected.length);
  const macs = (r: { fields: [number, number, unknown][] }, ie: number) => r.fields.find(([id, pen]) => id === ie && pen === 0)?.[2];
  assert.deepEqual(records.map((r) => `${r.sourceMacAddress}>${r.destinationMacAddress}`).sort(),
    expected.map((r) => `${macs(r as never, 56)}>${macs(r as never, 80)}`).sort(), 'MAC addresses as aa:bb:cc:dd:ee:ff');
  for (const r of records) {
    assert.equal(typeof r.src, 'string', 'the short fields stay');
    assert.equal(r.sourceIPv4Address ?? r.sourceIPv6Address, undefined, 'an element a short field shows is not repeated');
    assert.match(String(r.e43874_1), /^[0-9a-f]{16}$/, 'pmacct\'s tag: an unknown 8-byte element as hex');
    assert.match(String(r.e43874_3), /^([0-9a-f]{2})+$/, 'pmacct\'s label: an unknown variable-length element as hex');
  }
  const { code } = await gw.stop('SIGTERM');
  assert.equal(code, 0);
});
