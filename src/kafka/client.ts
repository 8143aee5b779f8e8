// The only module that imports kafkajs. kafkajs does what it does well here: connections (TLS,
// SASL, re-authentication), ApiVersions, metadata (with topic auto-creation), InitProducerId.
// The produce request itself carries record batches we encoded (record-batch.ts): kafkajs's own
// produce path builds objects per message and cannot keep up (see docs/performance.md).
// Uses kafkajs internals (the cluster, a broker's connection pool, the Produce v7 response
// decoder, the error table, the codecs): kafkajs 2.2.4 is its last release and is pinned in
// package-lock.json. Only those modules are loaded, not kafkajs's index (its admin, consumer and
// producer): 85 of its 143 files, half its load time, which is on a worker's start-up path.
import type { SASLOptions, LogEntry } from 'kafkajs';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import SnappyCodec from 'kafkajs-snappy';
import type { Logger } from '../log.js';
import { supportedCompressions, type CompressionName } from './names.js';

const require = createRequire(import.meta.url);
type ClusterOptions = Record<string, unknown>;
const Cluster = require('kafkajs/src/cluster/index.js') as new (options: ClusterOptions) => Cluster;
const { createLogger, LEVELS } = require('kafkajs/src/loggers/index.js') as { createLogger(o: object): unknown; LEVELS: Record<string, number> };
const defaultSocketFactory = require('kafkajs/src/network/socketFactory.js') as () => unknown;
const { Types: CompressionTypes, Codecs: CompressionCodecs } = require('kafkajs/src/protocol/message/compression/index.js') as {
  Types: Record<'None' | 'GZIP' | 'Snappy' | 'LZ4' | 'ZSTD', number>; Codecs: Record<number, unknown>;
};

interface ProduceResponseDecoder {
  decode(raw: Buffer): Promise<{ topics: { topicName: string; partitions: { partition: number; errorCode: number; baseOffset: string }[] }[] }>;
}
const produceV3Response = require('kafkajs/src/protocol/requests/produce/v3/response.js') as ProduceResponseDecoder;
const produceV7Response = require('kafkajs/src/protocol/requests/produce/v7/response.js') as ProduceResponseDecoder;
const { errorCodes } = require('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; code: number; retriable: boolean }[] };
const errorsByCode = new Map(errorCodes.map((e) => [e.code, e]));

// Snappy through kafkajs-snappy (pure JS snappyjs, no native build). LZ4 and zstd need native
// codecs: not shipped, so refused at start-up.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

export { supportedCompressions, type CompressionName };

/** Compresses a batch's records section with kafkajs's codec for `name` (not 'none'). */
export async function compressRecords(name: CompressionName, records: Buffer): Promise<Buffer> {
  const type = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD }[name];
  const codecs = CompressionCodecs as Record<number, () => { compress(encoder: { buffer: Buffer }): Promise<Buffer> }>;
  const codec = codecs[type]!();
  return codec.compress({ buffer: records });
}

export interface ClientSettings {
  brokers: string[];
  client_id: string;
  request_timeout_ms: number;
  connection_timeout_ms: number;
  retries: number;
  ssl: boolean | { ca_file?: string | undefined; cert_file?: string | undefined; key_file?: string | undefined; reject_unauthorized?: boolean | undefined; servername?: string | undefined } | null | undefined;
  sasl: null | undefined | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/** What the broker said for one partition of a produce request. */
export interface PartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  /** kafkajs's name for the code, e.g. NOT_LEADER_OR_FOLLOWER; 'NONE' for success. */
  type: string;
  retriable: boolean;
}

export interface ProduceTopic {
  topic: string;
  partitions: { partition: number; batch: Buffer }[];
}

/** The kafkajs error's type (e.g. REQUEST_TIMED_OUT) or name (KafkaJSConnectionError). */
export function errorCode(err: unknown): string {
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

function tlsOptions(ssl: ClientSettings['ssl']): ConnectionOptions | boolean {
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

// The slice of kafkajs's internal Cluster and Broker used here.
interface Broker {
  versions: Record<number, { minVersion: number; maxVersion: number }> | null;
  connectionPool: { send(request: unknown): Promise<unknown> };
  disconnect(): Promise<void>;
  initProducerId(args: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number | null }[];
  findBroker(args: { nodeId: string }): Promise<Broker>;
  brokerPool: { withBroker<T>(fn: (args: { broker: Broker }) => Promise<T>): Promise<T | null> };
}

/** What the producer needs of a broker connection (KafkaClient; a scripted one in tests). */
export interface ProduceClient {
  connect(): Promise<void>;
  readonly connected: boolean;
  loadTopics(topics: string[]): Promise<void>;
  partitionCount(topic: string): number;
  leaderOf(topic: string, partition: number): number;
  initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }>;
  produce(nodeId: number, acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]>;
  disconnect(): Promise<void>;
}

export class KafkaClient implements ProduceClient {
  readonly #cluster: Cluster;
  readonly #timeoutMs: number;

  constructor(settings: ClientSettings, log: Logger) {
    this.#timeoutMs = settings.request_timeout_ms;
    // What kafkajs's Kafka constructor and its producer() pass to a Cluster.
    this.#cluster = new Cluster({
      logger: createLogger({
        level: LEVELS.WARN,
        logCreator: () => (entry: LogEntry) => {
          log.sampled('warn', `kafkajs:${entry.log.message}`, 'kafka client', { detail: entry.log.message, broker: entry.log.broker });
        },
      }),
      socketFactory: defaultSocketFactory(),
      brokers: settings.brokers,
      ssl: tlsOptions(settings.ssl),
      sasl: settings.sasl ? ({ ...settings.sasl } as SASLOptions) : undefined,
      clientId: settings.client_id,
      connectionTimeout: settings.connection_timeout_ms,
      requestTimeout: settings.request_timeout_ms,
      enforceRequestTimeout: true,
      // Retries of metadata and connection steps; produce retries are the producer's own.
      retry: { retries: Math.min(settings.retries, 3), initialRetryTime: 100, maxRetryTime: 2_000 },
      metadataMaxAge: 300_000,
      allowAutoTopicCreation: true,
      maxInFlightRequests: null,
      instrumentationEmitter: null,
      offsets: new Map(),
    });
  }

  async connect(): Promise<void> {
    await this.#cluster.connect();
  }

  get connected(): boolean {
    return this.#cluster.isConnected();
  }

  /** Loads (and, where the broker allows, creates) the topics' metadata. */
  async loadTopics(topics: string[]): Promise<void> {
    await this.#cluster.addMultipleTargetTopics(topics);
  }

  async refreshMetadata(): Promise<void> {
    await this.#cluster.refreshMetadata();
  }

  /** Partitions of a topic whose metadata is loaded and led by a broker; 0 when not known yet. */
  partitionCount(topic: string): number {
    try {
      const partitions = this.#cluster.findTopicPartitionMetadata(topic);
      return partitions.length > 0 && partitions.every((p) => p.leader !== null && p.leader !== undefined && p.leader >= 0) ? partitions.length : 0;
    } catch {
      return 0;
    }
  }

  /** Node id of the partition's leader, or -1. */
  leaderOf(topic: string, partition: number): number {
    try {
      return this.#cluster.findTopicPartitionMetadata(topic).find((p) => p.partitionId === partition)?.leader ?? -1;
    } catch {
      return -1;
    }
  }

  /** A producer id and epoch for idempotent produce (any broker grants one without a transactional id). */
  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    // withBroker tries each broker and swallows their errors (null when all failed): keep the last.
    let last: unknown;
    const r = await this.#cluster.brokerPool.withBroker(async ({ broker }) => {
      try {
        return await broker.initProducerId({ transactionTimeout: 60_000 });
      } catch (err) {
        last = err;
        throw err;
      }
    });
    if (!r) throw last ?? new Error('no broker granted a producer id');
    return { producerId: BigInt(r.producerId), producerEpoch: r.producerEpoch };
  }

  /**
   * Sends one Produce request of pre-encoded batches (one per partition) to broker `nodeId`.
   * Resolves with each partition's result (empty for acks 0, which has no response); rejects
   * when the request itself failed (connection, timeout): then nothing is known of the batches.
   */
  async produce(nodeId: number, acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]> {
    const broker = await this.#cluster.findBroker({ nodeId: String(nodeId) });
    const range = broker.versions?.[0];
    const version = Math.min(7, range?.maxVersion ?? 7);
    if (version < 3 || (range && range.minVersion > 7)) throw Object.assign(new Error(`broker ${nodeId} speaks Produce v${range?.minVersion}-${range?.maxVersion}, FlowGate needs one of v3-v7`), { type: 'UNSUPPORTED_VERSION' });
    const body = encodeProduceRequest(acks, this.#timeoutMs, topics);
    const decoder = version >= 5 ? produceV7Response : produceV3Response;
    const request = {
      apiKey: 0,
      apiVersion: version,
      apiName: 'Produce',
      expectResponse: () => acks !== 0,
      // kafkajs's request framing asks for an Encoder; it only reads .buf and .buffer.
      encode: async () => ({ buf: body, buffer: body }),
    };
    const response = { decode: (raw: Buffer) => decoder.decode(raw), parse: async <T>(data: T) => data };
    let decoded: Awaited<ReturnType<ProduceResponseDecoder['decode']>> | undefined;
    try {
      decoded = (await broker.connectionPool.send({ request, response, requestTimeout: this.#timeoutMs })) as typeof decoded;
    } catch (err) {
      // As kafkajs's Broker does: a closed connection is dropped so the next request reconnects.
      if ((err as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => undefined);
      throw err;
    }
    if (!decoded) return [];
    const out: PartitionResult[] = [];
    for (const t of decoded.topics) {
      for (const p of t.partitions) {
        const known = errorsByCode.get(p.errorCode);
        out.push({ topic: t.topicName, partition: p.partition, errorCode: p.errorCode, type: p.errorCode === 0 ? 'NONE' : known?.type ?? `ERROR_${p.errorCode}`, retriable: known?.retriable ?? false });
      }
    }
    return out;
  }

  async disconnect(): Promise<void> {
    await this.#cluster.disconnect().catch(() => undefined);
  }
}

/**
 * Produce request v3-v7 body (the same layout in all five): transactional_id (null) · acks i16 ·
 * timeout i32 · [topic string · [partition i32 · record_set bytes]].
 */
export function encodeProduceRequest(acks: number, timeoutMs: number, topics: ProduceTopic[]): Buffer {
  let size = 2 + 2 + 4 + 4;
  const names = topics.map((t) => Buffer.from(t.topic));
  for (let i = 0; i < topics.length; i++) {
    size += 2 + names[i]!.length + 4;
    for (const p of topics[i]!.partitions) size += 4 + 4 + p.batch.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = out.writeInt16BE(-1, 0);
  at = out.writeInt16BE(acks, at);
  at = out.writeInt32BE(timeoutMs, at);
  at = out.writeInt32BE(topics.length, at);
  for (let i = 0; i < topics.length; i++) {
    at = out.writeInt16BE(names[i]!.length, at);
    at += names[i]!.copy(out, at);
    at = out.writeInt32BE(topics[i]!.partitions.length, at);
    for (const p of topics[i]!.partitions) {
      at = out.writeInt32BE(p.partition, at);
      at = out.writeInt32BE(p.batch.length, at);
      at += p.batch.copy(out, at);
    }
  }
  return out;
}
