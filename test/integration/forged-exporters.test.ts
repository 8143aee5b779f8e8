// Forged source addresses against a tenant's exporter, through a real gateway: many loopback
// sources that no tenant owns keep the decoder's session table full (decoder.max_sessions 16)
// while the tenant's exporter sends a real capture slowly, so that between two of its datagrams
// far more than 16 forged sessions are created. The tenant's exporter is protected (a tenant
// owns it; no admission section at all): its session is never evicted, every record of the
// capture is delivered, and the forged sessions are evicted instead, each eviction counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { capturePath, flows, replayAsync, truth } from '../support/corpus.js';
import { readDatagrams } from '../state/capture-split.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';

const MAX_SESSIONS = 16;
const FORGED_SOURCES = 64;
/** The tenant's exporter: the original source of the capture it replays. */
const TENANT_CAPTURE = 'softflowd_v9_mixed';
const TENANT_EXPORTER = '127.0.0.3';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function boundSocket(t: { after(fn: () => unknown): void }, address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

function sendTo(socket: Socket, payload: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

test('forged exporters that keep the decoder\'s session table full cost a tenant\'s exporter nothing: its capture is delivered whole, the forged sessions are evicted and counted', async (t) => {
  const topic = uniqueTopic('protected');
  const gw = new GatewayProcess(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
decoder: { max_sessions: ${MAX_SESSIONS} }
routing:
  default_topic: ${uniqueTopic('forged')}
  unknown_exporters: drop
  tenants:
    - { name: acme, topic: ${topic}, exporters: ["${TENANT_EXPORTER}"] }
stats: { log_interval_s: 0 }
`);
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();
  const port = udp.v4!;

  // Forged exporters 127.0.200.1 to .64, each sending a real exporter's datagrams (templates and data) as its own.
  const forgedDatagrams = readDatagrams(capturePath('softflowd_v10_mixed')).map((d) => d.payload);
  const forged = await Promise.all(Array.from({ length: FORGED_SOURCES }, (_, i) => boundSocket(t, `127.0.200.${i + 1}`)));
  let round = 0;
  const forgedRound = () => Promise.all(forged.map((s) => sendTo(s, forgedDatagrams[round % forgedDatagrams.length]!, port))).then(() => round++);
  for (let i = 0; i < 4; i++) await forgedRound();
  await gw.metricsWhen('the forged sources fill the session table', (m) =>
    m.get('flowgate_exporters') === MAX_SESSIONS && (m.get('flowgate_sessions_evicted_total') ?? 0) > 0);

  // The tenant's exporter at 50 datagrams/s, with a forged round (64 new sessions) every 5 ms meanwhile.
  let replaying = true;
  const replay = replayAsync(TENANT_CAPTURE, `127.0.0.1:${port}`, { bindOriginal: true, pps: 50 }).finally(() => (replaying = false));
  while (replaying) {
    await forgedRound();
    await sleep(5);
  }
  await replay;

  const expected = flows(truth(TENANT_CAPTURE), [TENANT_EXPORTER]).length;
  const tenantDatagrams = readDatagrams(capturePath(TENANT_CAPTURE)).length;
  const sent = round * FORGED_SOURCES + tenantDatagrams;
  const delivered = `flowgate_records_delivered_total{tenant="acme",topic="${topic}"}`;
  const m = await gw.metricsWhen(`every datagram sent received and decoded, the tenant's ${expected} records delivered`, (x) =>
    x.get('flowgate_datagrams_received_total') === sent
    && x.get('flowgate_datagrams_decoded_total')! + x.get('flowgate_datagrams_dropped_total{reason="ring_full"}')! === sent
    && (x.get(delivered) ?? 0) >= expected, 30_000);
  assert.equal(m.get(delivered), expected);
  assert.equal((await readTopic(testBrokers(), topic, expected)).length, expected);
  // The forged sources take turns, 64 of them for 15 unprotected sessions: each forged datagram is
  // from a source evicted since its last one, so it creates a session, as the tenant's exporter
  // did once; every creation past the table's first 16 evicts one.
  const created = m.get('flowgate_datagrams_decoded_total')! - tenantDatagrams + 1;
  assert.equal(m.get('flowgate_sessions_evicted_total'), created - MAX_SESSIONS);
  assert.equal(m.get('flowgate_exporters'), MAX_SESSIONS);
  assert.equal(m.get('flowgate_decoder_events_total{reason="exporter_limit"}'), 0, 'no datagram refused: an unprotected session always gave way');
  assert.equal((await gw.stop('SIGTERM')).code, 0);
});
