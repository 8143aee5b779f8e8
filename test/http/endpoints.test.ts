// Metrics, health and the exporter / template APIs of a real gateway fed real captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway.js';
import { startHttp } from '../../src/http/endpoints.js';
import { createLogger } from '../../src/log.js';
import { ABI_VERSION } from '../../src/decoder/wasm.js';
import { testBrokers } from '../support/broker.js';
import { replayAsync } from '../support/corpus.js';
import { httpGet } from '../support/http.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { scrapeMetrics, total } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';

/** Sends a capture from its own exporter addresses (127.0.0.21 to .25), so routing sees them. */
const replay = (capture: string, port: number) => replayAsync(capture, `127.0.0.1:${port}`, { bindOriginal: true });

/** Polls /metrics until `holds` is true of a scrape, and resolves with that scrape. */
async function metricsWhen(base: string, what: string, holds: (m: Map<string, number>) => boolean): Promise<Map<string, number>> {
  let last = new Map<string, number>();
  const counters = () => Object.fromEntries([...last].filter(([k]) => /^flowgate_(records|datagrams)_/.test(k)));
  return waitUntil(what, async () => holds((last = await scrapeMetrics(base))) && last, { timeoutMs: 10_000, last: counters });
}

async function setup(t: { after(fn: () => unknown): void }, extra = '') {
  const topics = { acme: uniqueTopic('flows.acme'), other: uniqueTopic('ipfix') };
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0"${extra} }
workers: 2
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing:
  default_topic: ${topics.other}
  tenants:
    - { name: acme, topic: ${topics.acme}, exporters: ["127.0.0.21", "127.0.0.22"] }
stats: { log_interval_s: 0 }
`);
  const log = createLogger('warn', {}, () => undefined);
  const gateway = await startGateway(config, log);
  const http = await startHttp(gateway, log);
  t.after(async () => {
    http.close();
    await gateway.stop();
  });
  return { gateway, http, topics, base: `http://127.0.0.1:${http.port}`, udp: gateway.addresses[0]!.port };
}

test('after a replay, the main series have exactly the values of the capture, and every reason is present at zero', async (t) => {
  const { base, udp, topics } = await setup(t);
  const before = await scrapeMetrics(base);
  for (const reason of ['ring_full', 'too_large', 'bad_version', 'bad_length', 'truncated_header', 'exporter_limit', 'decoder_trap']) {
    assert.equal(before.get(`flowgate_datagrams_dropped_total{reason="${reason}"}`), 0, reason);
  }
  for (const reason of ['no_tenant', 'queue_full', 'kafka_rejected', 'shutdown', 'worker_failed', 'output_full']) {
    assert.equal(before.get(`flowgate_records_dropped_total{reason="${reason}"}`), 0, reason);
  }
  assert.equal(before.get(`flowgate_records_delivered_total{tenant="acme",topic="${topics.acme}"}`), 0);

  await replay('multi_exporter', udp);
  // A datagram that is no flow export at all.
  const junk = createSocket('udp4');
  await new Promise<void>((r) => junk.send(Buffer.from('hello, not ipfix'), udp, '127.0.0.1', () => r()));
  junk.close();
  // acme owns .21 (12 records) and .22 (111); the rest (256) goes to the default topic.
  assert.equal(await waitForCount(testBrokers(), topics.acme, 123), 123);
  assert.equal(await waitForCount(testBrokers(), topics.other, 256), 256);
  // Kafka has them before the producer has read the acks: the counters follow.
  const m = await metricsWhen(base, 'every record counted as delivered and the junk datagram as dropped',
    (s) => total(s, 'flowgate_records_delivered_total') >= 379 && total(s, 'flowgate_datagrams_dropped_total') >= 1);
  assert.equal(m.get('flowgate_datagrams_received_total'), 51);
  assert.equal(m.get('flowgate_datagrams_decoded_total'), 51);
  assert.equal(m.get('flowgate_datagrams_dropped_total{reason="bad_version"}'), 1);
  assert.equal(m.get('flowgate_records_received_total'), 379);
  assert.equal(m.get('flowgate_records_decoded_total{tenant="acme"}'), 123);
  assert.equal(m.get('flowgate_records_decoded_total{tenant="_unknown"}'), 256);
  assert.equal(m.get(`flowgate_records_delivered_total{tenant="acme",topic="${topics.acme}"}`), 123);
  assert.equal(m.get(`flowgate_records_delivered_total{tenant="_unknown",topic="${topics.other}"}`), 256);
  assert.equal(m.get('flowgate_templates'), 27); // the capture's summary: template ids per session
  assert.equal(m.get('flowgate_exporters'), 6); // 5 addresses, 6 (exporter, port, domain) sessions
  assert.equal(m.get('flowgate_decoder_events_total{reason="unknown_template"}'), 0);
  assert.equal(m.get('flowgate_sequence_lost_records_total'), 0);
  assert.equal(m.get('flowgate_worker_restarts_total'), 0);
  assert.ok(m.get('flowgate_kafka_produce_latency_seconds_count')! > 0);
  assert.equal(m.get('flowgate_exporter_records_total{exporter="127.0.0.22"}'), 111);
  assert.ok([...m.keys()].some((k) => k.startsWith('flowgate_udp_kernel_drops_total{socket="udp:')), 'kernel drops read from /proc/net/udp');
  assert.ok(m.has('process_cpu_user_seconds_total') && m.has('flowgate_build_info{version="0.1.0",node="' + process.version + '",abi="' + ABI_VERSION + '"}'));
});

test('/healthz, /readyz and the exporter and template APIs describe what the gateway has seen', async (t) => {
  const { base, udp } = await setup(t);
  assert.equal((await httpGet(`${base}/healthz`)).body, 'ok\n');
  // Ready once every worker's producer has connected.
  let ready: { status: number; body: string } | undefined;
  await waitUntil('/readyz to answer 200', async () => (ready = await httpGet(`${base}/readyz`)).status === 200, { timeoutMs: 10_000, last: () => ready });
  await replay('multi_exporter', udp);
  // The workers have decoded every record of the capture: their exporter and template tables are complete.
  await metricsWhen(base, 'the 379 records of the capture decoded', (s) => total(s, 'flowgate_records_received_total') >= 379);
  const { exporters } = JSON.parse((await httpGet(`${base}/api/exporters`)).body) as { exporters: { exporter: string; domain: number; tenant: string | null; records: number; templates: number; version: number; protected: boolean }[] };
  assert.deepEqual(exporters.map((e) => `${e.exporter}/${e.domain}`).sort(),
    ['127.0.0.21/0', '127.0.0.22/0', '127.0.0.23/1', '127.0.0.23/2', '127.0.0.24/7', '127.0.0.25/1']);
  const e21 = exporters.find((e) => e.exporter === '127.0.0.21')!;
  assert.deepEqual([e21.tenant, e21.records, e21.templates, e21.version], ['acme', 12, 5, 10]);
  assert.equal(exporters.find((e) => e.exporter === '127.0.0.24')!.tenant, null);
  assert.equal(e21.protected, true, 'a tenant\'s exporter is protected from eviction');
  assert.equal(exporters.find((e) => e.exporter === '127.0.0.24')!.protected, false);
  const { sessions } = JSON.parse((await httpGet(`${base}/api/templates`)).body) as { sessions: { exporter: string; domain: number; templates: { id: number; kind: string; fields: { id: number }[] }[] }[] };
  const s25 = sessions.find((s) => s.exporter === '127.0.0.25')!;
  assert.deepEqual(s25.templates.map((x) => x.id).sort(), [256, 257]);
  const s23 = sessions.find((s) => s.exporter === '127.0.0.23' && s.domain === 2)!;
  assert.deepEqual(s23.templates.map((x) => x.id).sort(), [1025, 1026, 2049, 2050, 4099]);
  assert.equal(s23.templates.find((x) => x.id === 4099)!.kind, 'options');
  assert.ok(s23.templates.find((x) => x.id === 1025)!.fields.some((f) => f.id === 8), 'template 1025 lists sourceIPv4Address');
  assert.equal((await httpGet(`${base}/nothing-here`)).status, 404);
});

test('with protect_api, /metrics and /api/* need the admin token (bearer or query); health stays open', async (t) => {
  const { base } = await setup(t, ', admin_token: "s3cret", protect_api: true');
  assert.equal((await fetch(`${base}/metrics`)).status, 401);
  assert.equal((await fetch(`${base}/api/exporters`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await fetch(`${base}/api/exporters`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
  assert.equal((await fetch(`${base}/metrics?token=s3cret`)).status, 200);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('/readyz answers 503 naming the problem while Kafka is not reachable', async (t) => {
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ["127.0.0.1:1"], connection_timeout_ms: 200, retries: 1 }
stats: { log_interval_s: 0 }
`);
  const log = createLogger('error', {}, () => undefined);
  const gateway = await startGateway(config, log);
  const http = await startHttp(gateway, log);
  t.after(async () => {
    http.close();
    await gateway.stop();
  });
  const r = await fetch(`http://127.0.0.1:${http.port}/readyz`);
  assert.equal(r.status, 503);
  const first = (await r.json()) as { ready: boolean; problems: string[] };
  assert.equal(first.ready, false);
  assert.match(first.problems.join(), /^worker 0: not connected to Kafka/);
  // Once an attempt has failed, the problem says why (here: nothing listens on the broker's port).
  const why = await waitUntil('/readyz naming the cause', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${http.port}/readyz`)).json()) as { problems: string[] };
    return body.problems.length === 1 && body.problems[0]!.startsWith('worker 0: not connected to Kafka: ') && body.problems[0];
  });
  assert.match(why, /ECONNREFUSED|Connection error/);
});
