// One RecordProducer per worker. Records are framed straight into Kafka record batches (one
// per topic partition, record-batch.ts) as the decoder hands them over: no object per record.
// A batch is sealed when full (batch_max_bytes, batch_max_records) or linger_ms after its first
// record, then sent with the other partitions' sealed batches in one Produce request per broker
// (client.ts), one request in flight per broker. Every record ends up delivered or dropped with
// a reason: a broker that is down keeps batches queued and retried; only when the queue is full
// are new records dropped ("queue_full"); errors the broker will repeat drop the batch
// ("kafka_rejected"); what is left when the flush timeout runs out at exit is "shutdown".
//
// Idempotence (kafka.idempotent): a producer id from the broker, and per partition a sequence
// number stamped on each batch when it is first sent and kept for its retries, so a retry of a
// batch the broker already wrote is recognised and not written twice.
import type { Logger } from '../log.js';
import type { RecordIndex } from '../decoder/record-index.js';
import { BatchBuilder, NO_PRODUCER, codecIds, recordViews, sealBatch, stampBatch, type ProducerStamp } from './record-batch.js';
import { partitionForKey } from './partitioner.js';
import { producerDropReasons, type ProducerDropReason } from './names.js';
import { KafkaClient, compressRecords, errorCode, supportedCompressions, type ClientSettings, type CompressionName, type PartitionResult, type ProduceClient, type ProduceTopic } from './client.js';

export { supportedCompressions };

export interface KafkaSettings extends ClientSettings {
  acks: -1 | 0 | 1;
  idempotent: boolean;
  compression: CompressionName;
  linger_ms: number;
  batch_max_records: number;
  batch_max_bytes: number;
  queue_max_records: number;
  queue_max_bytes: number;
  flush_timeout_ms: number;
  /** Produce requests in flight per broker (at most 5 with idempotence, as Kafka allows). */
  max_in_flight: number;
  /** discard: count records as delivered without sending them (benchmarks: what Kafka costs). */
  sink: 'kafka' | 'discard';
}

export { producerDropReasons, type ProducerDropReason };

export interface ProducerEvents {
  delivered(tenant: string, topic: string, records: number, latencyMs: number): void;
  dropped(reason: ProducerDropReason, tenant: string, records: number): void;
  error(code: string): void;
}

/** Codes after which the producer id must be renewed and sequences start again at 0. */
const PRODUCER_ID_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
/** Metadata is refreshed at least this often, so added partitions and moved leaders are seen. */
const METADATA_MAX_AGE_MS = 300_000;
/** Spare batch buffers kept per producer (each up to about batch_max_bytes). */
const SPARE_BUFFERS = 8;
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

interface Batch {
  builder: BatchBuilder;
  /** Flow records per tenant in this batch: usually one tenant per topic. */
  tenants: string[];
  tenantRecords: number[];
  records: number;
  /** Queue bytes this batch holds (what append() counted for its messages). */
  bytes: number;
  firstReceivedAt: number;
  /** Header + records (compressed or not) once sealed for sending; kept for retries. */
  wire: Buffer | null;
  /** Sequence stamped on the wire batch, -1 before its first send. */
  baseSequence: number;
}

interface PartitionState {
  partition: number;
  open: Batch | null;
  openedAt: number;
  /** Sealed batches in order; the first `inFlight` of them are in requests not answered yet. */
  ready: Batch[];
  inFlight: number;
  /** A batch failed while others were in flight: send one at a time, in order, until one succeeds. */
  retrying: boolean;
  /** Batches left the partition unwritten (dropped, split): renumber the rest once none is in flight. */
  resequence: boolean;
  nextSequence: number;
  /** Sequence after the last batch the broker acknowledged: where renumbering starts. */
  ackedSequence: number;
}

interface StagedRecord {
  tenant: string;
  key: Buffer | null;
  value: Buffer;
  headers: Buffer;
  records: number;
  bytes: number;
  receivedAt: number;
}

interface TopicState {
  name: string;
  partitions: PartitionState[];
  /** Partition that keyless records go to until its batch is sealed (sticky partitioning, as the Java client). */
  sticky: number;
  /** Records that arrived before the topic's metadata was known (broker down at start, new topic). */
  staged: StagedRecord[];
}

/** What #admit answers for the discard sink: counted as delivered, nothing to queue. */
const DISCARDED = Symbol('discarded');

/** Queue bytes a message counts for: its bytes plus a record's framing. */
function messageBytes(keyLength: number, valueLength: number, headersLength: number): number {
  return valueLength + headersLength + (keyLength > 0 ? keyLength : 0) + 16;
}

export class RecordProducer {
  readonly #settings: KafkaSettings;
  readonly #events: ProducerEvents;
  readonly #log: Logger;
  readonly #client: ProduceClient | null;
  readonly #topics = new Map<string, TopicState>();
  readonly #codec: number;
  #lastTopic: TopicState | undefined;
  #queuedRecords = 0;
  #queuedBytes = 0;
  #connected = false;
  #closing = false;
  #stopped = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  #stamp: ProducerStamp = NO_PRODUCER;
  #needProducerId: boolean;
  /** Topic metadata must be (re)loaded: at start, for a new topic, after a leader moved. */
  #metadataStale = true;
  #metadataAt = Date.now();
  /** Batch size cap in force: batch_max_bytes, halved each time the broker says a batch is too large. */
  #batchBytes: number;
  #stickyCounter = 0;
  /** Produce requests not answered yet, per broker, and in all. */
  readonly #requestsByLeader = new Map<number, number>();
  #requests = 0;
  readonly #outstanding = new Set<Promise<void>>();
  /** After a failed request, nothing is sent before this time (backoff). */
  #retryAt = 0;
  readonly #maxInFlight: number;
  /** Buffers of delivered batches that grew large, for the next batches: no regrowth, less garbage. */
  readonly #spare: Buffer[] = [];
  #wireChain: Promise<void> = Promise.resolve();

  /** `client`: the broker connection; tests of the retry logic pass a scripted one. */
  constructor(settings: KafkaSettings, events: ProducerEvents, log: Logger, client?: ProduceClient) {
    if (!supportedCompressions.includes(settings.compression)) {
      throw new Error(`kafka.compression "${settings.compression}" needs a codec this build does not include (use ${supportedCompressions.join(' or ')})`);
    }
    this.#settings = settings;
    this.#batchBytes = settings.batch_max_bytes;
    this.#events = events;
    this.#log = log;
    this.#codec = codecIds[settings.compression];
    this.#needProducerId = settings.idempotent;
    this.#maxInFlight = settings.max_in_flight;
    this.#client = settings.sink === 'discard' ? null : client ?? new KafkaClient(settings, log);
  }

  get queuedRecords(): number {
    return this.#queuedRecords;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Starts the send loop; `topics` (the configured ones) get their metadata loaded first. */
  start(topics: readonly string[] = []): void {
    if (!this.#client) {
      this.#connected = true;
      this.#loop = Promise.resolve();
      return;
    }
    for (const t of topics) this.#topic(t);
    this.#loop ??= this.#run();
  }

  /**
   * Queues one Kafka message holding `records` flow records: key `key[0, keyLength)` (keyLength
   * -1: no key), value `value[start, end)`, pre-encoded record `headers`. The bytes are copied, so
   * `value` may be reused at once. Returns false (and counts the records as dropped) when the
   * queue is full: the caller never waits.
   */
  append(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, value: Buffer, start: number, end: number,
    headers: Buffer, records: number, receivedAt: number): boolean {
    const size = messageBytes(keyLength, end - start, headers.length);
    const t = this.#admit(topic, tenant, records, size, receivedAt);
    if (t === null) return false;
    if (t === DISCARDED) return true;
    if (t.partitions.length === 0) {
      t.staged.push({ tenant, key: keyLength >= 0 ? Buffer.from(key!.subarray(0, keyLength)) : null, value: Buffer.from(value.subarray(start, end)), headers, records, bytes: size, receivedAt });
      return true;
    }
    this.#frame(t, tenant, key, keyLength, value, start, end, headers, records, size, receivedAt);
    return true;
  }

  /**
   * Queues `n` one-record messages straight from the decoder's output: message k's value runs
   * up to record k's end in `index` (the decoder's record index), the next one starting `index.gap` bytes later.
   * All get key `key[0, keyLength)` (or none, -1) and `headers`, so they go to one partition.
   * Either all are queued, or none (counted as dropped): the caller never waits.
   */
  appendRecords(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, output: Buffer, index: RecordIndex, n: number,
    headers: Buffer, receivedAt: number): void {
    if (n <= 0) return;
    const { entries, stride, endAt, gap } = index;
    const perMessage = messageBytes(keyLength, 0, headers.length);
    const size = entries[(n - 1) * stride + endAt]! - (n - 1) * gap + n * perMessage;
    const t = this.#admit(topic, tenant, n, size, receivedAt);
    if (t === null || t === DISCARDED) return;
    let from = 0;
    if (t.partitions.length === 0) {
      // No metadata yet (slow path, copies per record): framed once the partitions are known.
      const k = keyLength >= 0 ? Buffer.from(key!.subarray(0, keyLength)) : null;
      for (let i = 0; i < n; i++) {
        const end = entries[i * stride + endAt]!;
        t.staged.push({ tenant, key: k, value: Buffer.from(output.subarray(from, end)), headers, records: 1, bytes: end - from + perMessage, receivedAt });
        from = end + gap;
      }
      return;
    }
    let done = 0;
    while (done < n) {
      const p = t.partitions[keyLength >= 0 ? partitionForKey(key!, 0, keyLength, t.partitions.length) : t.sticky]!;
      const b = p.open ?? this.#open(p, receivedAt);
      const m = b.builder.appendRun(key, 0, keyLength, output, from, index, done, n - done, headers, receivedAt, this.#settings.batch_max_records);
      if (m === 0) {
        if (b.builder.count > 0) {
          this.#seal(t, p);
          continue;
        }
        const end = entries[done * stride + endAt]!;
        this.#tooLarge(tenant, 1, end - from + perMessage, end - from);
        done++;
        from = end + gap;
        continue;
      }
      const end = entries[(done + m - 1) * stride + endAt]!;
      this.#account(b, tenant, m, end - from - (m - 1) * gap + m * perMessage);
      done += m;
      from = end + gap;
      if (b.builder.count >= this.#settings.batch_max_records) this.#seal(t, p);
    }
  }

  #account(b: Batch, tenant: string, records: number, bytes: number): void {
    const last = b.tenants.length - 1;
    if (last >= 0 && b.tenants[last] === tenant) b.tenantRecords[last]! += records;
    else {
      b.tenants.push(tenant);
      b.tenantRecords.push(records);
    }
    b.records += records;
    b.bytes += bytes;
  }

  /** A message larger than a whole batch may be: the broker would refuse it too. */
  #tooLarge(tenant: string, records: number, bytes: number, valueBytes: number): void {
    this.#queuedRecords -= records;
    this.#queuedBytes -= bytes;
    this.#log.sampled('error', 'kafka-record-too-large', 'record larger than kafka.batch_max_bytes, dropped', { bytes: valueBytes, capBytes: this.#batchBytes });
    this.#events.dropped('kafka_rejected', tenant, records);
  }

  /**
   * Takes `records` flow records of `bytes` into the queue, or counts them as dropped (null: the
   * queue is full, or closing) or as delivered (the discard sink); else their topic's state.
   */
  #admit(topic: string, tenant: string, records: number, bytes: number, receivedAt: number): TopicState | typeof DISCARDED | null {
    if (!this.#client) {
      this.#events.delivered(tenant, topic, records, Date.now() - receivedAt);
      return DISCARDED;
    }
    if (this.#closing || this.#queuedRecords + records > this.#settings.queue_max_records || this.#queuedBytes + bytes > this.#settings.queue_max_bytes) {
      this.#events.dropped(this.#closing ? 'shutdown' : 'queue_full', tenant, records);
      return null;
    }
    let t = this.#lastTopic;
    if (t === undefined || t.name !== topic) t = this.#lastTopic = this.#topic(topic);
    this.#queuedRecords += records;
    this.#queuedBytes += bytes;
    return t;
  }

  #frame(t: TopicState, tenant: string, key: Uint8Array | null, keyLength: number, value: Buffer, start: number, end: number,
    headers: Buffer, records: number, size: number, receivedAt: number): void {
    const p = t.partitions[keyLength >= 0 ? partitionForKey(key!, 0, keyLength, t.partitions.length) : t.sticky]!;
    let b = p.open;
    if (b === null) b = this.#open(p, receivedAt);
    if (!b.builder.append(key, 0, keyLength, value, start, end, headers, receivedAt)) {
      this.#seal(t, p);
      b = this.#open(p, receivedAt);
      if (!b.builder.append(key, 0, keyLength, value, start, end, headers, receivedAt)) {
        p.open = null;
        this.#tooLarge(tenant, records, size, end - start);
        return;
      }
    }
    this.#account(b, tenant, records, size);
    if (b.builder.count >= this.#settings.batch_max_records) this.#seal(t, p);
  }

  #open(p: PartitionState, receivedAt: number): Batch {
    const b: Batch = { builder: new BatchBuilder(this.#batchBytes, 16 * 1024, this.#spare.pop()), tenants: [], tenantRecords: [], records: 0, bytes: 0, firstReceivedAt: receivedAt, wire: null, baseSequence: -1 };
    p.open = b;
    p.openedAt = Date.now();
    this.#wake?.();
    return b;
  }

  #seal(t: TopicState, p: PartitionState): void {
    const b = p.open;
    if (b === null) return;
    p.open = null;
    if (b.builder.count > 0) p.ready.push(b);
    if (t.partitions[t.sticky] === p && t.partitions.length > 1) t.sticky = this.#stickyCounter++ % t.partitions.length;
    this.#wake?.();
  }

  #topic(name: string): TopicState {
    let t = this.#topics.get(name);
    if (!t) {
      t = { name, partitions: [], sticky: 0, staged: [] };
      this.#topics.set(name, t);
      this.#metadataStale = true;
      this.#wake?.();
    }
    return t;
  }

  /** Sends what is queued within `timeoutMs`, then counts the rest as dropped ("shutdown") and disconnects. */
  async close(timeoutMs = this.#settings.flush_timeout_ms): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    const deadline = Date.now() + timeoutMs;
    if (this.#client && this.#queuedRecords > 0) {
      // A broker that is down will not take them in time: count them at once.
      while (this.#queuedRecords > 0 && Date.now() < deadline && this.#connected) await new Promise((r) => setTimeout(r, 5));
    }
    this.#stopped = true;
    this.#wake?.();
    // Requests still in flight get what is left of the timeout; after that their batches count
    // as "shutdown", and an answer that comes later changes nothing (#closed).
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
    this.#closed = true;
    if (!this.#client) return;
    for (const t of this.#topics.values()) {
      for (const s of t.staged) this.#events.dropped('shutdown', s.tenant, s.records);
      for (const p of t.partitions) {
        const left = p.open ? [...p.ready, p.open] : p.ready;
        for (const b of left) this.#dropBatch(b, 'shutdown');
      }
    }
    this.#topics.clear();
    this.#queuedRecords = 0;
    this.#queuedBytes = 0;
    await this.#client.disconnect();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #backoff(): number {
    this.#failures++;
    return Math.min(100 * 2 ** Math.min(this.#failures, 7), 5_000);
  }

  async #run(): Promise<void> {
    const client = this.#client!;
    while (!this.#stopped) {
      try {
        if (!this.#connected) {
          await client.connect();
          this.#connected = true;
          this.#log.info('kafka connected', { brokers: this.#settings.brokers });
        }
      } catch (err) {
        this.#events.error(errorCode(err));
        this.#log.sampled('warn', 'kafka-connect', 'kafka not reachable, records stay queued', { error: (err as Error).message, queued: this.#queuedRecords });
        await this.#sleep(this.#backoff());
        continue;
      }
      if (Date.now() - this.#metadataAt > METADATA_MAX_AGE_MS) this.#metadataStale = true;
      if (this.#metadataStale) {
        this.#metadataStale = false;
        this.#metadataAt = Date.now();
        try {
          await client.loadTopics([...this.#topics.keys()]);
        } catch (err) {
          // A topic just created has no leader for a moment; the others can still be sent to.
          this.#metadataStale = true;
          this.#events.error(errorCode(err));
          this.#log.sampled('warn', 'kafka-metadata', 'kafka topic metadata not ready, will retry', { error: (err as Error).message, code: errorCode(err), queued: this.#queuedRecords });
          if (!client.connected) {
            this.#connected = false;
            await this.#sleep(this.#backoff());
            continue;
          }
        }
        this.#applyMetadata();
      }
      if (this.#needProducerId && this.#requests === 0) {
        // After metadata: kafkajs finds a broker for InitProducerId among those the metadata lists.
        // Only with no request in flight: a new id renumbers every batch.
        try {
          this.#resetSequences(await client.initProducerId());
          this.#needProducerId = false;
        } catch (err) {
          this.#events.error(errorCode(err));
          this.#log.sampled('warn', 'kafka-pid', 'kafka gave no producer id yet, will retry', { error: (err as Error).message, queued: this.#queuedRecords });
          if (!client.connected) this.#connected = false;
          // Nothing is sent without an id: a batch stamped without one would not be idempotent.
          await this.#sleep(this.#connected ? 100 : this.#backoff());
          continue;
        }
      }
      this.#sealLingering();
      if (!this.#needProducerId && Date.now() >= this.#retryAt) this.#launchRequests();
      await this.#sleep(this.#nextWakeMs());
    }
    while (this.#outstanding.size > 0) await Promise.race(this.#outstanding);
  }

  /** Sizes each topic's partition list from the metadata; moves staged records into batches. */
  #applyMetadata(): void {
    for (const t of this.#topics.values()) {
      const count = this.#client!.partitionCount(t.name);
      if (count === 0) {
        this.#metadataStale = true;
        continue;
      }
      if (t.partitions.length === 0) {
        for (let i = 0; i < count; i++) t.partitions.push({ partition: i, open: null, openedAt: 0, ready: [], inFlight: 0, retrying: false, resequence: false, nextSequence: 0, ackedSequence: 0 });
        t.sticky = this.#stickyCounter++ % count;
      } else if (count > t.partitions.length) {
        // Partitions were added: keyed records move (as with any Kafka client), existing ones stay.
        for (let i = t.partitions.length; i < count; i++) t.partitions.push({ partition: i, open: null, openedAt: 0, ready: [], inFlight: 0, retrying: false, resequence: false, nextSequence: 0, ackedSequence: 0 });
      }
      const staged = t.staged;
      t.staged = [];
      for (const s of staged) {
        this.#frame(t, s.tenant, s.key, s.key ? s.key.length : -1, s.value, 0, s.value.length, s.headers, s.records, s.bytes, s.receivedAt);
      }
    }
    if ([...this.#topics.values()].some((t) => t.staged.length > 0 || t.partitions.length === 0)) this.#metadataStale = true;
  }

  #sealLingering(): void {
    const now = Date.now();
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) {
        if (p.open && p.open.builder.count > 0 && (this.#closing || now - p.openedAt >= this.#settings.linger_ms)) this.#seal(t, p);
      }
    }
  }

  /** Until the next batch's linger ends or the backoff is over; a completed request, a sealed batch or a new topic wake the loop sooner. */
  #nextWakeMs(): number {
    const now = Date.now();
    if (this.#retryAt > now) return this.#retryAt - now;
    if (this.#closing) return 5;
    let next = Infinity;
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) if (p.open && p.open.builder.count > 0) next = Math.min(next, p.openedAt + this.#settings.linger_ms - now);
    }
    if (this.#metadataStale) next = Math.min(next, 100);
    return next === Infinity ? 1_000 : Math.max(1, next);
  }

  /** Sends, to each broker with room in its window, the next unsent batch of every partition it leads. */
  #launchRequests(): void {
    const byLeader = new Map<number, { t: TopicState; p: PartitionState; b: Batch }[]>();
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) {
        if (p.inFlight >= p.ready.length) continue;
        if (p.inFlight > 0 && (p.retrying || p.resequence || p.inFlight >= this.#maxInFlight)) continue;
        if (p.resequence) this.#renumber(p);
        const leader = this.#client!.leaderOf(t.name, p.partition);
        if (leader < 0) {
          this.#metadataStale = true;
          continue;
        }
        if ((this.#requestsByLeader.get(leader) ?? 0) >= this.#maxInFlight) continue;
        let list = byLeader.get(leader);
        if (!list) byLeader.set(leader, (list = []));
        list.push({ t, p, b: p.ready[p.inFlight]! });
      }
    }
    for (const [leader, batches] of byLeader) {
      for (const { p } of batches) p.inFlight++;
      this.#requestsByLeader.set(leader, (this.#requestsByLeader.get(leader) ?? 0) + 1);
      this.#requests++;
      const done: Promise<void> = this.#send(leader, batches).finally(() => {
        this.#requestsByLeader.set(leader, this.#requestsByLeader.get(leader)! - 1);
        this.#requests--;
        this.#outstanding.delete(done);
        this.#wake?.();
      });
      this.#outstanding.add(done);
    }
  }

  async #wire(p: PartitionState, b: Batch): Promise<Buffer> {
    if (b.wire === null) {
      const compressed = this.#codec === 0 ? null : await compressRecords(this.#settings.compression, b.builder.records());
      b.baseSequence = this.#settings.idempotent ? p.nextSequence : -1;
      if (this.#settings.idempotent) p.nextSequence = (p.nextSequence + b.builder.count) % 0x80000000;
      b.wire = sealBatch(b.builder, compressed, this.#codec, { ...this.#stamp, baseSequence: b.baseSequence });
    } else if (this.#settings.idempotent && b.baseSequence < 0) {
      // Re-sequenced after a producer id reset or a dropped predecessor.
      b.baseSequence = p.nextSequence;
      p.nextSequence = (p.nextSequence + b.builder.count) % 0x80000000;
      stampBatch(b.wire, { ...this.#stamp, baseSequence: b.baseSequence });
    }
    return b.wire;
  }

  async #send(leader: number, batches: { t: TopicState; p: PartitionState; b: Batch }[]): Promise<void> {
    const byTopic = new Map<string, ProduceTopic>();
    let results: PartitionResult[];
    try {
      for (const { t, p, b } of batches) {
        let topic = byTopic.get(t.name);
        if (!topic) byTopic.set(t.name, (topic = { topic: t.name, partitions: [] }));
        // Wire batches are built one after another (compression is asynchronous), so a partition's
        // batches reach the broker in sequence order.
        const wire = this.#wireChain.then(() => this.#wire(p, b));
        this.#wireChain = wire.then(() => undefined, () => undefined);
        topic.partitions.push({ partition: p.partition, batch: await wire });
      }
      results = await this.#client!.produce(leader, this.#settings.acks, [...byTopic.values()]);
    } catch (err) {
      if (this.#closed) return;
      // Nothing is known of the batches: they stay queued, with their sequences, and go again.
      const code = errorCode(err);
      this.#events.error(code);
      this.#log.sampled('warn', 'kafka-send', 'kafka send failed, will retry', { error: (err as Error).message, code, queued: this.#queuedRecords });
      if (!this.#client!.connected) this.#connected = false;
      this.#metadataStale = true;
      for (const { p } of batches) {
        p.inFlight--;
        this.#unsent(p, false);
      }
      this.#retryAt = Date.now() + this.#backoff();
      return;
    }
    if (this.#closed) return;
    const now = Date.now();
    let retry = false;
    for (const { t, p, b } of batches) {
      const r = this.#settings.acks === 0 ? undefined : results.find((x) => x.topic === t.name && x.partition === p.partition);
      const type = r ? r.type : this.#settings.acks === 0 ? 'NONE' : 'NO_RESPONSE_FOR_PARTITION';
      p.inFlight--;
      if (type === 'NONE' || type === 'DUPLICATE_SEQUENCE_NUMBER') {
        this.#remove(p, b);
        p.retrying = false;
        if (b.baseSequence >= 0) p.ackedSequence = (b.baseSequence + b.builder.count) % 0x80000000;
        for (let i = 0; i < b.tenants.length; i++) this.#events.delivered(b.tenants[i]!, t.name, b.tenantRecords[i]!, now - b.firstReceivedAt);
        this.#release(b);
        continue;
      }
      this.#events.error(type);
      if (TOO_LARGE.has(type) && b.builder.count > 1) {
        // Too large together, not each: split it, and make smaller batches from now on (the broker's limit is fixed).
        this.#batchBytes = Math.max(1024, Math.floor(b.builder.length / 2));
        this.#log.sampled('warn', 'kafka-too-large', 'kafka refused a batch as too large, sending smaller ones', { bytes: b.builder.length, messages: b.builder.count, nextCapBytes: this.#batchBytes });
        p.ready.splice(p.ready.indexOf(b), 1, ...this.#split(b));
        this.#unsent(p, true);
      } else if (type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && p.retrying && p.ready[0] !== b) {
        // An earlier batch of this window was not written, so this one could not follow it: resend in order.
        retry = true;
      } else if (PRODUCER_ID_ERRORS.has(type)) {
        this.#log.sampled('warn', `kafka-pid:${type}`, 'kafka lost track of this producer, renewing its id', { code: type, topic: t.name, partition: p.partition });
        this.#needProducerId = true;
        this.#unsent(p, false);
        retry = true;
      } else if (r?.retriable || type === 'NO_RESPONSE_FOR_PARTITION') {
        this.#log.sampled('warn', `kafka-retry:${type}`, 'kafka could not take a batch yet, will retry', { code: type, topic: t.name, partition: p.partition });
        this.#metadataStale = true;
        this.#unsent(p, false);
        retry = true;
      } else {
        this.#log.sampled('error', `kafka-reject:${type}`, 'kafka rejected a batch, dropping it', { code: type, topic: t.name, partition: p.partition, records: b.records });
        this.#remove(p, b);
        this.#unsent(p, true);
        this.#dropBatch(b, 'kafka_rejected');
      }
    }
    // An immediate retry would meet the same condition (leader moving, replicas catching up).
    if (retry) this.#retryAt = Date.now() + this.#backoff();
    else this.#failures = 0;
  }

  #remove(p: PartitionState, b: Batch): void {
    const i = p.ready.indexOf(b);
    if (i >= 0) p.ready.splice(i, 1);
  }

  /**
   * A batch of `p` was not written. The batches after it may be in flight and will fail too
   * (their sequence does not follow): from now on one at a time, in order. `renumber`: the
   * partition's batches changed (one dropped or split), so their sequences are assigned anew.
   */
  #unsent(p: PartitionState, renumber: boolean): void {
    p.retrying = true;
    if (renumber) p.resequence = true;
  }

  /** Sequences from the first unacknowledged batch on, once none of them is in flight. */
  #renumber(p: PartitionState): void {
    p.resequence = false;
    if (!this.#settings.idempotent) return;
    p.nextSequence = p.ackedSequence;
    for (const b of p.ready) b.baseSequence = -1;
  }

  /** A new producer id: every partition's sequences start again at 0. */
  #resetSequences(stamp: { producerId: bigint; producerEpoch: number }): void {
    this.#stamp = { producerId: stamp.producerId, producerEpoch: stamp.producerEpoch, baseSequence: -1 };
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) {
        p.nextSequence = 0;
        p.ackedSequence = 0;
        for (const b of p.ready) b.baseSequence = -1;
      }
    }
  }

  /** Two batches holding `b`'s records (its first and second half), for a broker that found it too large. */
  #split(b: Batch): Batch[] {
    const views = recordViews(b.builder);
    const half = Math.ceil(views.length / 2);
    const parts = [views.slice(0, half), views.slice(half)];
    // Records per tenant cannot be told apart inside a batch; in NDJSON mode a message holds
    // several records, so the counts are split in proportion to the messages.
    const out: Batch[] = [];
    let assigned = 0;
    let assignedBytes = 0;
    for (let k = 0; k < 2; k++) {
      const builder = new BatchBuilder(b.builder.capacity, b.builder.length);
      for (const v of parts[k]!) {
        const headers = b.builder.buffer.subarray(v.headersStart, v.headersEnd);
        builder.append(b.builder.buffer, v.keyStart, v.keyLength, b.builder.buffer, v.valueStart, v.valueEnd, headers, b.builder.baseTimestamp + v.timestampDelta);
      }
      const records = k === 0 ? Math.round((b.records * parts[0]!.length) / views.length) : b.records - assigned;
      const bytes = k === 0 ? Math.round((b.bytes * parts[0]!.length) / views.length) : b.bytes - assignedBytes;
      assigned += records;
      assignedBytes += bytes;
      out.push({ builder, tenants: [], tenantRecords: [], records, bytes, firstReceivedAt: b.firstReceivedAt, wire: null, baseSequence: -1 });
    }
    // Tenants: in order, the first half takes records from the first tenants.
    let need = out[0]!.records;
    for (let i = 0; i < b.tenants.length; i++) {
      let n = b.tenantRecords[i]!;
      const first = Math.min(n, need);
      if (first > 0) {
        out[0]!.tenants.push(b.tenants[i]!);
        out[0]!.tenantRecords.push(first);
      }
      need -= first;
      n -= first;
      if (n > 0) {
        out[1]!.tenants.push(b.tenants[i]!);
        out[1]!.tenantRecords.push(n);
      }
    }
    return out.filter((x) => x.builder.count > 0);
  }

  #dropBatch(b: Batch, reason: ProducerDropReason): void {
    for (let i = 0; i < b.tenants.length; i++) this.#events.dropped(reason, b.tenants[i]!, b.tenantRecords[i]!);
    this.#release(b);
  }

  #release(b: Batch): void {
    this.#queuedRecords -= b.records;
    this.#queuedBytes -= b.bytes;
    // Compressed batches were sent from a copy, so the builder's buffer is free; an uncompressed
    // wire batch is a view of it and is free once the broker has answered (we are past that here).
    const buffer = b.builder.buffer;
    if (buffer.length >= this.#batchBytes && buffer.length <= this.#batchBytes * 2 && this.#spare.length < SPARE_BUFFERS) this.#spare.push(buffer);
  }
}
