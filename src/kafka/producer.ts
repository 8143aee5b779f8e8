// The only module that imports kafkajs. One RecordProducer per worker: records wait in a
// bounded queue (records and bytes), are sent in batches (linger, size caps) with one request
// in flight (idempotence needs that), and every record ends up delivered or dropped with a
// reason. A broker that is down keeps batches queued and retried; only when the queue is full
// are new records dropped ("queue_full"). Errors the broker will repeat (too large, not
// authorised) drop the batch ("kafka_rejected").
import kafkajs, { type Message, type Producer, type SASLOptions, type LogEntry, type CompressionTypes as Compression } from 'kafkajs';
import { readFileSync } from 'node:fs';
import SnappyCodec from 'kafkajs-snappy';

// kafkajs is CommonJS: Node's ESM loader does not see all of its exports by name.
const { Kafka, CompressionTypes, CompressionCodecs, Partitioners, logLevel } = kafkajs;
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../log.js';

export interface KafkaSettings {
  brokers: string[];
  client_id: string;
  acks: -1 | 0 | 1;
  idempotent: boolean;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  linger_ms: number;
  batch_max_records: number;
  batch_max_bytes: number;
  queue_max_records: number;
  queue_max_bytes: number;
  request_timeout_ms: number;
  retries: number;
  connection_timeout_ms: number;
  flush_timeout_ms: number;
  /** discard: count records as delivered without sending them (benchmarks: what Kafka costs). */
  sink: 'kafka' | 'discard';
  ssl: boolean | { ca_file?: string | undefined; cert_file?: string | undefined; key_file?: string | undefined; reject_unauthorized?: boolean | undefined; servername?: string | undefined } | null | undefined;
  sasl: null | undefined | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/** Why a record accepted from an exporter did not reach Kafka. */
export const producerDropReasons = ['queue_full', 'kafka_rejected', 'shutdown'] as const;
export type ProducerDropReason = (typeof producerDropReasons)[number];

export interface ProducerEvents {
  delivered(tenant: string, topic: string, records: number, latencyMs: number): void;
  dropped(reason: ProducerDropReason, tenant: string, records: number): void;
  error(code: string): void;
}

interface TopicQueue {
  tenant: string;
  messages: Message[];
  sizes: number[];
  /** Flow records in each message: 1, or all records of a datagram in NDJSON mode. */
  counts: number[];
  receivedAt: number[];
  head: number;
}

const compressionTypes: Record<KafkaSettings['compression'], Compression> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

// Snappy through kafkajs-snappy (pure JS snappyjs, no native build). LZ4 and zstd codecs for
// kafkajs need native addons (lz4, @kafkajs/zstd): not shipped, so refused at start-up.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

/** Compression codecs this build has. */
export const supportedCompressions: readonly KafkaSettings['compression'][] = ['none', 'gzip', 'snappy'];

function tlsOptions(ssl: KafkaSettings['ssl']): ConnectionOptions | boolean {
  if (!ssl) return false;
  if (ssl === true) return true; // TLS with the system's CAs
  return {
    ca: ssl.ca_file ? readFileSync(ssl.ca_file) : undefined,
    cert: ssl.cert_file ? readFileSync(ssl.cert_file) : undefined,
    key: ssl.key_file ? readFileSync(ssl.key_file) : undefined,
    rejectUnauthorized: ssl.reject_unauthorized ?? true,
    servername: ssl.servername,
  };
}

/** An error the broker would give again for the same batch: dropping beats retrying forever. */
function isPermanent(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const x = e as { retriable?: boolean; type?: string; name?: string; cause?: unknown; originalError?: unknown };
    if (x.type && ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION',
      'INVALID_RECORD', 'CORRUPT_MESSAGE', 'UNSUPPORTED_COMPRESSION_TYPE', 'CLUSTER_AUTHORIZATION_FAILED'].includes(x.type)) return true;
    e = x.cause ?? x.originalError;
  }
  return false;
}

/** The broker refused the batch for its size: a smaller batch may pass. */
function isTooLarge(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'MESSAGE_TOO_LARGE' || code === 'RECORD_LIST_TOO_LARGE';
}

/** Bytes a message takes in a batch beyond its value: key, headers and record framing (an estimate). */
function framing(message: Message): number {
  let n = 24 + (message.key ? message.key.length : 0);
  for (const [k, v] of Object.entries(message.headers ?? {})) n += 8 + k.length + (v ? String(v).length : 0);
  return n;
}

function errorCode(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const x = e as { type?: string; name?: string; cause?: unknown; originalError?: unknown };
    if (x.type) return x.type;
    const next = x.cause ?? x.originalError;
    if (!next) return x.name ?? 'unknown';
    e = next;
  }
  return 'unknown';
}

export class RecordProducer {
  readonly #settings: KafkaSettings;
  readonly #events: ProducerEvents;
  readonly #log: Logger;
  readonly #producer: Producer;
  readonly #queues = new Map<string, TopicQueue>();
  #queuedRecords = 0;
  #queuedMessages = 0;
  #queuedBytes = 0;
  #connected = false;
  #closing = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  /** Request size cap in force: batch_max_bytes, halved each time the broker says a batch is too large. */
  #batchBytes: number;

  constructor(settings: KafkaSettings, events: ProducerEvents, log: Logger) {
    if (!supportedCompressions.includes(settings.compression)) {
      throw new Error(`kafka.compression "${settings.compression}" needs a codec this build does not include (use ${supportedCompressions.join(' or ')})`);
    }
    this.#settings = settings;
    this.#batchBytes = settings.batch_max_bytes;
    this.#events = events;
    this.#log = log;
    const kafka = new Kafka({
      clientId: settings.client_id,
      brokers: settings.brokers,
      ssl: tlsOptions(settings.ssl),
      sasl: settings.sasl ? ({ ...settings.sasl } as SASLOptions) : undefined,
      connectionTimeout: settings.connection_timeout_ms,
      requestTimeout: settings.request_timeout_ms,
      retry: { retries: settings.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        log.sampled('warn', `kafkajs:${entry.log.message}`, 'kafka client', { detail: entry.log.message, broker: entry.log.broker });
      },
    });
    this.#producer = kafka.producer({
      // Named explicitly: murmur2 on the key, as the Java client does (and kafkajs stops warning).
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: settings.idempotent,
      maxInFlightRequests: settings.idempotent ? 1 : undefined,
      allowAutoTopicCreation: true,
    });
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

  /** Starts the send loop; connecting happens there, so a broker that is down does not stop start-up. */
  start(): void {
    if (this.#settings.sink === 'discard') {
      this.#connected = true;
      this.#loop = Promise.resolve();
      return;
    }
    this.#loop ??= this.#run();
  }

  /**
   * Queues one Kafka message holding `records` flow records; `size` is its value's length.
   * Returns false (and counts the records as dropped) when the queue is full: the caller never waits.
   */
  enqueue(topic: string, tenant: string, message: Message, size: number, records: number, receivedAt: number): boolean {
    if (this.#settings.sink === 'discard') {
      this.#events.delivered(tenant, topic, records, Date.now() - receivedAt);
      return true;
    }
    if (this.#closing || this.#queuedRecords + records > this.#settings.queue_max_records || this.#queuedBytes + size > this.#settings.queue_max_bytes) {
      this.#events.dropped(this.#closing ? 'shutdown' : 'queue_full', tenant, records);
      return false;
    }
    let q = this.#queues.get(topic);
    if (!q) {
      q = { tenant, messages: [], sizes: [], counts: [], receivedAt: [], head: 0 };
      this.#queues.set(topic, q);
    }
    q.messages.push(message);
    q.sizes.push(size + framing(message));
    q.counts.push(records);
    q.receivedAt.push(receivedAt);
    this.#queuedRecords += records;
    this.#queuedMessages++;
    this.#queuedBytes += size + framing(message);
    if (this.#queuedMessages >= this.#settings.batch_max_records) this.#wake?.();
    return true;
  }

  /** Sends what is queued within `timeoutMs`, then counts the rest as dropped ("shutdown") and disconnects. */
  async close(timeoutMs = this.#settings.flush_timeout_ms): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const drained = (async () => {
      while (this.#queuedRecords > 0 && this.#connected) await new Promise((r) => setTimeout(r, 5));
      return 'drained' as const;
    })();
    if (this.#queuedRecords > 0) await Promise.race([drained, deadline]);
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    if (this.#settings.sink === 'discard') return;
    for (const q of this.#queues.values()) {
      let left = 0;
      for (let i = q.head; i < q.counts.length; i++) left += q.counts[i]!;
      if (left > 0) this.#events.dropped('shutdown', q.tenant, left);
    }
    this.#queues.clear();
    this.#queuedRecords = 0;
    this.#queuedMessages = 0;
    this.#queuedBytes = 0;
    await this.#producer.disconnect().catch(() => undefined);
  }

  #stopped = false;

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

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (!this.#connected) {
        try {
          await this.#producer.connect();
          this.#connected = true;
          this.#failures = 0;
          this.#log.info('kafka connected', { brokers: this.#settings.brokers });
        } catch (err) {
          this.#events.error(errorCode(err));
          this.#log.sampled('warn', 'kafka-connect', 'kafka not reachable, records stay queued', { error: (err as Error).message, queued: this.#queuedRecords });
          await this.#sleep(this.#backoff());
          continue;
        }
      }
      if (this.#queuedRecords === 0) {
        await this.#sleep(this.#closing ? 5 : 1_000);
        continue;
      }
      // Linger so batches fill, unless a batch is full already or we are closing.
      if (this.#queuedMessages < this.#settings.batch_max_records && !this.#closing && this.#settings.linger_ms > 0) {
        await this.#sleep(this.#settings.linger_ms);
      }
      await this.#sendBatch();
    }
  }

  #backoff(): number {
    this.#failures++;
    return Math.min(100 * 2 ** Math.min(this.#failures, 7), 5_000);
  }

  async #sendBatch(): Promise<void> {
    const topicMessages: { topic: string; messages: Message[] }[] = [];
    const taken: { q: TopicQueue; count: number; bytes: number; records: number }[] = [];
    let messages = 0;
    let records = 0;
    let bytes = 0;
    for (const [topic, q] of this.#queues) {
      if (messages >= this.#settings.batch_max_records || bytes >= this.#batchBytes) break;
      let count = 0;
      let size = 0;
      let recs = 0;
      while (q.head + count < q.messages.length && messages + count < this.#settings.batch_max_records &&
        (bytes + size + q.sizes[q.head + count]! <= this.#batchBytes || (count === 0 && messages === 0))) {
        size += q.sizes[q.head + count]!;
        recs += q.counts[q.head + count]!;
        count++;
      }
      if (count === 0) continue;
      topicMessages.push({ topic, messages: q.messages.slice(q.head, q.head + count) });
      taken.push({ q, count, bytes: size, records: recs });
      messages += count;
      records += recs;
      bytes += size;
    }
    if (messages === 0) return;
    try {
      await this.#producer.sendBatch({
        topicMessages,
        acks: this.#settings.acks,
        timeout: this.#settings.request_timeout_ms,
        compression: compressionTypes[this.#settings.compression],
      });
      this.#failures = 0;
      const now = Date.now();
      for (let i = 0; i < taken.length; i++) {
        const t = taken[i]!;
        this.#events.delivered(t.q.tenant, topicMessages[i]!.topic, t.records, now - t.q.receivedAt[t.q.head]!);
        this.#advance(t);
      }
    } catch (err) {
      const code = errorCode(err);
      this.#events.error(code);
      if (isTooLarge(err) && messages > 1) {
        // Too large together, not each: send smaller batches from now on (the broker's limit is fixed).
        this.#batchBytes = Math.max(1024, Math.floor(bytes / 2));
        this.#log.sampled('warn', 'kafka-too-large', 'kafka refused a batch as too large, sending smaller ones', { bytes, messages, nextCapBytes: this.#batchBytes });
        return;
      }
      if (isPermanent(err)) {
        this.#log.sampled('error', `kafka-reject:${code}`, 'kafka rejected a batch, dropping it', { error: (err as Error).message, code, records });
        for (const t of taken) {
          this.#events.dropped('kafka_rejected', t.q.tenant, t.records);
          this.#advance(t);
        }
        return;
      }
      // The broker is down or busy: the batch stays queued and is sent again.
      this.#log.sampled('warn', 'kafka-send', 'kafka send failed, will retry', { error: (err as Error).message, code, queued: this.#queuedRecords });
      if (code === 'KafkaJSConnectionError' || code === 'KafkaJSNumberOfRetriesExceeded') this.#connected = !this.#closing && this.#connected;
      await this.#sleep(this.#backoff());
    }
  }

  #advance(t: { q: TopicQueue; count: number; bytes: number; records: number }): void {
    const q = t.q;
    q.head += t.count;
    this.#queuedRecords -= t.records;
    this.#queuedMessages -= t.count;
    this.#queuedBytes -= t.bytes;
    if (q.head === q.messages.length) {
      q.messages.length = 0;
      q.sizes.length = 0;
      q.counts.length = 0;
      q.receivedAt.length = 0;
      q.head = 0;
    } else if (q.head > 4096 && q.head * 2 > q.messages.length) {
      q.messages.splice(0, q.head);
      q.sizes.splice(0, q.head);
      q.counts.splice(0, q.head);
      q.receivedAt.splice(0, q.head);
      q.head = 0;
    }
  }
}
