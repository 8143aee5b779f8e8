// routing.options_topic end to end: a real exporter's capture (pmacct, sending an options
// template 4098 scoped by exportingProcessId with exporterIPv4Address and exporterIPv6Address)
// and a crafted exporter naming its interfaces, through the gateway process to a real broker.
// Every options record arrives on the options topic (compared with Wireshark's decoding), data
// records on the tenant's topic carry in_if_name, and the accounting identity holds with the
// options records counted as records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { testBrokers } from '../support/broker.js';
import { assertMatches, flows, replay, truth } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { ipfix, set } from '../support/packets.js';

const capture = 'pmacct_v10_mixed';
const PMACCT = '127.0.0.2';

function config(brokers: string[], topic: string, optionsTopic: string): string {
  return `listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 2
kafka:
  brokers: ${JSON.stringify(brokers)}
  linger_ms: 5
routing:
  unknown_exporters: drop
  options_topic: ${optionsTopic}
  tenants:
    - { name: lab, topic: ${topic}, exporters: ["${PMACCT}", "127.0.0.1"] }
stats:
  log_interval_s: 0
`;
}

/** One datagram from 127.0.0.1 naming interfaces 3 and 4 (options template 257: ingressInterface, interfaceName), then a flow from 3 to 4. */
function namedInterfaces(): Uint8Array {
  const name = (s: string): string => Buffer.from([s.length]).toString('hex') + Buffer.from(s).toString('hex');
  return ipfix({ domain: 7 },
    set(2, '0100 0004  0008 0004  000c 0004  000a 0004  000e 0004'),
    set(3, '0101 0002 0001  000a 0004  0052 ffff'),
    set(257, `00000003 ${name('Gi0/3')} 00000004 ${name('Gi0/4')}`),
    set(256, 'c0000201 c6336407 00000003 00000004'));
}

async function send(port: number, datagram: Uint8Array): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  socket.close();
}

test('options records go to routing.options_topic, data records to the tenant\'s topic with interface names, all of them accounted for', async (t) => {
  const brokers = testBrokers();
  const topic = uniqueTopic('flows.lab');
  const optionsTopic = uniqueTopic('flows.options');
  const gw = new GatewayProcess(config(brokers, topic, optionsTopic));
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();

  await send(udp.v4!, namedInterfaces());
  replay(capture, `127.0.0.1:${udp.v4}`, { bindOriginal: true });

  const expectedFlows = flows(truth(capture), [PMACCT]);
  const expectedOptions = truth(capture).filter((r) => r.options === true);
  assert.equal(expectedOptions.length, 23, 'the capture\'s options records (Wireshark)');
  const records = await readTopic(brokers, topic, expectedFlows.length + 1);
  const named = records.filter((m) => m.headers.exporter === '127.0.0.1').map((m) => JSON.parse(m.value) as Record<string, unknown>);
  assert.deepEqual(named.map((r) => [r.in_if, r.in_if_name, r.out_if, r.out_if_name]), [[3, 'Gi0/3', 4, 'Gi0/4']]);
  assertMatches(t, records.filter((m) => m.headers.exporter === PMACCT).map((m) => m.value), expectedFlows, 'tenant topic');
  assert.ok(records.every((m) => !('scope_fields' in (JSON.parse(m.value) as object))), 'no options record on the tenant\'s topic');

  const options = await readTopic(brokers, optionsTopic, expectedOptions.length + 2);
  assert.equal(options.length, expectedOptions.length + 2);
  assert.ok(options.every((m) => m.headers.schema === 'flowgate-options/1' && m.key === m.headers.exporter), 'schema header, keyed by exporter');
  const pmacct = options.filter((m) => m.key === PMACCT).map((m) => JSON.parse(m.value) as Record<string, unknown>);
  assert.equal(pmacct.length, expectedOptions.length);
  const wanted = expectedOptions.map((r) => ({ dvc: PMACCT, version: 10, odid: r.observationDomainId, tid: r.templateId, scope_fields: 1,
    exportingProcessId: 2130706434, exporterIPv4Address: '127.0.0.2', exporterIPv6Address: '::', time: (r.exportTime as number) * 1000 }));
  const byTime = (a: Record<string, unknown>, b: Record<string, unknown>): number => (a.time as number) - (b.time as number);
  assert.deepEqual(pmacct.sort(byTime), wanted.sort(byTime));
  const crafted = options.filter((m) => m.key === '127.0.0.1').map((m) => JSON.parse(m.value) as Record<string, unknown>);
  assert.deepEqual(crafted.map((r) => [r.tid, r.odid, r.in_if, r.interfaceName]), [[257, 7, 3, 'Gi0/3'], [257, 7, 4, 'Gi0/4']], 'in order');

  const { code } = await gw.stop();
  assert.equal(code, 0);
  const a = gw.accounting();
  const all = expectedFlows.length + 1 + expectedOptions.length + 2;
  assert.equal(a.records.decoded, all, 'options records are counted as records');
  assert.equal(a.records.delivered, all);
  assert.equal(Object.values(a.records.dropped).reduce((x, y) => x + y, 0), 0);
});
