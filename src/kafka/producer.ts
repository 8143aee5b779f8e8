// One RecordProducer per worker: the Kafka stage's face to the decoder worker, a thin layer over
// the parts the Java client and kafkajs have too:
//   accumulator.ts  records into one open batch per topic partition; linger, sealing, queue limits
//   sender.ts       the send loop: metadata, producer id, the in-flight window, retries, flush
//   sequences.ts    idempotence: producer id and per-partition sequence numbers
//   protocol/       the wire: RecordBatch v2, the Produce request and response, compression
//   client.ts       the broker connection (kafkajs, through kafkajs-internals.ts)
//   spool-gate.ts   with spool.dir: batches that cannot be delivered now go to the disk spool
//                   (src/spool/) and come back from it when their partition takes them again
// Every record ends up delivered, spooled, or dropped with a reason: a broker that is down keeps
// batches queued and retried (spooled, with a spool); only when the queue is full are new records
// dropped ("queue_full"); errors the broker will repeat drop the batch ("kafka_rejected"); what
// is left when the flush timeout runs out at exit is spooled, or dropped ("shutdown").
import type { Logger } from '../log.js';
import { Accumulator } from './accumulator.js';
import { KafkaClient, type ClientSettings, type ProduceClient } from './client.js';
import { producerDropReasons, type CompressionName, type ProducerDropReason } from './names.js';
import type { QueuedBatch } from './queued-batch.js';
import { Sender } from './sender.js';
import { SpoolGate, type SpoolSettings } from './spool-gate.js';
import type { SpoolDropReason } from '../pipeline/drop-reasons.js';
import type { RecordIndex } from '../decoder/record-index.js';

export { producerDropReasons, type ProducerDropReason };

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
  /** The disk spool of this producer (its own directory), or null for none. */
  spool?: (SpoolSettings & { dir: string; adopt?: string[] }) | null;
}

export interface ProducerEvents {
  delivered(tenant: string, topic: string, records: number, latencyMs: number): void;
  dropped(reason: ProducerDropReason | SpoolDropReason, tenant: string, records: number): void;
  /** Records the disk spool holds changed by `delta` (+ spooled, - delivered or dropped from it). */
  spooled?(delta: number): void;
  /** The spool held `records` records of an earlier run when it opened. */
  recovered?(records: number): void;
  error(code: string): void;
}

/** How often the spool is looked at: unavailable partitions spooled, spooled entries replayed, data synced. */
const SPOOL_PUMP_MS = 50;

export class RecordProducer {
  readonly #settings: KafkaSettings;
  readonly #events: ProducerEvents;
  readonly #log: Logger;
  readonly #accumulator: Accumulator;
  /** null: the discard sink. */
  readonly #sender: Sender | null;
  readonly #gate: SpoolGate | null = null;
  #pump: NodeJS.Timeout | undefined;
  #started = false;

  /** `client`: the broker connection; tests of the retry logic pass a scripted one. */
  constructor(settings: KafkaSettings, events: ProducerEvents, log: Logger, client?: ProduceClient) {
    this.#settings = settings;
    this.#events = events;
    this.#log = log;
    let sender: Sender | null = null;
    this.#accumulator = new Accumulator(settings, {
      sealed: (b) => {
        if (!this.#gate?.offer(b, this.#queueFill(), Date.now())) sender!.enqueue(b);
      },
      opened: () => sender?.wake(),
      topicAdded: () => sender?.topicAdded(),
      dropped: (reason, tenant, records) => events.dropped(reason, tenant, records),
    }, log);
    if (settings.sink === 'kafka') {
      sender = new Sender(settings, client ?? new KafkaClient(settings, log), this.#accumulator, {
        acknowledged: (b, now) => {
          for (let i = 0; i < b.tenants.length; i++) events.delivered(b.tenants[i]!, b.topic, b.tenantRecords[i]!, now - b.firstReceivedAt);
          this.#settle(b);
        },
        retrying: () => undefined,
        dropped: (b, reason) => this.#dropBatch(b, reason),
        tooLarge: (b) => this.#accumulator.shrinkBatches(b.builder.length),
        error: (code) => events.error(code),
      }, log);
    }
    this.#sender = sender;
    if (sender && settings.spool) {
      this.#gate = SpoolGate.open(settings.spool.dir, { ...settings.spool, batchMaxBytes: settings.batch_max_bytes, batchMaxRecords: settings.batch_max_records }, {
        spooled: (b) => {
          this.#accumulator.release(b);
          events.spooled?.(b.records);
        },
        refused: (b, reason) => this.#dropBatch(b, reason),
        dropped: (reason, tenant, records) => events.dropped(reason, tenant, records),
        left: (records) => events.spooled?.(-records),
        error: (code) => events.error(`spool:${code}`),
      }, log, settings.spool.adopt);
      this.#gate?.attach(sender);
      if (this.#gate) this.#accumulator.frameUnassigned = () => !sender.connected;
    }
  }

  /**
   * Tracks input marks (role decode, raw offsets committed only once settled): records appended
   * from now on belong to input `mark` until it is set again. See Accumulator.lowestMark.
   */
  trackMarks(): void {
    this.#accumulator.trackMarks = true;
  }

  set mark(mark: number) {
    this.#accumulator.mark = mark;
  }

  /** The oldest input whose records are not all acknowledged or dropped yet; Infinity when none. */
  lowestMark(): number {
    return this.#accumulator.lowestMark();
  }

  /** While set, nothing is read back from the spool (live traffic needs the worker's time). */
  set replayPaused(paused: boolean) {
    if (this.#gate) this.#gate.replayPaused = paused;
  }

  /** Records the disk spool holds (0 without one). */
  get spooledRecords(): number {
    return this.#gate?.records ?? 0;
  }

  /** The spool's figures for metrics, or null without one. */
  spoolStats(): { bytes: number; records: number; oldestReceivedAt: number | undefined; written: number; replayed: number; corruptEntries: number } | null {
    const g = this.#gate;
    if (!g) return null;
    const s = g.stats();
    return { bytes: s.bytes, records: g.records, oldestReceivedAt: s.oldestReceivedAt, written: s.written, replayed: g.replayedRecords.total, corruptEntries: s.corruptEntries };
  }

  /** Memory queue fill, 0-1: the larger of records and bytes. */
  #queueFill(): number {
    return Math.max(this.#accumulator.queuedRecords / this.#settings.queue_max_records, this.#accumulator.queuedBytes / this.#settings.queue_max_bytes);
  }

  /** `b` was acknowledged or dropped: the memory queue, or the spool it came from, lets it go. */
  #settle(b: QueuedBatch): void {
    if (b.origin) this.#gate!.settled(b);
    else this.#accumulator.release(b);
  }

  get queuedRecords(): number {
    return this.#accumulator.queuedRecords;
  }

  get queuedBytes(): number {
    return this.#accumulator.queuedBytes;
  }

  get connected(): boolean {
    return this.#sender ? this.#sender.connected : this.#started;
  }

  /** See Sender.connectError. */
  get connectError(): string | null {
    return this.#sender?.connectError ?? null;
  }

  /** Starts the send loop; `topics` (the configured ones) get their metadata loaded first. */
  start(topics: readonly string[] = []): void {
    this.#started = true;
    if (!this.#sender) return;
    for (const t of topics) this.#accumulator.addTopic(t);
    const gate = this.#gate;
    if (gate) {
      if (gate.records > 0) this.#events.recovered?.(gate.records);
      // Spooled topics need their metadata to be replayed, configured or not.
      for (const t of gate.topics()) this.#accumulator.addTopic(t);
      this.#pump = setInterval(() => {
        const now = Date.now();
        try {
          // The sender seals lingering batches only while connected: with the broker away, here.
          if (!this.#sender!.connected) this.#accumulator.sealDue(now, false);
          gate.pump(this.#sender!.partitions(), now);
        } catch (err) {
          // A throw out of a timer would end the worker: logged and counted, the next turn tries again.
          this.#events.error('spool:pump');
          this.#log.sampled('error', 'spool-pump', 'spool pump failed', { error: (err as Error).stack ?? String(err) });
        }
      }, SPOOL_PUMP_MS);
    }
    this.#sender.start();
  }

  /**
   * Queues one Kafka message holding `records` flow records: key `key[0, keyLength)` (keyLength
   * -1: no key), value `value[start, end)`, pre-encoded record `headers`. The bytes are copied, so
   * `value` may be reused at once. Returns false (and counts the records as dropped) when the
   * queue is full: the caller never waits.
   */
  append(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, value: Buffer, start: number, end: number,
    headers: Buffer, records: number, receivedAt: number): boolean {
    if (!this.#sender) {
      this.#events.delivered(tenant, topic, records, Date.now() - receivedAt);
      return true;
    }
    return this.#accumulator.append(topic, tenant, key, keyLength, value, start, end, headers, records, receivedAt);
  }

  /**
   * Queues `n` one-record messages straight from the decoder's output, records `first` to
   * `first + n - 1` of its record index: message k's value runs up to record k's end in `index`,
   * the next one starting `index.gap` bytes later. All get key `key[0, keyLength)` (or none, -1)
   * and `headers`, so they go to one partition. Either all are queued, or none (counted as
   * dropped): the caller never waits.
   */
  appendRecords(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, output: Buffer, index: RecordIndex, n: number,
    headers: Buffer, receivedAt: number, first = 0): void {
    if (n <= 0) return;
    if (!this.#sender) {
      this.#events.delivered(tenant, topic, n, Date.now() - receivedAt);
      return;
    }
    this.#accumulator.appendRecords(topic, tenant, key, keyLength, output, index, n, headers, receivedAt, first);
  }

  /**
   * Sends what is queued within `timeoutMs`, then spools the rest (with a spool; a broker that is
   * down is not waited for) or counts it as dropped ("shutdown"), and disconnects.
   */
  async close(timeoutMs = this.#settings.flush_timeout_ms): Promise<void> {
    if (!this.#sender) return;
    clearInterval(this.#pump);
    this.#accumulator.closing = true;
    const deadline = Date.now() + timeoutMs;
    const leftover = (b: QueuedBatch): void => {
      if (!this.#gate) return this.#dropBatch(b, 'shutdown');
      if (b.origin) return; // still in the spool, counted there
      if (this.#gate.keep(b)) return;
      this.#dropBatch(b, 'spool_error');
    };
    await this.#sender.close(deadline, () => this.#accumulator.queuedRecords === 0, leftover);
    this.#accumulator.dropAll('shutdown', leftover);
    this.#gate?.close();
  }

  /**
   * The worker is about to die (a bug): what it holds in memory goes to the spool, synchronously,
   * so that only what the spool cannot take is lost (the pool counts that as worker_failed).
   * Batches in flight go too: delivered at least once.
   */
  evacuate(): void {
    const gate = this.#gate;
    if (!gate || !this.#sender) return;
    clearInterval(this.#pump);
    this.#accumulator.closing = true;
    this.#accumulator.sealDue(Date.now(), true);
    for (const b of this.#sender.abandon()) if (!b.origin) gate.keep(b);
    gate.close();
  }

  #dropBatch(b: QueuedBatch, reason: ProducerDropReason | SpoolDropReason): void {
    for (let i = 0; i < b.tenants.length; i++) this.#events.dropped(reason, b.tenants[i]!, b.tenantRecords[i]!);
    this.#settle(b);
  }
}
