// kafka.format protobuf end to end: a capture through a real gateway; every Kafka message is one
// length-prefixed goflow2 FlowMessage (or a bare one with kafka.protobuf_length_prefix: false),
// read back by Google's protobuf runtime equal to the capture's JSON records under the mapping;
// the live tap still shows JSON, under FlowGate's record names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { testBrokers } from '../support/broker.js';
import { capturePath, replay } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { flowgateBin } from '../support/paths.js';
import { expectedFlowMessage, protobufSkipReason, readFlowMessages } from '../support/protobuf.js';
import { waitUntil } from '../support/wait.js';

const capture = 'softflowd_v10_mixed';
const SKIP = protobufSkipReason();

function jsonRecords(): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [flowgateBin(), 'decode', capturePath(capture)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A varint length prefix for a bare message, so the stream reader takes it. */
function prefixed(value: Buffer): Buffer {
  const head: number[] = [];
  for (let n = value.length; ; n >>>= 7) {
    if (n < 0x80) { head.push(n); break; }
    head.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from(head), value]);
}

for (const lengthPrefix of [true, false]) {
  test(`kafka.format protobuf (length prefix ${lengthPrefix}): one FlowMessage per Kafka message, equal to the JSON records; the tap shows JSON`, { skip: SKIP }, async (t) => {
    const brokers = testBrokers();
    const topic = uniqueTopic('flows.pb');
    const gw = new GatewayProcess(`listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 1
kafka:
  brokers: ${JSON.stringify(brokers)}
  format: protobuf
  protobuf_length_prefix: ${lengthPrefix}
  linger_ms: 5
routing:
  default_topic: ${topic}
stats:
  log_interval_s: 0
`);
    t.after(() => gw.dispose());
    const { udp, http } = await gw.ready();
    const tapped: string[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${http}/tap`);
    t.after(() => ws.close());
    // A frame is lines of JSON; those without "type" are records (src/tap/hub.ts).
    ws.on('message', (data) => {
      for (const line of String(data).split('\n')) if (line && !('type' in (JSON.parse(line) as object))) tapped.push(line);
    });
    await new Promise((resolve) => ws.once('message', resolve)); // hello: subscribed
    replay(capture, `127.0.0.1:${udp.v4}`);

    const expected = jsonRecords();
    const got = await readTopic(brokers, topic, expected.length);
    assert.equal(got.length, expected.length);
    assert.ok(got.every((m) => m.headers.schema === 'flowpb.FlowMessage' && m.headers.exporter === '127.0.0.1'), 'the schema header names the Protobuf type');
    const stream = Buffer.concat(got.map((m) => (lengthPrefix ? m.bytes : prefixed(m.bytes))));
    const messages = readFlowMessages(stream);
    assert.equal(messages.length, expected.length, 'each Kafka message is exactly one FlowMessage');
    const strip = ({ time_received_ns: _, ...rest }: Record<string, unknown>) => rest;
    const key = (o: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    assert.deepEqual(messages.map((m) => key(strip(m))).sort(), expected.map((r) => key(expectedFlowMessage(r))).sort());

    // The subscription reaches the workers asynchronously: replay again now that it surely has.
    replay(capture, `127.0.0.1:${udp.v4}`);
    await waitUntil('tap records', () => tapped.length > 0, { timeoutMs: 10_000 });
    const shown = JSON.parse(tapped[0]!) as Record<string, unknown>;
    assert.equal(shown.dvc, '127.0.0.1', 'the tap shows FlowGate record names');
    assert.equal(shown.version, 10);
    const same = expected.find((r) => r.src === shown.src && r.dst === shown.dst && r.srcp === shown.srcp && r.start === shown.start);
    assert.ok(same, `the tapped record is one of the capture's: ${tapped[0]}`);
    for (const name of ['dstp', 'proto', 'bytes', 'pkts', 'end']) assert.equal(shown[name], same[name] === 0 ? undefined : same[name], name);
  });
}
