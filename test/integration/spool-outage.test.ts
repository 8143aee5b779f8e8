// Nothing lost while Kafka is away: a real gateway process, real UDP, and a broker of the test's
// own (the project's Kafka, scripts/kafka.js) stopped and started again mid-stream. Every record
// carries a unique id (its octet count), so what Kafka holds afterwards is compared with what was
// sent as a multiset. The accounting identity is checked from /metrics and the final log record:
//   decoded + recovered = delivered + dropped + queued + spooled
// The outage is sized for CI (OUTAGE_RATE, OUTAGE_SECONDS, OUTAGE_DOWN_AT, OUTAGE_UP_AT override
// it; the 90 s run is OUTAGE_SECONDS=90 OUTAGE_DOWN_AT=15 OUTAGE_UP_AT=60 OUTAGE_RATE=20000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayProcess } from '../support/gateway-process.js';
import { startPrivateBroker, type PrivateBroker } from '../support/broker.js';
import { readTopic, topicCounts, uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { sumOf, total } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';
import { httpGet } from '../support/http.js';
import { Spool } from '../../src/spool/spool.js';
import { BatchBuilder, encodeHeaders } from '../../src/kafka/protocol/record-batch.js';

const RECORDS_PER_DATAGRAM = 25;
const env = (name: string, dflt: number): number => (process.env[name] ? Number(process.env[name]) : dflt);

/** IPFIX messages from 127.0.0.1, each with its template and 25 records whose octet count is a unique id. */
class FlowSender {
  readonly socket: Socket = createSocket('udp4');
  sent = 0;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  constructor(readonly port: number) {}

  datagram(): Buffer {
    const b = Buffer.alloc(16 + 20 + 4 + RECORDS_PER_DATAGRAM * 16);
    b.writeUInt16BE(10, 0);
    b.writeUInt16BE(b.length, 2);
    b.writeUInt32BE(Math.floor(Date.now() / 1000), 4);
    b.writeUInt32BE(this.#seq, 8);
    b.writeUInt32BE(0, 12);
    // Template set: id 256, sourceIPv4Address, destinationIPv4Address, octetDeltaCount.
    b.writeUInt16BE(2, 16);
    b.writeUInt16BE(20, 18);
    b.writeUInt16BE(256, 20);
    b.writeUInt16BE(3, 22);
    [[8, 4], [12, 4], [1, 8]].forEach(([id, len], i) => {
      b.writeUInt16BE(id!, 24 + i * 4);
      b.writeUInt16BE(len!, 26 + i * 4);
    });
    b.writeUInt16BE(256, 36);
    b.writeUInt16BE(4 + RECORDS_PER_DATAGRAM * 16, 38);
    for (let i = 0; i < RECORDS_PER_DATAGRAM; i++) {
      const at = 40 + i * 16;
      b.writeUInt32BE(0x0a000001, at);
      b.writeUInt32BE(0x0a000002, at + 4);
      b.writeBigUInt64BE(BigInt(this.sent + i), at + 8);
    }
    this.sent += RECORDS_PER_DATAGRAM;
    this.#seq += RECORDS_PER_DATAGRAM;
    return b;
  }

  /** Sends `rate` records/s in 10 ms ticks until stop(). */
  start(rate: number): void {
    const perTick = Math.max(1, Math.round(rate / 100 / RECORDS_PER_DATAGRAM));
    this.#timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.socket.send(this.datagram(), this.port, '127.0.0.1');
    }, 10);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  close(): void {
    this.stop();
    this.socket.close();
  }
}

function config(brokers: string, topic: string, spoolDir: string, extra = ''): string {
  return `
listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka:
  brokers: ["${brokers}"]
  linger_ms: 5
  queue_max_records: 20000
  flush_timeout_ms: 5000
  connection_timeout_ms: 500
  request_timeout_ms: 3000
spool:
  dir: ${spoolDir}
${extra}
routing: { default_topic: ${topic}, unknown_exporters: default }
stats: { log_interval_s: 0 }
`;
}

/**
 * The ids (octet counts) of a topic's records: how often each was delivered. Reads the whole topic
 * (at least `expected` records): a record delivered twice (at least once: a request the broker
 * wrote but never answered before it went down is spooled and sent again) must not stop the read
 * before the last ones.
 */
async function idsIn(brokers: string, topic: string, sent: number, expected: number): Promise<Uint16Array> {
  const seen = new Uint16Array(sent);
  const held = await waitForCount([brokers], topic, expected, 120_000); // what the topic holds, duplicates too
  for (const m of await readTopic([brokers], topic, Math.max(expected, held), 120_000)) {
    const id = Number((JSON.parse(m.value) as { bytes: number | string }).bytes);
    assert.ok(id >= 0 && id < sent, `record id ${id} was never sent`);
    seen[id]!++;
  }
  return seen;
}

interface Identity { decoded: number; recovered: number; delivered: number; dropped: number; queued: number; spooled: number }

async function identity(gw: GatewayProcess): Promise<Identity> {
  const m = await gw.metrics();
  return {
    decoded: total(m, 'flowgate_records_received_total'), recovered: total(m, 'flowgate_spool_recovered_records_total'),
    delivered: sumOf(m, 'flowgate_records_delivered_total'), dropped: sumOf(m, 'flowgate_records_dropped_total'),
    queued: sumOf(m, 'flowgate_kafka_queue_records'), spooled: total(m, 'flowgate_spool_records'),
  };
}

function balanced(i: Identity): boolean {
  return i.decoded + i.recovered === i.delivered + i.dropped + i.queued + i.spooled;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withBroker(t: { after(fn: () => Promise<void>): void }, port: number): Promise<PrivateBroker> {
  const broker = await startPrivateBroker({ port, controllerPort: port + 1 });
  t.after(() => broker.dispose());
  return broker;
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-spool-it-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a broker outage mid-stream: every record sent is in Kafka afterwards, through the spool; the identity is exact', { timeout: 600_000 }, async (t) => {
  const rate = env('OUTAGE_RATE', 10_000);
  const seconds = env('OUTAGE_SECONDS', 30);
  const downAt = env('OUTAGE_DOWN_AT', 5);
  const upAt = env('OUTAGE_UP_AT', 20);
  const broker = await withBroker(t, 19292);
  const topic = uniqueTopic('spool-outage');
  const gw = new GatewayProcess(config(broker.bootstrap, topic, tempDir(t)));
  t.after(() => gw.dispose());
  const ports = await gw.ready();
  const sender = new FlowSender(ports.udp.v4!);
  t.after(() => sender.close());
  const started = Date.now();
  sender.start(rate);
  await sleep(downAt * 1000);
  await broker.stop();
  const downFor = (upAt - downAt) * 1000;
  await sleep(downFor / 2);
  // Half-way through the outage the records are on disk, not in memory.
  const during = await identity(gw);
  assert.ok(during.spooled > 0, `spooled during the outage: ${JSON.stringify(during)}`);
  // (The identity is checked once the stream stopped: a scrape reads its series one after another,
  // so with records flowing they are not one instant's.)
  const api = JSON.parse((await httpGet(`${gw.base}/api/spool`)).body) as { enabled: boolean; records: number; bytes: number; workers: { records: number }[] };
  assert.equal(api.enabled, true);
  assert.ok(api.records >= during.spooled && api.bytes > 0, `/api/spool shows the spool: ${JSON.stringify(api)}`);
  assert.equal(api.workers.length, 1);
  await sleep(downFor / 2);
  await broker.start();
  await sleep(Math.max(0, seconds * 1000 - (Date.now() - started)));
  sender.stop();
  const sent = sender.sent;
  const done = await waitUntil('every record delivered', async () => {
    const i = await identity(gw);
    return i.decoded === sent && i.spooled === 0 && i.queued === 0 && i.delivered + i.dropped === sent ? i : false;
  }, { timeoutMs: 180_000 });
  assert.equal(done.dropped, 0, `nothing dropped: ${JSON.stringify(done)}`);
  const m = await gw.metrics();
  assert.ok(total(m, 'flowgate_spool_written_records_total') > 0, 'the spool was used');
  assert.equal(total(m, 'flowgate_spool_replayed_records_total'), total(m, 'flowgate_spool_written_records_total'), 'all it held was replayed');
  const seen = await idsIn(broker.bootstrap, topic, sent, sent);
  const missing = seen.reduce((n, c) => n + (c === 0 ? 1 : 0), 0);
  const duplicates = seen.reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0);
  assert.equal(missing, 0, `every record sent is in Kafka (${duplicates} delivered twice)`);
  t.diagnostic(`${sent} records at ${rate}/s, broker down ${downAt}-${upAt} s: ${total(m, 'flowgate_spool_written_records_total')} spooled and replayed, ${duplicates} duplicates`);
  assert.equal((await gw.stop()).code, 0);
  const final = gw.accounting();
  assert.equal(final.records.decoded, sent);
});

test('a spool too small for the outage: exactly what did not fit is counted spool_full, every other record is delivered', { timeout: 300_000 }, async (t) => {
  const broker = await withBroker(t, 19294);
  const topic = uniqueTopic('spool-full');
  const gw = new GatewayProcess(config(broker.bootstrap, topic, tempDir(t), '  max_bytes: 1048576\n  segment_bytes: 1048576'));
  t.after(() => gw.dispose());
  const ports = await gw.ready();
  const sender = new FlowSender(ports.udp.v4!);
  t.after(() => sender.close());
  sender.start(10_000);
  await sleep(2_000);
  await broker.stop();
  await sleep(10_000);
  await broker.start();
  await sleep(3_000);
  sender.stop();
  const sent = sender.sent;
  const done = await waitUntil('every record settled', async () => {
    const i = await identity(gw);
    return i.decoded === sent && i.spooled === 0 && i.queued === 0 && i.delivered + i.dropped === sent ? i : false;
  }, { timeoutMs: 120_000 });
  const m = await gw.metrics();
  const full = total(m, 'flowgate_records_dropped_total{reason="spool_full"}');
  assert.ok(full > 0, 'the spool filled');
  assert.equal(done.dropped, full, 'spool_full is the only drop');
  const seen = await idsIn(broker.bootstrap, topic, sent, sent - full);
  const delivered = seen.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  assert.equal(delivered, sent - full, 'every record not counted spool_full is in Kafka');
  assert.equal((await gw.stop()).code, 0);
});

test('kill -9 while the broker is down and the spool holds records: a new gateway delivers them once the broker is back', { timeout: 300_000 }, async (t) => {
  const broker = await withBroker(t, 19296);
  const topic = uniqueTopic('spool-kill');
  const spoolDir = tempDir(t);
  const first = new GatewayProcess(config(broker.bootstrap, topic, spoolDir));
  t.after(() => first.dispose());
  const ports = await first.ready();
  const sender = new FlowSender(ports.udp.v4!);
  t.after(() => sender.close());
  sender.start(5_000);
  await sleep(1_000);
  await broker.stop();
  await sleep(3_000);
  sender.stop();
  const sent = sender.sent;
  // Wait until all is settled in memory: delivered before the outage, or spooled.
  let last: Identity | undefined;
  const before = await waitUntil('the queue moved to the spool', async () => {
    const i = (last = await identity(first));
    return i.decoded === sent && i.queued === 0 && i.spooled > 0 ? i : false;
  }, { timeoutMs: 30_000, last: () => ({ sent, ...last }) });
  await first.stop('SIGKILL');

  // The broker is still down when the next gateway starts: it recovers the spool and waits.
  const second = new GatewayProcess(config(broker.bootstrap, topic, spoolDir));
  t.after(() => second.dispose());
  await second.waitFor('ready');
  await second.waitFor('spool recovered', { match: (e) => e.records === before.spooled });
  await broker.start();
  await second.ready();
  await waitUntil('the spool delivered', async () => ((await identity(second)).delivered === before.spooled ? true : false), { timeoutMs: 120_000 });
  const after = await identity(second);
  assert.equal(after.recovered, before.spooled);
  assert.equal(after.spooled, 0);
  assert.ok(balanced(after));
  const seen = await idsIn(broker.bootstrap, topic, sent, sent);
  const duplicates = seen.reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0);
  assert.equal(seen.reduce((n, c) => n + (c === 0 ? 1 : 0), 0), 0, `every record sent is in Kafka (${duplicates} delivered twice)`);
  t.diagnostic(`${sent} records, ${before.spooled} spooled before the kill and delivered by the next gateway, ${duplicates} duplicates`);
  assert.equal((await second.stop()).code, 0);
});

test('a spool with a torn tail: the gateway starts, cuts and counts it, and delivers the entries before it', { timeout: 120_000 }, async (t) => {
  const broker = await withBroker(t, 19298);
  const topic = uniqueTopic('spool-torn');
  const spoolDir = tempDir(t);
  // Two good entries of two records each, then half an entry (a crash mid-write).
  const spool = Spool.open(join(spoolDir, 'worker-0'), { maxBytes: 1 << 30, fsyncIntervalMs: 0, segmentBytes: 1 << 20 });
  const headers = encodeHeaders({ schema: '1', exporter: '192.0.2.1' });
  for (let e = 0; e < 2; e++) {
    const builder = new BatchBuilder(1 << 20);
    for (let r = 0; r < 2; r++) {
      const value = Buffer.from(JSON.stringify({ dvc: '192.0.2.1', bytes: e * 2 + r }));
      builder.append(null, 0, -1, value, 0, value.length, headers, Date.now());
    }
    spool.append({ topic, partition: 0, records: 2, messages: 2, firstReceivedAt: Date.now(), baseTimestamp: builder.baseTimestamp,
      maxTimestamp: builder.maxTimestamp, tenants: [{ name: '_unknown', records: 2 }] }, builder.records());
  }
  spool.close();
  const segment = readdirSync(join(spoolDir, 'worker-0')).find((n) => n.endsWith('.seg'))!;
  appendFileSync(join(spoolDir, 'worker-0', segment), Buffer.from([0x50, 0, 0, 0, 1, 2, 3, 4, 5, 6]));

  const gw = new GatewayProcess(config(broker.bootstrap, topic, spoolDir));
  t.after(() => gw.dispose());
  await gw.ready();
  const damage = await gw.waitFor('spool damage found and cut off');
  assert.match(String(damage.problem), /torn entry/);
  await waitUntil('the good entries delivered', async () => ((await identity(gw)).delivered === 4 ? true : false));
  const m = await gw.metrics();
  assert.equal(total(m, 'flowgate_spool_corrupt_entries_total'), 1);
  assert.equal(total(m, 'flowgate_spool_recovered_records_total'), 4);
  assert.equal((await topicCounts([broker.bootstrap], [topic]))[topic], 4);
  assert.equal((await gw.stop()).code, 0);
});
