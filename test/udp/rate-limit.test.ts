// Per-exporter rate limits: the policy (default, overrides by prefix and by tenant, first match),
// the token bucket's arithmetic, the bounded per-exporter counts, the receiver dropping the excess
// before a ring, and a gateway where a noisy exporter on the same worker as a real one is cut to
// its limit while the real one delivers every record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { bucketFor, LimitedCounts, MAX_LABELLED, RateLimits, takeToken } from '../../src/udp/rate-limit.js';
import { UdpReceiver, type RingSet } from '../../src/udp/receiver.js';
import { PacketRing } from '../../src/ring/ring.js';
import { createLogger } from '../../src/log.js';
import { testBrokers } from '../support/broker.js';
import { pcapsDir } from '../support/corpus.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { exporterSocket, expectedRecords, send } from '../support/exporter.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { total } from '../support/prometheus.js';
import { readDatagrams } from '../state/capture-split.js';

const log = createLogger('error', {}, () => undefined);

const routing = `routing:
  tenants:
    - { name: acme, topic: flows.acme, exporters: ["10.1.0.0/16"] }
`;

test('no default limit and no override with a limit: no rate limits at all', () => {
  assert.equal(RateLimits.of(parseConfig(routing)), null);
  assert.equal(RateLimits.of(parseConfig(`admission: { rate_limit: { overrides: [{ tenant: acme, datagrams_per_s: 0 }] } }\n${routing}`)), null);
});

test('an exporter gets the first override that names it, by prefix or by tenant, else the default; burst 0 is one second\'s worth', () => {
  const limits = RateLimits.of(parseConfig(`admission:
  rate_limit:
    datagrams_per_s: 1000
    overrides:
      - { exporters: ["10.1.2.0/24", "2001:db8::/32"], datagrams_per_s: 50, burst: 500 }
      - { tenant: acme, datagrams_per_s: 0 }
      - { exporters: ["10.1.0.0/16", "192.0.2.9"], datagrams_per_s: 7 }
${routing}`))!;
  assert.deepEqual(limits.limitFor('10.1.2.3'), { datagramsPerSecond: 50, burst: 500 }, 'the first override wins over the tenant one');
  assert.deepEqual(limits.limitFor('::ffff:10.1.2.3'), { datagramsPerSecond: 50, burst: 500 });
  assert.deepEqual(limits.limitFor('2001:db8::7'), { datagramsPerSecond: 50, burst: 500 });
  assert.equal(limits.limitFor('10.1.9.9'), null, 'acme\'s exporters: no limit (before the /16 override)');
  assert.deepEqual(limits.limitFor('192.0.2.9'), { datagramsPerSecond: 7, burst: 7 });
  assert.deepEqual(limits.limitFor('192.0.2.10'), { datagramsPerSecond: 1000, burst: 1000 }, 'the default');
  assert.deepEqual(limits.limitFor('not an address'), { datagramsPerSecond: 1000, burst: 1000 });
});

test('a bucket lets the burst through at once, then the rate, never more than the burst after a pause', () => {
  const b = bucketFor({ datagramsPerSecond: 100, burst: 3 }, 1_000);
  assert.deepEqual([1, 2, 3, 4].map(() => takeToken(b, 1_000)), [true, true, true, false]);
  assert.equal(takeToken(b, 1_009), false, '9 ms at 100/s is 0.9 of a token');
  assert.equal(takeToken(b, 1_010), true, '10 ms is one');
  assert.equal(takeToken(b, 1_010), false);
  assert.deepEqual([1, 2, 3, 4].map(() => takeToken(b, 60_000)), [true, true, true, false], 'a long pause refills up to the burst only');
  assert.equal(takeToken(b, 59_000), false, 'a clock that steps back adds nothing');
});

test('per-exporter counts: the first MAX_LABELLED exporters by name, the rest as "other"', () => {
  const counts = new LimitedCounts();
  for (let i = 0; i < MAX_LABELLED + 5; i++) counts.counterFor(`192.0.2.${i}`).count += 2;
  counts.counterFor('192.0.2.0').count++;
  const entries = counts.entries();
  assert.equal(entries.length, MAX_LABELLED + 1);
  assert.deepEqual(entries[0], { exporter: '192.0.2.0', count: 3 });
  assert.deepEqual(entries.at(-1), { exporter: 'other', count: 10 });
});

function ringSet(slots: number): RingSet & { ring0: PacketRing } {
  const ring0 = PacketRing.create({ slots, slotBytes: 64 });
  return { ring0, ring: () => ring0, workerFor: () => 0 };
}

async function sendFrom(from: string, to: number, count: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  for (let i = 0; i < count; i++) await new Promise<void>((resolve, reject) => socket.send(Buffer.from(`d${i}`), to, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  socket.close();
}

test('the receiver drops datagrams over an exporter\'s limit before its ring, counts them in total and by exporter; others keep their rate', async () => {
  const rings = ringSet(1024);
  const receiver = new UdpReceiver(['127.0.0.1:0'], 1 << 20, rings, log);
  receiver.setRateLimits(RateLimits.of(parseConfig(`admission: { rate_limit: { datagrams_per_s: 1, burst: 5, overrides: [{ exporters: ["127.0.2.2"], datagrams_per_s: 0 }] } }`)));
  const [bound] = await receiver.start();
  try {
    const started = Date.now();
    await sendFrom('127.0.2.1', bound!.port, 40);
    await sendFrom('127.0.2.2', bound!.port, 40);
    while (receiver.stats.datagrams < 80) await new Promise((r) => setTimeout(r, 5));
    // One token a second: the burst of 5, and at most one more per second the sends took.
    const allowed = 5 + Math.floor((Date.now() - started) / 1000);
    const passed = 40 - receiver.stats.dropped.rate_limited;
    assert.ok(passed >= 5 && passed <= allowed, `${passed} of the limited exporter's datagrams passed, at most ${allowed} may`);
    assert.equal(rings.ring0.length, passed + 40, 'the unlimited exporter lost nothing');
    assert.deepEqual(receiver.limitedByExporter.entries(), [{ exporter: '127.0.2.1', count: 40 - passed }]);
  } finally {
    await receiver.stop();
  }
});

test('a gateway: a noisy exporter is cut to its limit while a real exporter on the same worker delivers every record', async (t) => {
  const datagrams = readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
  const expected = expectedRecords(datagrams).full;
  const topics = { real: uniqueTopic('flows.real'), noisy: uniqueTopic('flows.noisy') };
  const gw = new GatewayProcess(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
admission:
  rate_limit:
    datagrams_per_s: 100
    burst: 200
    overrides: [{ tenant: real, datagrams_per_s: 0 }]
routing:
  tenants:
    - { name: real, topic: ${topics.real}, exporters: ["127.0.0.1"] }
    - { name: noisy, topic: ${topics.noisy}, exporters: ["127.0.3.1"] }
stats: { log_interval_s: 0 }
`);
  t.after(() => gw.dispose());
  const udp = (await gw.ready()).udp.v4!;
  const real = await exporterSocket(t);
  const noisy = await exporterSocket(t, '127.0.3.1');
  // The noisy exporter sends the same capture ten times over, interleaved with the real one's.
  const noisyCopies = 10;
  await Promise.all([
    send(real, udp, datagrams, (m) => m),
    (async () => { for (let i = 0; i < noisyCopies; i++) await send(noisy, udp, datagrams, (m) => m); })(),
  ]);
  assert.equal(await waitForCount(testBrokers(), topics.real, expected), expected, 'the real exporter delivered every record');
  const sent = datagrams.length * (1 + noisyCopies);
  const m = await gw.metricsWhen('every datagram received and decoded or dropped', (s) =>
    s.get('flowgate_datagrams_received_total') === sent
    && s.get('flowgate_datagrams_decoded_total')! + s.get('flowgate_datagrams_dropped_total{reason="rate_limited"}')! === sent);
  const limited = m.get('flowgate_datagrams_dropped_total{reason="rate_limited"}')!;
  assert.ok(limited > 0, 'the noisy exporter went over its limit');
  assert.equal(m.get('flowgate_exporter_datagrams_rate_limited_total{exporter="127.0.3.1"}'), limited, 'all of it the noisy exporter\'s');
  assert.equal(m.get('flowgate_exporter_datagrams_rate_limited_total{exporter="127.0.0.1"}'), undefined);
  assert.ok(total(m, 'flowgate_datagrams_decoded_total') >= datagrams.length + 200, 'the noisy one still got its burst through');
  assert.equal((await gw.stop('SIGTERM')).code, 0);
  const a = gw.accounting();
  assert.equal(a.datagrams.received, a.datagrams.decoded + a.datagrams.dropped.rate_limited);
  assert.equal(a.records.decoded, a.records.delivered, 'every record of an admitted datagram delivered');
});
