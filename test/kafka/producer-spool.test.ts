// The producer with a disk spool, against a scripted broker that can be taken down and brought
// back (a real broker outage is test/integration/spool-outage.test.ts): batches that cannot be
// delivered go to the spool, come back in order once the broker answers, leave the spool only
// when acknowledged, survive a producer that closes while the broker is away, and the spool's
// bound drops exactly what does not fit. The accounting balances at every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { segmentName } from '../../src/spool/format.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordProducer, type KafkaSettings } from '../../src/kafka/producer.js';
import type { PartitionResult, ProduceClient, ProduceTopic } from '../../src/kafka/client.js';
import { encodeHeaders } from '../../src/kafka/protocol/record-batch.js';
import { createLogger } from '../../src/log.js';
import { decoderOutput } from '../support/decoder-output.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  producerId: string; firstSequence: number; records: { value: Buffer }[];
}>;

/** A one-partition broker that checks sequences as Kafka does, and can be down. */
class OutageBroker implements ProduceClient {
  connected = false;
  down = false;
  readonly log: string[] = [];
  #producerIds = 0n;
  readonly #next = new Map<bigint, number>();

  async connect(): Promise<void> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    this.connected = true;
  }
  async loadTopics(): Promise<void> {
    if (this.down) throw Object.assign(new Error('connection lost'), { name: 'KafkaJSConnectionError' });
  }
  partitionCount(): number {
    return 1;
  }
  leaderOf(): number {
    return this.connected ? 1 : -1;
  }
  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    if (this.down) throw Object.assign(new Error('connection lost'), { name: 'KafkaJSConnectionError' });
    const id = ++this.#producerIds;
    this.#next.set(id, 0);
    return { producerId: id, producerEpoch: 0 };
  }
  async disconnect(): Promise<void> {
    this.connected = false;
  }
  async produce(_node: number, _acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]> {
    const copy = Buffer.from(topics[0]!.partitions[0]!.batch);
    await new Promise((r) => setTimeout(r, 1));
    if (this.down) {
      this.connected = false;
      throw Object.assign(new Error('connection reset'), { name: 'KafkaJSConnectionError' });
    }
    const decoded = await decodeBatch(new Decoder(copy));
    const id = BigInt(decoded.producerId);
    const result = (type: string): PartitionResult[] => [{ topic: topics[0]!.topic, partition: 0, errorCode: type === 'NONE' ? 0 : 1, type, retriable: false }];
    if (!this.#next.has(id)) return result('UNKNOWN_PRODUCER_ID');
    if (decoded.firstSequence !== this.#next.get(id)) return result('OUT_OF_ORDER_SEQUENCE_NUMBER');
    for (const r of decoded.records) this.log.push(r.value.toString());
    this.#next.set(id, decoded.firstSequence + decoded.records.length);
    return result('NONE');
  }
}

const base: KafkaSettings = {
  brokers: ['127.0.0.1:1'], client_id: 'test', request_timeout_ms: 1000, connection_timeout_ms: 1000, retries: 3, ssl: false, sasl: null,
  acks: -1, idempotent: true, compression: 'none', linger_ms: 1, batch_max_records: 40, batch_max_bytes: 1 << 20,
  queue_max_records: 1_000_000, queue_max_bytes: 1 << 30, flush_timeout_ms: 3_000, max_in_flight: 5, sink: 'kafka',
};

interface Tally {
  delivered: number;
  dropped: Record<string, number>;
  spooled: number;
  recovered: number;
}

function producerFor(broker: OutageBroker, dir: string, maxBytes = 1 << 30, adopt: string[] = []): { producer: RecordProducer; tally: Tally } {
  const tally: Tally = { delivered: 0, dropped: {}, spooled: 0, recovered: 0 };
  const producer = new RecordProducer({ ...base, spool: { dir, adopt, maxBytes, fsyncIntervalMs: 100, segmentBytes: 64 << 10, queueHighWater: 0.75 } }, {
    delivered: (_t, _topic, n) => { tally.delivered += n; },
    dropped: (reason, _t, n) => { tally.dropped[reason] = (tally.dropped[reason] ?? 0) + n; },
    spooled: (delta) => { tally.spooled += delta; },
    recovered: (n) => { tally.recovered += n; },
    error: () => undefined,
  }, createLogger('error'), broker);
  producer.start(['flows']);
  return { producer, tally };
}

const headers = encodeHeaders({ schema: '1' });
let serial = 0;
/** Offers one datagram of 25 records; returns their values. */
function offer(producer: RecordProducer): string[] {
  const values = Array.from({ length: 25 }, () => `{"n":${serial++}}`);
  const { output, index } = decoderOutput(values);
  producer.appendRecords('flows', 'acme', null, -1, output, index, values.length, headers, Date.now());
  return values;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-producer-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('an outage: batches go to the spool, come back in order once the broker answers, and leave it only when acknowledged', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  const { producer, tally } = producerFor(broker, dir);
  const sent: string[] = [];
  for (let d = 0; d < 20; d++) sent.push(...offer(producer));
  await until(() => tally.delivered === 500, 'the first records delivered');
  broker.down = true;
  for (let d = 0; d < 40; d++) {
    sent.push(...offer(producer));
    await sleep(5);
  }
  await until(() => producer.queuedRecords === 0, 'the memory queue moved to the spool');
  assert.equal(tally.spooled, 1000, 'every record of the outage is in the spool, none in memory');
  assert.equal(producer.spooledRecords, 1000);
  assert.equal(tally.delivered, 500);
  broker.down = false;
  // Live traffic goes on while the spool replays.
  for (let d = 0; d < 20; d++) {
    sent.push(...offer(producer));
    await sleep(2);
  }
  await until(() => tally.delivered === sent.length, 'everything delivered');
  assert.equal(tally.spooled, 0, 'the spool is empty again');
  assert.equal(producer.spooledRecords, 0);
  assert.deepEqual(broker.log, sent, 'every record once, in order');
  assert.deepEqual(tally.dropped, {});
  const stats = producer.spoolStats()!;
  // Live batches sealed while the partition still had spooled entries went behind them, through the spool.
  assert.ok(stats.written >= 1000, `written ${stats.written}`);
  assert.equal(stats.replayed, stats.written, 'everything written was replayed');
  await producer.close();
});

test('closing while the broker is down spools what is queued; the next producer on the spool delivers it', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  broker.down = true;
  const first = producerFor(broker, dir);
  // Metadata was never loaded: records wait staged, then (left at close) count as shutdown.
  // Load it first, then take the broker away.
  broker.down = false;
  await until(() => first.producer.connected, 'connected');
  const sent: string[] = [];
  sent.push(...offer(first.producer));
  await until(() => first.tally.delivered === 25, 'the first datagram delivered');
  broker.down = true;
  for (let d = 0; d < 30; d++) sent.push(...offer(first.producer));
  const started = Date.now();
  await first.producer.close();
  assert.ok(Date.now() - started < base.flush_timeout_ms, 'a broker that is down is not waited for');
  assert.equal(first.tally.spooled, 750, 'what was queued is in the spool');
  assert.deepEqual(first.tally.dropped, {});
  assert.equal(first.tally.delivered + first.tally.spooled, sent.length, 'identity: delivered + spooled = taken in');

  broker.down = false;
  const second = producerFor(broker, dir);
  assert.equal(second.tally.recovered, 750, 'the spool held the first run\'s records');
  await until(() => second.tally.delivered === 750, 'the spool delivered');
  assert.deepEqual(broker.log, sent);
  await second.producer.close();
  assert.equal(second.tally.recovered + second.tally.spooled, 0, 'the spool holds nothing any more');
  assert.equal(second.producer.spooledRecords, 0);
});

test('a spool too small for the outage drops exactly what does not fit, as spool_full', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  const { producer, tally } = producerFor(broker, dir, 12_000);
  await until(() => producer.connected, 'connected');
  broker.down = true;
  const sent: string[] = [];
  for (let d = 0; d < 40; d++) {
    sent.push(...offer(producer));
    await sleep(3);
  }
  await until(() => producer.queuedRecords === 0, 'the memory queue emptied into the spool');
  const full = tally.dropped.spool_full ?? 0;
  assert.ok(full > 0 && full < sent.length, `spool_full ${full}`);
  assert.equal(tally.spooled + full, sent.length, 'identity: spooled + spool_full = taken in');
  broker.down = false;
  await until(() => tally.delivered === sent.length - full, 'the spooled records delivered');
  assert.equal(broker.log.length, sent.length - full);
  // What was delivered is in order, and is what was not dropped.
  const order = broker.log.map((v) => sent.indexOf(v));
  assert.ok(order.every((x, i) => x >= 0 && (i === 0 || x > order[i - 1]!)), 'in order, each once');
  await producer.close();
});

test('a worker about to die evacuates its memory queue to the spool; the next producer delivers it', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  const first = producerFor(broker, dir);
  await until(() => first.producer.connected, 'connected');
  // A slow broker: batches wait in memory (not spooled: the partition is available, the queue low).
  const slow = broker.produce.bind(broker);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  broker.produce = async (...args) => { await gate; return slow(...args); };
  const sent: string[] = [];
  for (let d = 0; d < 10; d++) sent.push(...offer(first.producer));
  await sleep(50);
  assert.equal(first.producer.queuedRecords, 250, 'all in memory, some in flight');
  first.producer.evacuate();
  assert.equal(first.tally.spooled, 250, 'everything went to the spool, in flight included');
  release();
  broker.produce = slow;
  const second = producerFor(broker, dir);
  assert.equal(second.tally.recovered, 250);
  await until(() => second.tally.delivered >= 250, 'the spool delivered');
  // The batches that were in flight may have been written by the first producer too: at least once.
  for (const v of sent) assert.ok(broker.log.includes(v), `${v} delivered`);
  await second.producer.close();
});

test('the spool of a worker that no longer exists is adopted: replayed before the adopter\'s own entries, then removed', async (t) => {
  const root = tempDir(t);
  const formerDir = join(root, 'worker-3');
  const ownDir = join(root, 'worker-1');
  const broker = new OutageBroker();
  // The former worker spools 250 records and closes with the broker down.
  const former = producerFor(broker, formerDir);
  await until(() => former.producer.connected, 'connected');
  broker.down = true;
  const sent: string[] = [];
  for (let d = 0; d < 10; d++) sent.push(...offer(former.producer));
  await former.producer.close();
  assert.equal(former.tally.spooled, 250);
  // The adopter starts with the broker back and takes 100 records of its own at once: they go
  // behind the adopted entries of the same partition.
  broker.down = false;
  const adopter = producerFor(broker, ownDir, 1 << 30, [formerDir]);
  assert.equal(adopter.tally.recovered, 250, 'the adopted spool counts as recovered');
  await until(() => adopter.producer.connected, 'connected');
  for (let d = 0; d < 4; d++) sent.push(...offer(adopter.producer));
  await until(() => adopter.tally.delivered === 350, 'both spools delivered');
  assert.deepEqual(broker.log, sent, 'the former worker\'s (older) records first, each once');
  await until(() => !existsSync(formerDir), 'the adopted directory removed once empty');
  assert.equal(adopter.producer.spooledRecords, 0);
  await adopter.producer.close();
});

test('a producer that starts while the broker is down spools what it takes in; it gets its partitions once the broker is back', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  broker.down = true;
  const { producer, tally } = producerFor(broker, dir);
  const sent: string[] = [];
  for (let d = 0; d < 12; d++) {
    sent.push(...offer(producer));
    await sleep(5);
  }
  await until(() => producer.queuedRecords === 0, 'what came in before any metadata is in the spool');
  assert.equal(tally.spooled, 300);
  broker.down = false;
  await until(() => tally.delivered === 300, 'delivered once the broker answers');
  assert.deepEqual(broker.log, sent);
  assert.equal(producer.spooledRecords, 0);
  await producer.close();
});

test('an entry damaged on disk after it was spooled is dropped as spool_corrupt when read back; the rest is delivered', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  const { producer, tally } = producerFor(broker, dir);
  await until(() => producer.connected, 'connected');
  broker.down = true;
  const sent: string[] = [];
  for (let d = 0; d < 8; d++) {
    sent.push(...offer(producer));
    await sleep(5);
  }
  await until(() => producer.queuedRecords === 0, 'everything spooled');
  // Flip a byte inside the first entry's payload (after the 16-byte segment header and its frame).
  const segment = readdirSync(dir).filter((n) => n.endsWith('.seg')).sort()[0]!;
  const bytes = readFileSync(join(dir, segment));
  bytes[16 + 8 + 120]! ^= 0x40;
  writeFileSync(join(dir, segment), bytes);
  broker.down = false;
  await until(() => tally.delivered + (tally.dropped.spool_corrupt ?? 0) === sent.length, 'everything settled');
  const corrupt = tally.dropped.spool_corrupt ?? 0;
  assert.ok(corrupt > 0 && corrupt < sent.length, `spool_corrupt ${corrupt}`);
  assert.equal(broker.log.length, sent.length - corrupt, 'every record not counted corrupt is delivered');
  assert.equal(producer.spooledRecords, 0);
  assert.equal(producer.spoolStats()!.corruptEntries, 1);
  await producer.close();
});

test('a disk error with nowhere else to go: exactly the refused batch is dropped as spool_error, the rest spooled and delivered', async (t) => {
  const dir = tempDir(t);
  const broker = new OutageBroker();
  broker.down = true; // no metadata ever: the records can only be spooled
  const { producer, tally } = producerFor(broker, dir);
  // Once the spool is open (recovery would read it): its first segment is /dev/full, whose writes
  // fail (ENOSPC). The spool removes the failed segment, so the batches after that one get a real file.
  symlinkSync('/dev/full', join(dir, segmentName(1)));
  const sent: string[] = [];
  for (let d = 0; d < 4; d++) {
    sent.push(...offer(producer));
    await sleep(5);
  }
  await until(() => producer.queuedRecords === 0, 'the queue settled');
  const refused = tally.dropped.spool_error ?? 0;
  assert.ok(refused > 0 && refused < sent.length, `spool_error ${refused}`);
  const spooled = tally.spooled;
  assert.equal(refused + spooled, sent.length, 'identity: spool_error + spooled = taken in');
  broker.down = false;
  await until(() => tally.delivered === spooled, 'the spooled records delivered');
  assert.deepEqual(broker.log, sent.slice(refused), 'the refused batch was the first; the rest arrives in order');
  await producer.close();
});
