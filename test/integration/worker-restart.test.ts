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

const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
/** softflowd_v10_mixed: 1406 flow records from 127.0.0.1; softflowd_v10_milli_vlan: 111 from 127.0.0.14. */
const MIXED = 1406;
const MILLI = 111;

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
  const { log, events } = recordingLogger('info');
  const gateway = await startGateway(config, log);
  const http = await startHttp(gateway, log);
  let stopped = false;
  t.after(async () => {
    http.close();
    if (!stopped) await gateway.stop();
  });
  const base = `http://127.0.0.1:${http.port}`;
  const metrics = () => scrapeMetrics(base);
  await waitUntil('/readyz 200', async () => (await httpGet(`${base}/readyz`)).status === 200);
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
  http.close();
  await gateway.stop(); // flushes what the live workers hold
  stopped = true;

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
