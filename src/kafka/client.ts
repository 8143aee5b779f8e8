// The connection to the Kafka cluster: kafkajs's Cluster (connections with TLS and SASL,
// ApiVersions, metadata with topic auto-creation, InitProducerId) behind the few calls the
// sender needs, and the Produce request, encoded by protocol/ and sent over the leader's
// connection. kafkajs's private code is reached only through kafkajs-internals.ts.
import type { SASLOptions, LogEntry, Kafka } from 'kafkajs';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../log.js';
import { kafkajs, publicKafkajs, registerConsumerCodecs, type InternalBroker, type InternalCluster, type InternalFetchedPartition, type InternalRequest,
  type InternalResponse } from './kafkajs-internals.js';
import { kafkajsConsumerCodecs, type KafkajsCodecFactory } from './protocol/compression.js';
import { PRODUCE_API_KEY, PRODUCE_MAX_VERSION, PRODUCE_MIN_VERSION, encodeProduceRequest, produceVersion, type ProduceTopic } from './protocol/produce-request.js';
import { decodeProduceResponse, type ProduceResponse } from './protocol/produce-response.js';
import { frameRoom, writeRequestHeader } from './protocol/request-frame.js';
import { FETCH_API_KEY, FETCH_MAX_VERSION, FETCH_MIN_VERSION, encodeFetchRequest, fetchVersion, type FetchRequest } from './protocol/fetch-request.js';
import { decodeFetchResponse, type FetchResponse } from './protocol/fetch-response.js';

export type { ProduceTopic, FetchRequest, FetchResponse };

const errorsByCode = new Map(kafkajs.errorCodes.map((e) => [e.code, e]));
/** Metadata errors that refuse one topic (kafkajs then leaves it out of its target topics). */
const REFUSED_TOPIC_ERRORS: ReadonlySet<string> = new Set(['TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION']);
const errorType = (err: unknown): string => String((err as { type?: unknown }).type ?? '');
/** Built at the first consumer or fetch, then reused. */
let consumerCodecs: Map<number, KafkajsCodecFactory> | undefined;

export interface ClientSettings {
  brokers: string[];
  client_id: string;
  request_timeout_ms: number;
  connection_timeout_ms: number;
  retries: number;
  ssl: boolean | { ca_file?: string | undefined; cert_file?: string | undefined; key_file?: string | undefined; reject_unauthorized?: boolean | undefined; servername?: string | undefined } | null | undefined;
  sasl: null | undefined | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Let metadata requests create missing topics (where the broker allows); default true. */
  autoCreateTopics?: boolean;
}

/** What the broker said for one partition of a produce request. */
export interface PartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  /** kafkajs's name for the code, e.g. NOT_LEADER_FOR_PARTITION; 'NONE' for success. */
  type: string;
  retriable: boolean;
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

/**
 * Why the broker refused a connection, when the cause is this gateway's settings rather than the
 * network: `authentication` (kafka.sasl: mechanism, user or password) or `certificate` (kafka.ssl:
 * the CA, the host name, a client certificate the listener asks for). null for anything else.
 * Retrying does not mend these, so they are logged as errors naming the setting to check.
 */
export function connectionRefusal(err: unknown): 'authentication' | 'certificate' | null {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const x = e as { name?: string; code?: string; message?: string; cause?: unknown; originalError?: unknown };
    if (x.name === 'KafkaJSSASLAuthenticationError') return 'authentication';
    if (/^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_)/.test(x.code ?? '')) return 'certificate';
    if (/certificate|altnames/i.test(x.message ?? '')) return 'certificate';
    e = x.cause ?? x.originalError;
  }
  return null;
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

/** What the producer needs of a broker connection (KafkaClient; a scripted one in tests). */
export interface ProduceClient {
  connect(): Promise<void>;
  readonly connected: boolean;
  /**
   * Loads the topics' metadata; answers the topics the broker refuses (topic -> error type, e.g.
   * TOPIC_AUTHORIZATION_FAILED), whose metadata is then left out while the others load.
   */
  loadTopics(topics: string[]): Promise<ReadonlyMap<string, string> | void>;
  partitionCount(topic: string): number;
  leaderOf(topic: string, partition: number): number;
  initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }>;
  produce(nodeId: number, acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]>;
  disconnect(): Promise<void>;
}

/**
 * A request's framing from its body encoder (`body(room)`: the body after `room` bytes): frame()
 * writes the whole frame in the one buffer (request-frame.ts), encode() gives the body alone for
 * kafkajs's own framing, used only where kafkajs-internals.ts could not replace it.
 */
function ownFraming(apiKey: number, version: number, body: (room: number) => Buffer): Pick<InternalRequest, 'frame' | 'encode'> {
  return {
    frame: (correlationId, clientId) => {
      const frame = body(frameRoom(clientId));
      writeRequestHeader(frame, apiKey, version, correlationId, clientId);
      return frame;
    },
    encode: async () => {
      const b = body(0);
      return { buf: b, buffer: b };
    },
  };
}

export class KafkaClient implements ProduceClient {
  readonly #cluster: InternalCluster;
  readonly #timeoutMs: number;

  constructor(settings: ClientSettings, log: Logger) {
    this.#timeoutMs = settings.request_timeout_ms;
    // What kafkajs's Kafka constructor and its producer() pass to a Cluster.
    this.#cluster = new kafkajs.Cluster({
      logger: kafkajs.createLogger({
        level: kafkajs.LEVELS.WARN,
        logCreator: () => (entry: LogEntry) => {
          log.sampled('warn', `kafkajs:${entry.log.message}`, 'kafka client', { detail: entry.log.message, broker: entry.log.broker });
        },
      }),
      socketFactory: kafkajs.socketFactory(),
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
      allowAutoTopicCreation: settings.autoCreateTopics ?? true,
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

  /**
   * Loads (and, where the broker allows, creates) the topics' metadata. kafkajs fails the whole
   * request when one topic is refused (an ACL, an invalid name) and then loads none: the topics
   * are then loaded one by one, so that one tenant's refused topic holds back no other.
   */
  async loadTopics(topics: string[]): Promise<ReadonlyMap<string, string>> {
    const refused = new Map<string, string>();
    try {
      await this.#cluster.addMultipleTargetTopics(topics);
      return refused;
    } catch (err) {
      if (!REFUSED_TOPIC_ERRORS.has(errorType(err))) throw err;
    }
    for (const topic of topics) {
      try {
        await this.#cluster.addMultipleTargetTopics([topic]);
      } catch (err) {
        if (!REFUSED_TOPIC_ERRORS.has(errorType(err))) throw err;
        refused.set(topic, errorType(err));
      }
    }
    return refused;
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
    const range = broker.versions?.[PRODUCE_API_KEY];
    const version = range ? produceVersion(range.minVersion, range.maxVersion) : PRODUCE_MAX_VERSION;
    if (version < 0) throw Object.assign(new Error(`broker ${nodeId} speaks Produce v${range?.minVersion}-${range?.maxVersion}, FlowGate needs one of v${PRODUCE_MIN_VERSION}-v${PRODUCE_MAX_VERSION}`), { type: 'UNSUPPORTED_VERSION' });
    const timeoutMs = this.#timeoutMs;
    const request: InternalRequest = {
      apiKey: PRODUCE_API_KEY,
      apiVersion: version,
      apiName: 'Produce',
      expectResponse: () => acks !== 0,
      ...ownFraming(PRODUCE_API_KEY, version, (room) => encodeProduceRequest(acks, timeoutMs, topics, room)),
    };
    const response: InternalResponse = {
      // From v6 the broker leaves throttling to the client (KIP-219): kafkajs's request queue does it.
      decode: async (raw) => {
        const decoded = decodeProduceResponse(version, raw);
        return { ...decoded, clientSideThrottleTime: version >= 6 ? decoded.throttleTimeMs : 0 };
      },
      parse: async (data) => data,
    };
    const decoded = (await send(broker, request, response, this.#timeoutMs)) as ProduceResponse | undefined;
    return decoded ? partitionResults(decoded) : [];
  }

  /**
   * Sends one Fetch request, encoded by protocol/fetch-request.ts, to broker `nodeId` (the leader
   * of the partitions in it), over the same connection Produce uses. The response is decoded per
   * partition only: each record set stays in the response body, for RecordBatchReader to walk.
   * Rejects when the request itself failed (connection, timeout, a broker that speaks no Fetch v4-v11).
   */
  async fetchRecords(nodeId: number, fetch: FetchRequest): Promise<FetchResponse> {
    const broker = await this.#cluster.findBroker({ nodeId: String(nodeId) });
    const range = broker.versions?.[FETCH_API_KEY];
    const version = range ? fetchVersion(range.minVersion, range.maxVersion) : FETCH_MAX_VERSION;
    if (version < 0) throw Object.assign(new Error(`broker ${nodeId} speaks Fetch v${range?.minVersion}-${range?.maxVersion}, FlowGate needs one of v${FETCH_MIN_VERSION}-v${FETCH_MAX_VERSION}`), { type: 'UNSUPPORTED_VERSION' });
    const request: InternalRequest = {
      apiKey: FETCH_API_KEY,
      apiVersion: version,
      apiName: 'Fetch',
      expectResponse: () => true,
      ...ownFraming(FETCH_API_KEY, version, (room) => encodeFetchRequest(version, fetch, room)),
    };
    const response: InternalResponse = {
      // From v8 the broker leaves throttling to the client (KIP-219): kafkajs's request queue does it.
      decode: async (raw) => {
        const decoded = decodeFetchResponse(version, raw);
        return Object.assign(decoded, { clientSideThrottleTime: version >= 8 ? decoded.throttleTimeMs : 0 });
      },
      parse: async (data) => data,
    };
    // The broker may hold the request for max wait before it answers.
    return (await send(broker, request, response, this.#timeoutMs + fetch.maxWaitMs)) as FetchResponse;
  }

  /** Loads the metadata of the target topics again (a fetch was answered NOT_LEADER_OR_FOLLOWER or the like: leaders moved). */
  async refreshMetadata(): Promise<void> {
    await this.#cluster.refreshMetadata();
  }

  /** Each partition's end offset (high watermark) of `topic` (its metadata loaded). */
  endOffsets(topic: string): Promise<Map<number, bigint>> {
    return this.#listOffsets(topic, false);
  }

  /** Each partition's first offset (log start) of `topic` (its metadata loaded). */
  startOffsets(topic: string): Promise<Map<number, bigint>> {
    return this.#listOffsets(topic, true);
  }

  async #listOffsets(topic: string, fromBeginning: boolean): Promise<Map<number, bigint>> {
    await this.#cluster.addMultipleTargetTopics([topic]);
    const partitions = this.#cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const [r] = await this.#cluster.fetchTopicsOffset([{ topic, partitions, fromBeginning }]);
    return new Map((r?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  }

  /** Records of one partition from `offset` (at most `maxBytes`), from its leader; decompressed by kafkajs. */
  async fetch(topic: string, partition: number, offset: bigint, maxBytes: number): Promise<InternalFetchedPartition> {
    registerConsumerCodecs(consumerCodecs ??= kafkajsConsumerCodecs());
    const leader = this.leaderOf(topic, partition);
    if (leader < 0) throw Object.assign(new Error(`no leader for ${topic}/${partition}`), { type: 'LEADER_NOT_AVAILABLE' });
    const broker = await this.#cluster.findBroker({ nodeId: String(leader) });
    const r = await broker.fetch({
      isolationLevel: 0, maxWaitTime: 0, minBytes: 0, maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset: offset.toString(), maxBytes }] }],
    });
    const p = r.responses[0]?.partitions.find((x) => x.partition === partition);
    if (!p) throw new Error(`fetch of ${topic}/${partition} answered without it`);
    if (p.errorCode !== 0) {
      const known = errorsByCode.get(p.errorCode);
      throw Object.assign(new Error(`fetch of ${topic}/${partition}: ${known?.type ?? p.errorCode}`), { type: known?.type ?? `ERROR_${p.errorCode}` });
    }
    return p;
  }

  async disconnect(): Promise<void> {
    await this.#cluster.disconnect().catch(() => undefined);
  }
}

/** Sends a request over the broker's connection; a closed connection is dropped so the next request reconnects (as kafkajs's Broker does). */
async function send(broker: InternalBroker, request: InternalRequest, response: InternalResponse, requestTimeout: number): Promise<unknown> {
  try {
    return await broker.connectionPool.send({ request, response, requestTimeout });
  } catch (err) {
    if ((err as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => undefined);
    throw err;
  }
}

/**
 * kafkajs's public client with the same brokers, TLS, SASL and timeouts, for its consumer group
 * (role decode) and admin (creating the raw and template topics). Main thread only.
 */
export function groupClient(settings: ClientSettings, log: Logger): Kafka {
  registerConsumerCodecs(consumerCodecs ??= kafkajsConsumerCodecs());
  const { Kafka: KafkaClass, logLevel } = publicKafkajs();
  return new KafkaClass({
    brokers: settings.brokers,
    clientId: settings.client_id,
    ssl: tlsOptions(settings.ssl) as never,
    sasl: settings.sasl ? ({ ...settings.sasl } as SASLOptions) : undefined,
    connectionTimeout: settings.connection_timeout_ms,
    requestTimeout: settings.request_timeout_ms,
    retry: { retries: Math.min(settings.retries, 5), initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      log.sampled('warn', `kafkajs:${entry.log.message}`, 'kafka consumer', { detail: entry.log.message, broker: entry.log.broker, groupId: entry.log.groupId });
    },
  });
}

/** Each partition's result, with kafkajs's name and retriable answer for its error code. */
export function partitionResults(response: ProduceResponse): PartitionResult[] {
  const out: PartitionResult[] = [];
  for (const t of response.topics) {
    for (const p of t.partitions) {
      const known = errorsByCode.get(p.errorCode);
      out.push({ topic: t.topic, partition: p.partition, errorCode: p.errorCode, type: p.errorCode === 0 ? 'NONE' : known?.type ?? `ERROR_${p.errorCode}`, retriable: known?.retriable ?? false });
    }
  }
  return out;
}
