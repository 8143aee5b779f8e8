// A decoder worker that dies is restarted and counted; the other keeps running, and the records
// the dead one had accepted and not delivered are accounted for as dropped ("worker_failed"),
// exactly: no more (the other worker's queued records are not its), no fewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway.js';
import { startHttp } from '../../src/http/endpoints.js';
import { testBrokers } from '../support/broker.js';
import { replayAsync } from '../support/corpus.js';
import { httpGet } from '../support/http.js';
import { topicCounts, uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { eventsNamed, recordingLogger } from '../support/log-events.js';
import { scrapeMetrics, total } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';
import { capturePath } from '../support/corpus.js';
import { dataOnly, readDatagrams } from '../state/capture-split.js';
import { createSocket } from 'node:dgram';
import { WasmDecoder } from '../../src/decoder/wasm.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
/** softflowd_v10_mixed: 1406 flow records from 127.0.0.1; softflowd_v10_milli_vlan: 111 from 127.0.0.14. */
const MIXED = 1406;
const MILLI = 111;


/** A gateway in this process with its HTTP side, ready (/readyz 200); stopped after the test unless stop() did it. */
async function startInProcess(t: { after(fn: () => Promise<void>): void }, config: ReturnType<typeof parseConfig>) {
  const { log, events } = recordingLogger('info');
  const gateway = await startGateway(config, log);
  const http = await startHttp(gateway, log);
  let stopped = false;
  const stop = async (): Promise<void> => {
    http.close();
    if (!stopped) await gateway.stop();
    stopped = true;
  };
  t.after(stop);
  const base = `http://127.0.0.1:${http.port}`;
  const metrics = () => scrapeMetrics(base);
  await waitUntil('/readyz 200', async () => (await httpGet(`${base}/readyz`)).status === 200);
  return { gateway, http, base, metrics, events, stop };
}

test('a worker that dies holding queued records is restarted; worker_failed is exactly what it held, and the identity holds', async (t) => {
  const topic = uniqueTopic('flows.restart');
  // A long linger: every record waits in its worker's Kafka queue until the gateway stops (and flushes).
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 2
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 60000, batch_max_records: 100000, queue_max_records: 1000000 }
routing: { default_topic: ${topic} }
stats: { log_interval_s: 0 }
`);
  const { gateway, base, metrics, events, stop } = await startInProcess(t, config);
  const target = `127.0.0.1:${gateway.addresses[0]!.port}`;

  const victim = gateway.pool.workerFor(v4(127, 0, 0, 1));
  const other = gateway.pool.workerFor(v4(127, 0, 0, 14));
  assert.notEqual(other, victim, 'the two exporters must live on different workers for this test');
  const queuedOn = (m: Map<string, number>, worker: number) => m.get(`flowgate_kafka_queue_records{worker="${worker}"}`);

  // Both workers hold records in their queues: 1406 on the victim, 111 on the other.
  await replayAsync('softflowd_v10_mixed', target, { bindOriginal: true });
  await replayAsync('softflowd_v10_milli_vlan', target, { bindOriginal: true });
  let m = await waitUntil(`${MIXED + MILLI} records decoded`, async () => {
    const now = await metrics();
    return total(now, 'flowgate_records_decoded_total') === MIXED + MILLI && now;
  });
  assert.equal(total(m, 'flowgate_records_delivered_total'), 0, 'nothing delivered yet: every record is queued');
  assert.deepEqual([queuedOn(m, victim), queuedOn(m, other)], [MIXED, MILLI]);

  await gateway.pool.thread(victim)!.terminate();
  m = await waitUntil('the restart counted and the new worker ready', async () => {
    const now = await metrics();
    return now.get('flowgate_worker_restarts_total') === 1 && (await httpGet(`${base}/readyz`)).status === 200 && now;
  });
  assert.equal(m.get('flowgate_records_dropped_total{reason="worker_failed"}'), MIXED, 'exactly the records the dead worker held');
  assert.deepEqual([queuedOn(m, victim), queuedOn(m, other)], [0, MILLI], 'a fresh worker; the other still holds its own');
  assert.deepEqual(eventsNamed(events, 'decoder worker exited, restarting').map((e) => e.worker), [victim]);

  // The new worker has no templates yet: softflowd sends them again in its first datagram.
  await replayAsync('softflowd_v10_mixed', target, { bindOriginal: true });
  await waitUntil('the replay decoded by the new worker', async () => total(await metrics(), 'flowgate_records_decoded_total') === 2 * MIXED + MILLI);
  await stop(); // flushes what the live workers hold

  const a = gateway.accounting();
  assert.equal(a.records.decoded, 2 * MIXED + MILLI);
  assert.equal(a.records.delivered, MIXED + MILLI);
  const { worker_failed: workerFailed, ...otherDrops } = a.records.dropped;
  assert.equal(workerFailed, MIXED);
  assert.ok(Object.values(otherDrops).every((n) => n === 0), JSON.stringify(a.records.dropped));
  assert.equal(a.records.queued, 0);
  assert.equal(a.records.decoded, a.records.delivered + Object.values(a.records.dropped).reduce((x, y) => x + y, 0));
  // Kafka has what the gateway says it delivered, and nothing of what the dead worker held.
  assert.equal(await waitForCount(testBrokers(), topic, MIXED + MILLI), MIXED + MILLI);
  assert.deepEqual(await topicCounts(testBrokers(), [topic]), { [topic]: MIXED + MILLI });
});

test('a worker killed mid-stream comes back with its exporters\' state: their data decodes at once, the identity is exact', async (t) => {
  const topic = uniqueTopic('flows.restart-state');
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-wkill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 2
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
state: { dir: ${JSON.stringify(join(dir, 'state'))}, save_interval_ms: 100 }
spool: { dir: ${JSON.stringify(join(dir, 'spool'))} }
routing: { default_topic: ${topic} }
stats: { log_interval_s: 0 }
`);
  const { gateway, base, metrics, stop } = await startInProcess(t, config);
  const port = gateway.addresses[0]!.port;
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const send = async (messages: (Uint8Array | null)[]): Promise<void> => {
    let n = 0;
    for (const m of messages) {
      if (!m) continue;
      await new Promise<void>((resolve, reject) => socket.send(m, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      if (++n % 32 === 0) await new Promise((r) => setTimeout(r, 2));
    }
  };
  const datagrams = readDatagrams(capturePath('softflowd_v10_mixed'));
  const victim = gateway.pool.workerFor(v4(127, 0, 0, 1));

  // Templates and data: decoded, and the templates saved.
  await send(datagrams.map((d) => d.payload));
  await waitUntil(`${MIXED} records decoded`, async () => total(await metrics(), 'flowgate_records_decoded_total') === MIXED);
  await waitUntil('the victim\'s state saved', () => existsSync(join(dir, 'state', `worker-${victim}.state`)));
  await new Promise((r) => setTimeout(r, 300)); // past one more save interval: the last template defined is in the file

  await gateway.pool.thread(victim)!.terminate();
  await waitUntil('the restart counted and the new worker ready', async () =>
    (await metrics()).get('flowgate_worker_restarts_total') === 1 && (await httpGet(`${base}/readyz`)).status === 200);

  // Data only, no template: the new worker decodes every record at once.
  // What the data-only messages hold, by a decoder that knows the templates.
  const reference = new WasmDecoder();
  for (const d of datagrams) reference.decode(d.payload, d.address, d.port, d.timeMs);
  let dataOnlyRecords = 0;
  for (const d of datagrams) {
    const message = dataOnly(d.payload);
    if (message) dataOnlyRecords += Math.max(0, reference.decode(message, d.address, d.port, d.timeMs));
  }
  assert.ok(dataOnlyRecords > 0);
  await send(datagrams.map((d) => dataOnly(d.payload)));
  const m = await waitUntil('the data-only records decoded', async () => {
    const now = await metrics();
    return total(now, 'flowgate_records_decoded_total') === MIXED + dataOnlyRecords && now;
  }, { timeoutMs: 15_000 });
  assert.equal(m.get('flowgate_decoder_events_total{reason="unknown_template"}'), 0, 'no data waited for a template');
  assert.equal(m.get('flowgate_held_sets'), 0);
  await stop();

  const a = gateway.accounting();
  const dropped = Object.values(a.records.dropped).reduce((x, y) => x + y, 0);
  assert.equal(a.records.decoded + a.records.recovered, a.records.delivered + dropped + a.records.queued + a.records.spooled, JSON.stringify(a.records));
  assert.equal(a.records.queued, 0);
  assert.equal(a.records.spooled, 0);
  // What the killed worker held unsent is the only loss, and it is counted.
  assert.equal(dropped, a.records.dropped.worker_failed);
  assert.equal(await waitForCount(testBrokers(), topic, a.records.delivered), a.records.delivered);
});
