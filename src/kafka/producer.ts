// One RecordProducer per worker: the Kafka stage's face to the decoder worker, a thin layer over
// the parts the Java client and kafkajs have too:
//   accumulator.ts  records into one open batch per topic partition; linger, sealing, queue limits
//   sender.ts       the send loop: metadata, producer id, the in-flight window, retries, flush
//   sequences.ts    idempotence: producer id and per-partition sequence numbers
//   protocol/       the wire: RecordBatch v2, the Produce request and response, compression
//   client.ts       the broker connection (kafkajs, through kafkajs-internals.ts)
// Every record ends up delivered or dropped with a reason: a broker that is down keeps batches
// queued and retried; only when the queue is full are new records dropped ("queue_full"); errors
// the broker will repeat drop the batch ("kafka_rejected"); what is left when the flush timeout
// runs out at exit is "shutdown".
import type { Logger } from '../log.js';
import { Accumulator } from './accumulator.js';
import { KafkaClient, type ClientSettings, type ProduceClient } from './client.js';
import { producerDropReasons, supportedCompressions, type CompressionName, type ProducerDropReason } from './names.js';
import type { QueuedBatch } from './queued-batch.js';
import { Sender } from './sender.js';

export { supportedCompressions, producerDropReasons, type ProducerDropReason };

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

export interface ProducerEvents {
  delivered(tenant: string, topic: string, records: number, latencyMs: number): void;
  dropped(reason: ProducerDropReason, tenant: string, records: number): void;
  error(code: string): void;
}

export class RecordProducer {
  readonly #settings: KafkaSettings;
  readonly #events: ProducerEvents;
  readonly #accumulator: Accumulator;
  /** null: the discard sink. */
  readonly #sender: Sender | null;
  #started = false;

  /** `client`: the broker connection; tests of the retry logic pass a scripted one. */
  constructor(settings: KafkaSettings, events: ProducerEvents, log: Logger, client?: ProduceClient) {
    if (!supportedCompressions.includes(settings.compression)) {
      throw new Error(`kafka.compression "${settings.compression}" needs a codec this build does not include (use ${supportedCompressions.join(' or ')})`);
    }
    this.#settings = settings;
    this.#events = events;
    let sender: Sender | null = null;
    this.#accumulator = new Accumulator(settings, {
      sealed: (b) => sender!.enqueue(b),
      opened: () => sender?.wake(),
      topicAdded: () => sender?.topicAdded(),
      dropped: (reason, tenant, records) => events.dropped(reason, tenant, records),
    }, log);
    if (settings.sink === 'kafka') {
      sender = new Sender(settings, client ?? new KafkaClient(settings, log), this.#accumulator, {
        acknowledged: (b, now) => {
          for (let i = 0; i < b.tenants.length; i++) events.delivered(b.tenants[i]!, b.topic, b.tenantRecords[i]!, now - b.firstReceivedAt);
          this.#accumulator.release(b);
        },
        retrying: () => undefined,
        dropped: (b, reason) => this.#dropBatch(b, reason),
        tooLarge: (b) => this.#accumulator.shrinkBatches(b.builder.length),
        error: (code) => events.error(code),
      }, log);
    }
    this.#sender = sender;
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

  /** Starts the send loop; `topics` (the configured ones) get their metadata loaded first. */
  start(topics: readonly string[] = []): void {
    this.#started = true;
    if (!this.#sender) return;
    for (const t of topics) this.#accumulator.addTopic(t);
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
   * Queues `n` one-record messages straight from the decoder's output: message k's value runs
   * up to `index[k * 2]` (the decoder's record index), the next one starting after a newline.
   * All get key `key[0, keyLength)` (or none, -1) and `headers`, so they go to one partition.
   * Either all are queued, or none (counted as dropped): the caller never waits.
   */
  appendRecords(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, output: Buffer, index: Uint32Array, n: number,
    headers: Buffer, receivedAt: number): void {
    if (n <= 0) return;
    if (!this.#sender) {
      this.#events.delivered(tenant, topic, n, Date.now() - receivedAt);
      return;
    }
    this.#accumulator.appendRecords(topic, tenant, key, keyLength, output, index, n, headers, receivedAt);
  }

  /** Sends what is queued within `timeoutMs`, then counts the rest as dropped ("shutdown") and disconnects. */
  async close(timeoutMs = this.#settings.flush_timeout_ms): Promise<void> {
    if (!this.#sender) return;
    this.#accumulator.closing = true;
    const deadline = Date.now() + timeoutMs;
    await this.#sender.close(deadline, () => this.#accumulator.queuedRecords === 0);
    this.#accumulator.dropAll('shutdown', (b) => this.#dropBatch(b, 'shutdown'));
  }

  #dropBatch(b: QueuedBatch, reason: ProducerDropReason): void {
    for (let i = 0; i < b.tenants.length; i++) this.#events.dropped(reason, b.tenants[i]!, b.tenantRecords[i]!);
    this.#accumulator.release(b);
  }
}
