// A decoder trap in a running gateway (the trap build, FLOWGATE_DECODER_BUILD=trap, traps on a
// datagram of version 0xdead): the worker survives, the datagram is quarantined under state.dir,
// the instance is re-created with the exporters' saved state, and the exporter's data-only
// datagrams after it decode at once. Counts are exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { total } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';
import { hex, ipfix, set } from '../support/packets.js';

const template = set(2, `
  0100 0003                     # template 256, 3 fields
  0008 0004  000c 0004          # sourceIPv4Address, destinationIPv4Address
  0001 0008                     # octetDeltaCount`);
const records = set(256, `
  c0000201 c6336407 00000000000005dc
  c0000202 c6336407 00000000000005dd`);
const poison = hex('dead 0010 00000000 00000000 00000000 0102030405');

test('a decoder trap: the worker survives, the datagram is quarantined, the exporters\' state comes back, counts are exact', { timeout: 120_000 }, async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'flowgate-trap-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const topic = uniqueTopic('trap');
  const gw = new GatewayProcess(`
listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
state: { dir: ${JSON.stringify(stateDir)}, save_interval_ms: 100 }
routing: { default_topic: ${topic}, unknown_exporters: default }
stats: { log_interval_s: 0 }
`, { env: { FLOWGATE_DECODER_BUILD: 'trap' } });
  t.after(() => gw.dispose());
  const port = (await gw.ready()).udp.v4!;
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const send = (bytes: Uint8Array) => new Promise<void>((r) => socket.send(bytes, port, '127.0.0.1', () => r()));

  await send(ipfix({ seq: 0 }, template, records));
  await waitUntil('the template saved', () => readdirSync(stateDir).includes('worker-0.state'));
  await send(poison);
  const event = await gw.waitFor('decoder trapped: instance re-created with the saved exporter state, datagram quarantined');
  assert.equal(event.sessionsRestored, 1, 'the exporter\'s session came back from the state file');
  // Data only, no template: decoded at once by the re-created instance.
  await send(ipfix({ seq: 2 }, records));
  assert.equal(await waitForCount(testBrokers(), topic, 4), 4);

  const m = await gw.metrics();
  assert.equal(total(m, 'flowgate_decoder_events_total{reason="decoder_trap"}'), 1);
  assert.equal(total(m, 'flowgate_datagrams_dropped_total{reason="decoder_trap"}'), 1);
  assert.equal(total(m, 'flowgate_decoder_events_total{reason="unknown_template"}'), 0);
  assert.equal(total(m, 'flowgate_worker_restarts_total'), 0, 'the worker did not die');
  assert.equal(total(m, 'flowgate_records_received_total'), 4);
  const files = readdirSync(join(stateDir, 'quarantine'));
  assert.equal(files.length, 1);
  assert.match(files[0]!, /-127\.0\.0\.1-\d+\.bin$/);
  assert.deepEqual(new Uint8Array(readFileSync(join(stateDir, 'quarantine', files[0]!))), poison);
  assert.equal((await gw.stop()).code, 0);
});
