// Sampling rules and scale_counters end to end: a real exporter's capture (softflowd announcing a
// sampling rate of 8 in its options data) through the gateway process, the records read back from
// Kafka. An override replaces the announced rate and scale_counters multiplies the counts by it;
// a reload that swaps the rules applies to the exporter's existing session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { testBrokers } from '../support/broker.js';
import { flows, replay, truth } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';

const capture = 'softflowd_v10_sampled_mixed';
const EXPORTER = '127.0.0.10';
const ANNOUNCED_RATE = 8; // packetInterval 1, packetSpace 7 in its options data
const expected = flows(truth(capture), [EXPORTER]);

function config(brokers: string[], topic: string, sampling: string): string {
  return `listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 1
decoder:
  scale_counters: true
kafka:
  brokers: ${JSON.stringify(brokers)}
  linger_ms: 20
routing:
  unknown_exporters: drop
  tenants:
    - { name: lab, topic: ${topic}, exporters: ["${EXPORTER}"] }
  sampling:
${sampling}
stats:
  log_interval_s: 0
`;
}

/** bytes/pkts of each record, sorted, to compare as multisets. */
const counts = (records: { bytes: unknown; pkts: unknown }[], times = 1): string[] =>
  records.map((r) => `${Number(r.bytes) * times}/${Number(r.pkts) * times}`).sort();

test('an override rate replaces the announced one and scale_counters multiplies bytes and pkts by it; a reload applies new rules to the running exporter', async (t) => {
  const brokers = testBrokers();
  const first = uniqueTopic('flows.sampling');
  const second = uniqueTopic('flows.sampling.reloaded');
  const gw = new GatewayProcess(config(brokers, first, `    - { exporters: ["${EXPORTER}/32"], override_rate: 100 }`));
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();

  replay(capture, `127.0.0.1:${udp.v4}`, { bindOriginal: true });
  const overridden = (await readTopic(brokers, first, expected.length)).map((m) => JSON.parse(m.value) as { bytes: number; pkts: number; sampling: number });
  assert.equal(overridden.length, expected.length);
  assert.ok(overridden.every((r) => r.sampling === 100), 'every record carries the override as its rate');
  assert.deepEqual(counts(overridden), counts(expected as never, 100), 'bytes and pkts are the exporter\'s times 100');

  // A tenant rule with only a default: the exporter announces its rate, so the default does not apply.
  writeFileSync(gw.configFile, config(brokers, second, '    - { tenant: lab, default_rate: 1000 }'));
  await gw.waitFor('routing reloaded', { timeoutMs: 10_000 });
  replay(capture, `127.0.0.1:${udp.v4}`, { bindOriginal: true });
  const announced = (await readTopic(brokers, second, expected.length)).map((m) => JSON.parse(m.value) as { bytes: number; pkts: number; sampling: number });
  assert.ok(announced.every((r) => r.sampling === ANNOUNCED_RATE), 'the announced rate is in force again, not the default');
  assert.deepEqual(counts(announced), counts(expected as never, ANNOUNCED_RATE));

  const { code } = await gw.stop('SIGTERM');
  assert.equal(code, 0);
});
