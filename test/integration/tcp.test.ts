// IPFIX over TCP against a real gateway and the real broker: a capture's messages written to one
// TCP connection, cut into chunks three different ways, reach Kafka record for record; closing a
// connection frees its templates (data on a new connection waits as unknown_template); a
// connection over listen.tcp_max_connections is refused and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { capturePath } from '../support/corpus.js';
import { readDatagrams, dataOnly } from '../state/capture-split.js';
import { expectedRecords } from '../support/exporter.js';

function configYaml(topic: string): string {
  return `listen: { udp: ["127.0.0.1:0"], tcp: ["127.0.0.1:0"], tcp_max_connections: 1 }
http: { listen: "127.0.0.1:0" }
workers: 2
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing: { default_topic: ${topic} }
stats: { log_interval_s: 0 }
`;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket): Promise<void> => new Promise((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())));

/** Writes `stream` in chunks of the sizes `size(i)` gives, then ends the connection and waits for it to close. */
async function writeChunked(s: net.Socket, stream: Buffer, size: (i: number) => number): Promise<void> {
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = Math.max(1, size(i));
    const more = s.write(stream.subarray(at, at + n));
    at += n;
    if (!more) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  await closed(s);
}

test('a capture over TCP, in three chunkings, is delivered whole; closing frees the templates; the cap refuses and counts', async (t) => {
  const datagrams = readDatagrams(capturePath('softflowd_v10_mixed'));
  const expected = expectedRecords(datagrams).full;
  const stream = Buffer.concat(datagrams.map((d) => d.payload));
  const topic = uniqueTopic('flows.tcp');
  const gw = new GatewayProcess(configYaml(topic));
  t.after(() => gw.dispose());
  const port = (await gw.ready()).tcp.v4!;
  assert.ok(port > 0, 'the ready line names the TCP port');

  let seed = 7;
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const chunkings: [string, (i: number) => number][] = [
    ['one write', () => stream.length],
    ['7 bytes at a time', () => 7],
    ['random sizes up to 3000', () => Math.floor(random() * 3000)],
  ];
  let connections = 0;
  for (const [name, size] of chunkings) {
    const s = await connect(port);
    connections++;
    if (connections === 1) {
      // Over the cap (1): closed at once, counted.
      await gw.metricsWhen('one TCP connection open', (m) => m.get('flowgate_tcp_connections') === 1);
      const over = await connect(port);
      await closed(over);
      const m = await gw.metricsWhen('the refused connection counted', (m) => m.get('flowgate_tcp_connections_total{outcome="refused_cap"}') === 1);
      assert.equal(m.get('flowgate_tcp_connections_total{outcome="accepted"}'), 1);
    }
    await writeChunked(s, stream, size);
    const total = expected * connections;
    assert.equal(await waitForCount(testBrokers(), topic, total), total, name);
    const delivered = `flowgate_records_delivered_total{tenant="_unknown",topic="${topic}"}`;
    const m = await gw.metricsWhen(`${name}: delivered, and the connection's templates freed`,
      (m) => (m.get(delivered) ?? 0) >= total && m.get('flowgate_templates') === 0 && m.get('flowgate_tcp_connections') === 0);
    assert.equal(m.get(delivered), total, name);
    assert.equal(m.get('flowgate_tcp_messages_total'), datagrams.length * connections);
    assert.equal(m.get('flowgate_datagrams_received_total'), datagrams.length * connections);
    assert.equal(m.get('flowgate_transport_sessions_ended_total')! >= connections, true);
    assert.equal(m.get('flowgate_tcp_framing_errors_total'), 0);
  }

  // A new connection that sends only data sets: the closed connections' templates are gone.
  const s = await connect(port);
  const data = Buffer.concat(datagrams.map((d) => dataOnly(d.payload)).filter((d): d is Uint8Array => d !== null));
  assert.ok(data.length > 0);
  await writeChunked(s, data, () => data.length);
  const m = await gw.metricsWhen('data without templates held', (m) => (m.get('flowgate_decoder_events_total{reason="unknown_template"}') ?? 0) > 0);
  assert.equal(m.get('flowgate_records_received_total'), expected * connections, 'no record decoded from the data-only connection');
});
