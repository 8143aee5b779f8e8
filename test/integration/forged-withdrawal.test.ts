// A forged template withdrawal against a real gateway (real UDP, the real broker): a withdraw-all
// sent from the exporter's own address and port between a capture's datagrams costs no record by
// default (RFC 7011 section 8.4: over UDP withdrawals are ignored), and is counted; with
// decoder.udp_withdrawals: apply the gateway's decoder applies it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { capturePath } from '../support/corpus.js';
import { readDatagrams, type CaptureDatagram } from '../state/capture-split.js';
import { send, exporterSocket, expectedRecords } from '../support/exporter.js';
import { concatBytes, set } from '../support/packets.js';

function configYaml(topic: string, withdrawals: 'ignore' | 'apply'): string {
  return `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
decoder: { udp_withdrawals: ${withdrawals} }
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing: { default_topic: ${topic} }
stats: { log_interval_s: 0 }
`;
}

/** A withdraw-all (template set 2 withdrawing id 2, options template set 3 withdrawing id 3) with `real`'s header: its domain and sequence number. */
function withdrawAll(real: Uint8Array): Uint8Array {
  const m = concatBytes(real.subarray(0, 16), set(2, '0002 0000'), set(3, '0003 0000'));
  new DataView(m.buffer, m.byteOffset).setUint16(2, m.length);
  return m;
}

/** The capture with a forged withdraw-all after each datagram in `after`, sent like the others (same socket: same address and port). */
function withForgeries(datagrams: CaptureDatagram[], after: number[]): CaptureDatagram[] {
  return datagrams.flatMap((d, i) => (after.includes(i) ? [d, { ...d, payload: withdrawAll(d.payload) }] : [d]));
}

const withdrawals = (action: string) => `flowgate_template_withdrawals_total{action="${action}"}`;

test('a forged withdraw-all from the exporter\'s own address and port costs no record: every record of the capture is delivered', async (t) => {
  // This exporter does not send its templates again within the capture: a withdrawal applied would
  // cost every record after it (the decoder alone, udp_withdrawals apply: 16 of 111 records delivered).
  const datagrams = readDatagrams(capturePath('softflowd_v10_milli_vlan'));
  const expected = expectedRecords(datagrams).full;
  const topic = uniqueTopic('flows.withdraw');
  const gw = new GatewayProcess(configYaml(topic, 'ignore'));
  t.after(() => gw.dispose());
  const udp = (await gw.ready()).udp.v4!;
  const socket = await exporterSocket(t);
  // Right after the first datagram (which brings the templates), and once in the middle.
  await send(socket, udp, withForgeries(datagrams, [0, 2]), (m) => m);

  assert.equal(await waitForCount(testBrokers(), topic, expected), expected);
  const delivered = `flowgate_records_delivered_total{tenant="_unknown",topic="${topic}"}`;
  const m = await gw.metricsWhen(`${expected} records counted as delivered`, (s) => (s.get(delivered) ?? 0) >= expected);
  assert.equal(m.get(delivered), expected);
  assert.equal(m.get('flowgate_records_received_total'), expected);
  assert.equal(m.get(withdrawals('ignored')), 4);
  assert.equal(m.get(withdrawals('applied')), 0);
  assert.equal(m.get('flowgate_decoder_events_total{reason="unknown_template"}'), 0);
  assert.equal(m.get('flowgate_held_sets'), 0);
});

test('with decoder.udp_withdrawals: apply, the gateway\'s decoder applies the withdrawal and counts it', async (t) => {
  const datagrams = readDatagrams(capturePath('softflowd_v10_mixed')).slice(0, 1);
  const topic = uniqueTopic('flows.withdrawapply');
  const gw = new GatewayProcess(configYaml(topic, 'apply'));
  t.after(() => gw.dispose());
  const udp = (await gw.ready()).udp.v4!;
  const socket = await exporterSocket(t);
  await send(socket, udp, withForgeries(datagrams, [0]), (m) => m);
  const m = await gw.metricsWhen('the withdrawals counted', (s) => (s.get(withdrawals('applied')) ?? 0) >= 2);
  assert.equal(m.get(withdrawals('applied')), 2);
  assert.equal(m.get(withdrawals('ignored')), 0);
  assert.equal(m.get('flowgate_templates'), 0);
});
