// Every piece of kafkajs's private code FlowGate uses, in one place, and why.
//
// Why internals at all: kafkajs does what it does well here (connections with TLS and SASL,
// ApiVersions, metadata with topic auto-creation, InitProducerId), but its public producer builds
// objects per message and cannot keep up (docs/performance.md). FlowGate encodes the Produce
// request itself (protocol/) and sends it over kafkajs's connection to the partition's leader.
// Only the files below are loaded, not kafkajs's index (its admin, consumer and producer): about
// half of kafkajs's load time, which is on a worker's start-up path.
//
// Why it is safe: kafkajs 2.2.4 is its last release; package.json pins it exactly, and when this
// module loads (in a decoder worker, never in the main thread) it checks the installed version and
// every shape used below, and throws one error naming what changed. A kafkajs upgrade is
// therefore a decision: read these files in the new release, adjust the shapes, bump the pin.
//
// What is used, file by file (all under kafkajs/src/):
//   cluster/index.js          Cluster: connect, disconnect, isConnected, addMultipleTargetTopics,
//                             findTopicPartitionMetadata, findBroker; its brokerPool
//   cluster/brokerPool.js     BrokerPool.withBroker (InitProducerId on any broker)
//   broker/index.js           Broker: versions, connectionPool, disconnect, initProducerId
//   network/connectionPool.js ConnectionPool.send({ request, response, requestTimeout }): frames
//                             the request (size, api key, version, correlation id, client id),
//                             writes it, hands the response body to response.decode
//   loggers/index.js          createLogger, LEVELS (the Cluster wants a kafkajs logger)
//   network/socketFactory.js  the default socket factory (net / tls)
//   protocol/error.js         errorCodes: Kafka error code -> type name and retriable
//   cluster/index.js          also fetchTopicsOffset (end offsets), and broker/index.js fetch:
//                             the template topic is read to its end offsets by plain Fetch
//                             requests, with no consumer group to join (scale/template-reader.ts);
//                             refreshMetadata when a fetch finds a partition's leader moved.
//                             The raw topic's Fetch is FlowGate's own (protocol/fetch-*.ts), sent
//                             by ConnectionPool.send as Produce is (scale/raw-consumer.ts)
//   protocol/message/compression/index.js  the codec table, where FlowGate's codecs go for
//                             the consumers of the raw and template topics (main thread only)
//   network/requestQueue/index.js  RequestQueue.scheduleCheckPendingRequests, mended (below):
//                             in 2.2.4 every connection re-arms a 1 ms timer forever once it
//                             has answered a request (kafkajs issue #1751, never released)
//   protocol/request.js       the request framing network/connection.js requires when it loads:
//                             replaced in the module cache before that (mendRequestFraming, below)
//                             by one that lets a request bring its own frame (request-frame.ts)
// The public API (kafkajs's index: Kafka, its consumer and admin) is loaded by publicKafkajs()
// for the consumer group of role decode and for creating topics, in the main thread only.
import { createRequire } from 'node:module';
import type { LogEntry } from 'kafkajs';
import type * as KafkajsPublic from 'kafkajs';
import { produceErrors } from './protocol/produce-response.js';

/** The kafkajs release these shapes were read from (package.json pins it exactly). */
export const KAFKAJS_VERSION = '2.2.4';

// The private shapes, as kafkajs 2.2.4 has them (only what FlowGate touches).
export interface InternalBroker {
  /** ApiVersions of the broker: api key -> supported range; null before it connected. */
  versions: Record<number, { minVersion: number; maxVersion: number }> | null;
  connectionPool: { send(args: { request: InternalRequest; response: InternalResponse; requestTimeout: number }): Promise<unknown> };
  disconnect(): Promise<void>;
  initProducerId(args: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  fetch(args: {
    replicaId?: number; isolationLevel: number; maxWaitTime: number; minBytes: number; maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: InternalFetchedPartition[] }[] }>;
}
/** One partition of a Fetch response as kafkajs decodes it. */
export interface InternalFetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  messages: { offset: string; key: Buffer | null; value: Buffer | null; headers?: Record<string, Buffer | Buffer[] | undefined>; isControlRecord?: boolean }[];
}
export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number | null }[];
  findBroker(args: { nodeId: string }): Promise<InternalBroker>;
  fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[]):
    Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  brokerPool: { withBroker<T>(fn: (args: { broker: InternalBroker }) => Promise<T>): Promise<T | null> };
}
/**
 * A request as the connection frames it: encode() must answer something with .buf and .buffer (an
 * Encoder). FlowGate's requests also bring frame(): the whole frame in one buffer (mendRequestFraming).
 */
export interface InternalRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
  frame?(correlationId: number, clientId: string | null): Buffer;
}
/** decode() gets the response body after the correlation id; clientSideThrottleTime is honoured (KIP-219). */
export interface InternalResponse {
  decode(body: Buffer): Promise<{ clientSideThrottleTime?: number }>;
  parse<T>(decoded: T): Promise<T>;
}
export interface KafkajsErrorEntry {
  type: string;
  code: number;
  retriable: boolean;
}

/** What the files above export, once loaded and checked. */
export interface KafkajsInternals {
  Cluster: new (options: Record<string, unknown>) => InternalCluster;
  createLogger(options: { level: number; logCreator: () => (entry: LogEntry) => void }): unknown;
  LEVELS: Record<'NOTHING' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG', number>;
  socketFactory(): unknown;
  errorCodes: readonly KafkajsErrorEntry[];
  /** kafkajs's codec table (codec id -> factory), where consumers find their decompressors. */
  codecs: Record<number, (() => unknown) | undefined>;
}

/** The module files read, by their path under kafkajs/, and the version of package.json. */
export interface KafkajsFiles {
  version: string | undefined;
  files: Record<string, unknown>;
}

type Check = (exported: unknown) => string[];
const methods = (...names: string[]): Check => (exported) => {
  const proto = typeof exported === 'function' ? (exported.prototype as Record<string, unknown>) : undefined;
  if (!proto) return ['is no longer a class'];
  return names.filter((n) => typeof proto[n] !== 'function').map((n) => `has no method ${n}()`);
};
const member = (name: string, kind: 'function' | 'object'): ((exported: unknown) => string[]) => (exported) =>
  typeof (exported as Record<string, unknown> | null)?.[name] === kind ? [] : [`exports no ${kind} ${name}`];

/** Each file FlowGate loads and what it must find there. */
const required: Record<string, Check> = {
  'src/cluster/index.js': methods('connect', 'disconnect', 'isConnected', 'addMultipleTargetTopics', 'refreshMetadata', 'findTopicPartitionMetadata',
    'findBroker', 'fetchTopicsOffset'),
  'src/cluster/brokerPool.js': methods('withBroker'),
  'src/broker/index.js': methods('disconnect', 'initProducerId', 'fetch'),
  'src/protocol/message/compression/index.js': (e) => (typeof (e as { Codecs?: unknown } | null)?.Codecs === 'object' ? [] : ['exports no Codecs table']),
  'src/network/connectionPool.js': methods('send'),
  'src/loggers/index.js': (e) => {
    const out = member('createLogger', 'function')(e);
    if (typeof (e as { LEVELS?: { WARN?: unknown } } | null)?.LEVELS?.WARN !== 'number') out.push('exports no LEVELS.WARN');
    return out;
  },
  'src/network/requestQueue/index.js': (e) => {
    const out = methods('scheduleCheckPendingRequests', 'checkPendingRequests')(e);
    const source = (e as { prototype?: { scheduleCheckPendingRequests?: unknown } } | null)?.prototype?.scheduleCheckPendingRequests;
    if (typeof source === 'function' && !String(source).includes('this.throttledUntil - Date.now()') && !(source as { mended?: boolean }).mended) {
      out.push('scheduleCheckPendingRequests() no longer computes this.throttledUntil - Date.now()');
    }
    return out;
  },
  'src/protocol/request.js': (e) => {
    if (typeof e !== 'function') return ['no longer exports the request framing function'];
    return (e as { framed?: boolean }).framed ? [] : ['was not replaced by FlowGate\'s framing (a request\'s own frame would go unused)'];
  },
  'src/network/socketFactory.js': (e) => (typeof e === 'function' ? [] : ['no longer exports the socket factory function']),
  'src/protocol/error.js': (e) => {
    const table = (e as { errorCodes?: unknown } | null)?.errorCodes;
    if (!Array.isArray(table)) return ['exports no errorCodes table'];
    const out: string[] = [];
    if (table.some((x: Partial<KafkajsErrorEntry>) => typeof x?.type !== 'string' || typeof x.code !== 'number' || typeof x.retriable !== 'boolean')) {
      out.push('has errorCodes entries without { type, code, retriable }');
    }
    for (const [type, code] of Object.entries(produceErrors)) {
      const entry = (table as KafkajsErrorEntry[]).find((x) => x?.code === code);
      if (entry?.type !== type) out.push(`errorCodes has ${entry ? `${entry.type} for` : 'no entry for'} code ${code} (FlowGate needs ${type})`);
    }
    return out;
  },
};

/**
 * What changed in `found` against what FlowGate needs: one line per problem, empty when
 * everything is as in kafkajs KAFKAJS_VERSION.
 */
export function kafkajsProblems(found: KafkajsFiles): string[] {
  const out: string[] = [];
  if (found.version !== KAFKAJS_VERSION) out.push(`kafkajs/package.json says version ${found.version ?? '(none)'}`);
  for (const [file, check] of Object.entries(required)) {
    if (!(file in found.files)) {
      out.push(`kafkajs/${file} is missing`);
      continue;
    }
    for (const p of check(found.files[file])) out.push(`kafkajs/${file} ${p}`);
  }
  return out;
}

/** Throws one error listing every problem kafkajsProblems finds; else the typed internals. */
export function checkKafkajs(found: KafkajsFiles): KafkajsInternals {
  const problems = kafkajsProblems(found);
  if (problems.length > 0) {
    throw new Error(`kafkajs is not the release FlowGate was built against: FlowGate needs kafkajs ${KAFKAJS_VERSION} exactly ` +
      `(package.json pins it; src/kafka/kafkajs-internals.ts lists what it uses). What changed: ${problems.join('; ')}`);
  }
  const f = found.files as Record<string, never>;
  mendIdlePolling(f['src/network/requestQueue/index.js']);
  const loggers = f['src/loggers/index.js'] as Pick<KafkajsInternals, 'createLogger' | 'LEVELS'>;
  return {
    Cluster: f['src/cluster/index.js'],
    createLogger: loggers.createLogger,
    LEVELS: loggers.LEVELS,
    socketFactory: f['src/network/socketFactory.js'],
    errorCodes: (f['src/protocol/error.js'] as { errorCodes: KafkajsErrorEntry[] }).errorCodes,
    codecs: (f['src/protocol/message/compression/index.js'] as { Codecs: KafkajsInternals['codecs'] }).Codecs,
  };
}

interface RequestQueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
}

/**
 * kafkajs 2.2.4's RequestQueue checks its pending requests after every response and then
 * schedules the next check at `throttledUntil - Date.now()`, which is hugely negative when not
 * throttled (throttledUntil is -1): Node runs it after 1 ms, and it schedules itself again, so
 * every broker connection spins a 1 kHz timer for the life of the process (idle CPU of every
 * FlowGate process; Node 24 also prints a TimeoutNegativeWarning on stderr, outside the JSON
 * log). Mended here: with nothing pending and no throttle there is nothing to check later (a
 * request that arrives then is sent or queued by push(), which schedules a check itself).
 */
function mendIdlePolling(RequestQueue: { prototype: Record<string, unknown> }): void {
  const proto = RequestQueue.prototype;
  const original = proto.scheduleCheckPendingRequests as ((this: RequestQueueState) => void) & { mended?: boolean };
  if (original.mended) return;
  const mended = function scheduleCheckPendingRequests(this: RequestQueueState): void {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now() && !this.throttleCheckTimeoutId) return;
    original.call(this);
  };
  (mended as { mended?: boolean }).mended = true;
  proto.scheduleCheckPendingRequests = mended;
}

/** kafkajs's public API (Kafka, consumer, admin), loaded on first use. */
export function publicKafkajs(): typeof KafkajsPublic {
  return createRequire(import.meta.url)('kafkajs') as typeof KafkajsPublic;
}

/**
 * Lets kafkajs decompress the batches it fetches with FlowGate's codecs (the consumers of the raw
 * and template topics, main thread; kafkajs itself has gzip only). Producing never uses this
 * table (protocol/compression.ts compresses itself).
 */
export function registerConsumerCodecs(table: ReadonlyMap<number, () => unknown>): void {
  for (const [id, codec] of table) kafkajs.codecs[id] = codec;
}

type RequestFraming = ((args: { request: InternalRequest; correlationId: number; clientId: string | null }) => Promise<{ buffer: Buffer }>) & { framed?: boolean };

/**
 * Replaces kafkajs's request framing (protocol/request.js) in the module cache, before
 * network/connection.js requires it: a request with frame() is framed by it (one buffer, written
 * once: protocol/request-frame.ts says why), any other (kafkajs's own: metadata, ApiVersions,
 * SASL, the consumer group's) by kafkajs as before. The connection only writes `.buffer`.
 */
function mendRequestFraming(require: NodeJS.Require): void {
  let path: string;
  try {
    path = require.resolve('kafkajs/src/protocol/request.js');
  } catch {
    return; // missing: kafkajsProblems says so
  }
  const original = require(path) as RequestFraming;
  const cached = require.cache[path];
  if (typeof original !== 'function' || original.framed || !cached) return;
  const framed: RequestFraming = async (args) => {
    const frame = args.request.frame;
    if (frame === undefined) return original(args);
    const buffer = frame(args.correlationId, args.clientId);
    return { buf: buffer, buffer };
  };
  framed.framed = true;
  cached.exports = framed;
}

/** Reads the installed kafkajs: its version and the files above (a file that fails to load is left out). */
export function readInstalledKafkajs(): KafkajsFiles {
  const require = createRequire(import.meta.url);
  mendRequestFraming(require);
  let version: string | undefined;
  try {
    version = (require('kafkajs/package.json') as { version?: string }).version;
  } catch {
    version = undefined;
  }
  const files: Record<string, unknown> = {};
  for (const file of Object.keys(required)) {
    try {
      files[file] = require(`kafkajs/${file}`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  return { version, files };
}

/** Loaded and checked once, when the Kafka client module loads (in a decoder worker). */
export const kafkajs: KafkajsInternals = checkKafkajs(readInstalledKafkajs());
