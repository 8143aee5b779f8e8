// The gateway's components, built in data-path order and stopped in reverse:
//   UdpReceiver (and TcpReceiver) -> PacketRing (per worker) -> worker: WasmDecoder -> TenantRouter -> RecordProducer -> Kafka
import { availableParallelism, hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DecoderPool, type PoolOptions } from './decoder/pool.js';
import { discardPrewarmedWorkers } from './decoder/prewarm.js';
import { UdpReceiver, type ReceiverStats } from './udp/receiver.js';
import { TcpReceiver } from './tcp/receiver.js';
import { receiverDropReasons } from './pipeline/drop-reasons.js';
import type { AccountingTotals } from './pipeline/accounting.js';
import { fieldMask } from './decoder/wasm.js';
import type { Config } from './config/schema.js';
import type { RecordFormat } from './decoder/abi.js';
import type { Logger, LogLevel } from './log.js';
import { groupClient } from './kafka/client.js';
import { ensureScaleTopics } from './scale/topics.js';
import { TemplateReader } from './scale/template-reader.js';
import { RawConsumer } from './scale/raw-consumer.js';
import { messageAddressOffset } from './scale/template-message.js';
import { ownerWorker } from './net/exporter-owner.js';
import type { Role } from './scale/role.js';
import { Admission } from './udp/admission.js';
import { loadElementDefinitions } from './decoder/elements/load.js';
import { RateLimits } from './udp/rate-limit.js';

/** What the `stats` and `stopped` log lines, the metrics and the tests read: receiver counters and the one accounting sum. */
export interface Accounting {
  datagrams: { received: number; dropped: ReceiverStats['dropped']; decoded: number };
  records: Omit<AccountingTotals, 'datagrams'>;
}

/** The scale-out parts an instance runs (docs/scaling.md). */
export interface ScaleParts {
  readonly role: Role;
  readonly instanceId: string;
  /** The shared template topic's reader (null: templates not shared). */
  readonly templates: TemplateReader | null;
  /** Role decode: the raw topic's consumer group member. */
  readonly consumer: RawConsumer | null;
}

export interface Gateway {
  readonly config: Config;
  readonly scale: ScaleParts;
  readonly addresses: AddressInfo[];
  /** The TCP listeners' bound addresses (listen.tcp; none in role decode). */
  readonly tcpAddresses: AddressInfo[];
  readonly pool: DecoderPool;
  readonly receiver: UdpReceiver;
  readonly tcpReceiver: TcpReceiver;
  accounting(): Accounting;
  /** Applies what can change while running (routing); returns what needs a restart instead. */
  reload(next: Config): string[];
  /** Stops receiving, drains the rings, flushes Kafka within kafka.flush_timeout_ms. */
  stop(): Promise<void>;
}

/** How long start-up waits for the scale topics before it goes on (and keeps trying). */
const TOPICS_FIRST_TRY_MS = 5_000;

/**
 * Runs `step` until it succeeds, backing off up to 5 s between tries; resolves when it succeeded
 * or, at the latest, after `firstTryMs` (it keeps trying in the background).
 */
function untilDone(what: string, step: () => Promise<void>, log: Logger, firstTryMs: number, running: { value: boolean }): Promise<void> {
  const done = (async () => {
    for (let attempt = 1; running.value; attempt++) {
      try {
        await step();
        if (attempt > 1) log.info(`${what}: done`, { attempt });
        return;
      } catch (err) {
        log.sampled('warn', `retry:${what}`, `${what}: not possible yet, trying again`, { attempt, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5_000)));
      }
    }
  })();
  return Promise.race([done, new Promise<void>((r) => setTimeout(r, firstTryMs).unref())]);
}

/** How often the template topic is read for what other instances learnt, between catch-ups. */
const TEMPLATE_FOLLOW_MS = 1_000;

/** Keys that a reload cannot change: they shape sockets, threads and memory. */
const restartKeys = ['listen', 'workers', 'ring', 'decoder', 'kafka', 'spool', 'http', 'state', 'role', 'scale'] as const;

/** The decoder's record format for kafka.format and kafka.protobuf_length_prefix. */
export function recordFormatOf(kafka: Config['kafka']): RecordFormat {
  if (kafka.format === 'json') return 'json';
  return kafka.protobuf_length_prefix ? 'protobuf' : 'protobuf-bare';
}

/** decoder.fields as the decoder takes it: an empty list (the default) means every short field. */
export function decoderFields(decoder: Config['decoder']): readonly string[] | 'all' | undefined {
  if (decoder.fields === 'all') return 'all';
  return decoder.fields.length ? decoder.fields : undefined;
}

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  // What the workers would refuse fails here, once, before any worker gets its configuration.
  fieldMask(decoderFields(config.decoder));
  const role = config.role;
  const id = instanceId(config);
  const templateTopic = role === 'receive' ? '' : config.scale.template_topic;
  const pool = new DecoderPool(poolOptions(config, log));
  // A broker that is down at start is not a reason to stop: the topics are made once it answers
  // (a receiver spools meanwhile, a decoder is not ready), tried again in the background.
  const topics = { raw: role === 'all' ? null : config.scale.raw_topic, rawPartitions: config.scale.raw_partitions, templates: templateTopic || null };
  const running = { value: true };
  let kafka: ReturnType<typeof groupClient> | null = null;
  const makeTopics = (): Promise<void> => {
    kafka = groupClient(config.kafka, log);
    const k = kafka;
    return untilDone('scale topics', () => ensureScaleTopics(k, topics, log), log, TOPICS_FIRST_TRY_MS, running);
  };
  // A receiver's producers never auto-create the raw topic (poolOptions): its topic is made
  // after it is listening, off its start-up path (kafkajs's client loads in ~50 ms of this
  // thread); until then its workers hold or spool what comes. A decoder's producers would
  // auto-create tenant topics, and the template topic if it were missing (not compacted, then):
  // its workers start once the topics are made (or the first try ran out of time: the broker
  // is away). Role all with a template topic makes it while its workers boot, and touches it
  // only once it has a template to publish.
  const topicsMade = role === 'decode' || templateTopic ? makeTopics() : Promise.resolve();
  if (role === 'decode') await topicsMade;
  await pool.start();
  await discardPrewarmedWorkers();
  let templates: TemplateReader | null = null;
  let consumer: RawConsumer | null = null;
  // Role decode has no UDP side: its datagrams come from the raw topic.
  const receiver = new UdpReceiver(role === 'decode' ? [] : config.listen.udp, config.listen.receive_buffer_bytes, pool, log);
  // One answer per configuration, shared by every place that receives datagrams (UDP, TCP, the raw topic).
  let admission = Admission.of(config);
  receiver.setAdmission(admission);
  receiver.setRateLimits(RateLimits.of(config));
  const tcpReceiver = new TcpReceiver(role === 'decode' ? [] : config.listen.tcp, config.listen.tcp_max_connections, pool, log);
  tcpReceiver.setAdmission(admission);
  if (role !== 'decode' && config.routing.tenants.length > 0 && !config.admission.tenants_only && config.admission.allow.length === 0) {
    log.warn('admission: every source address is decoded (admission.allow empty, tenants_only off): forged exporters are decoded and take the sessions of exporters no tenant owns; set one of them', { tenants: config.routing.tenants.length });
  }
  let addresses: AddressInfo[];
  let tcpAddresses: AddressInfo[] = [];
  try {
    if (templateTopic) {
      await topicsMade;
      const layout = pool.stateLayout();
      const at = messageAddressOffset(layout);
      templates = new TemplateReader(config.kafka, templateTopic, layout, processId,
        (values, tombstones) => pool.importTemplates(values, (v) => ownerWorker(v, at, pool.size), tombstones), log);
      // Before the first datagram: every template any instance published is in the workers. With
      // the broker away, start-up goes on after a few tries.
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        try {
          const read = await templates.catchUp();
          log.info('templates loaded from the template topic', { topic: templateTopic, messages: read, sessions: templates.counters.sessionsRestored,
            ms: Math.round(performance.now() - started) });
          break;
        } catch (err) {
          if (attempt >= 3) {
            // Read once the broker answers: by the follower, and by a decoder before its first batch.
            log.warn('template topic not readable: starting without shared templates for now', { topic: templateTopic, error: (err as Error).message });
            break;
          }
          log.sampled('warn', 'template-catch-up', 'template topic not readable yet, trying again', { topic: templateTopic, attempt, error: (err as Error).message });
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2_000)));
        }
      }
      templates.follow(TEMPLATE_FOLLOW_MS);
    }
    if (role === 'decode') {
      // A worker that dies takes datagrams whose offsets are not committed: the process ends
      // (crash-only) and the group gives its partitions to the others, which decode them again.
      pool.onWorkerExit = (index) => {
        log.error('decoder worker died in role decode: exiting so the consumer group re-assigns its partitions', { worker: index });
        process.exit(70);
      };
      consumer = new RawConsumer(kafka!, config.kafka, {
        topic: config.scale.raw_topic, group: config.scale.group, commitIntervalMs: config.scale.commit_interval_ms,
        sessionTimeoutMs: config.scale.session_timeout_ms, queueHighWater: 0.5,
      }, pool, templates, log);
      consumer.setAdmission(admission);
      // Joining waits for the broker in the background: the process runs, not ready, meanwhile.
      const c = consumer;
      void untilDone('raw topic consumer group', () => c.start(), log, 0, running);
    }
    addresses = await receiver.start();
    tcpAddresses = await tcpReceiver.start();
    if (role === 'receive') void makeTopics();
  } catch (err) {
    running.value = false;
    await receiver.stop();
    await tcpReceiver.stop();
    await consumer?.stop(0);
    await templates?.stop();
    await pool.stop(0);
    throw err;
  }
  let current = config;
  const accounting = (): Accounting => {
    const { datagrams, ...records } = pool.accounting();
    // A TCP message is a datagram here: received, then decoded or dropped like one.
    const dropped = { ...receiver.stats.dropped };
    for (const reason of receiverDropReasons) dropped[reason] += tcpReceiver.stats.dropped[reason];
    return { datagrams: { received: receiver.stats.datagrams + tcpReceiver.stats.messages, dropped, decoded: datagrams }, records };
  };
  const statsTimer = config.stats.log_interval_s > 0
    ? setInterval(() => log.info('stats', { ...accounting(), workerRestarts: pool.restarts }), config.stats.log_interval_s * 1000).unref()
    : undefined;
  return {
    get config() {
      return current;
    },
    addresses,
    tcpAddresses,
    pool,
    receiver,
    tcpReceiver,
    scale: { role, instanceId: id, templates, consumer },
    accounting,
    reload(next: Config): string[] {
      const needRestart = restartKeys.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(current[k]));
      // Options records name their elements: a reload that first sets routing.options_topic brings the definitions.
      const definitions = !pool.hasDefinitions && next.routing.options_topic !== '' ? loadElementDefinitions(current.decoder.dictionaries) : undefined;
      pool.reload(next.routing, definitions);
      admission = Admission.of(next);
      receiver.setAdmission(admission);
      receiver.setRateLimits(RateLimits.of(next));
      tcpReceiver.setAdmission(admission);
      consumer?.setAdmission(admission);
      current = { ...current, routing: next.routing, stats: next.stats, log: next.log };
      return needRestart.map((k) => `${k}: changed, takes effect after a restart`);
    },
    async stop(): Promise<void> {
      if (statsTimer) clearInterval(statsTimer);
      running.value = false;
      await receiver.stop();
      // Before the rings close: each connection's SESSION_END goes into its ring.
      await tcpReceiver.stop();
      // Role decode: what was taken from the raw topic is delivered and committed before leaving the group.
      await consumer?.stop(current.kafka.flush_timeout_ms);
      await templates?.stop();
      await pool.stop(current.kafka.flush_timeout_ms);
      log.info('stopped', { ...accounting() });
    },
  };
}

/**
 * This process, for the template topic's `process` header: what it published itself it skips when
 * reading the topic back. Not the instance id, which two processes may share (one host name).
 */
export const processId = randomUUID();

/** This instance's id: scale.instance_id, or the host name (the pod name on Kubernetes). */
export function instanceId(config: Config): string {
  return config.scale.instance_id || hostname();
}

/** The decoder pool a configuration asks for: worker count, rings, and what each worker starts with. */
export function poolOptions(config: Config, log: Logger): PoolOptions {
  const workers = config.workers || availableParallelism();
  const spool = config.spool;
  return {
    workers,
    ring: config.ring,
    log,
    init: {
      decoder: {
        templateLifetimeSec: config.decoder.template_lifetime_s,
        ignoreExporterPort: config.decoder.ignore_exporter_port,
        udpWithdrawals: config.decoder.udp_withdrawals,
        sequenceWindow: config.decoder.sequence_window,
        fields: decoderFields(config.decoder),
        // Names and types of every element (the dictionaries, loaded once, here): for output by name,
        // and for options records on routing.options_topic. Not loaded otherwise (about 100 ms).
        definitions: config.decoder.fields === 'all' || config.routing.options_topic !== '' ? loadElementDefinitions(config.decoder.dictionaries) : undefined,
        heldMaxBytes: config.decoder.held_max_bytes,
        heldPerTemplateBytes: config.decoder.held_per_template_bytes,
        heldMaxAgeMs: config.decoder.held_max_age_ms,
        maxTemplatesPerExporter: config.decoder.max_templates_per_exporter,
        maxSessions: config.decoder.max_sessions,
        scaleCounters: config.decoder.scale_counters,
        recordFormat: recordFormatOf(config.kafka),
      },
      // A receiver's only topic is the raw one, made with its partitions by ensureScaleTopics: never
      // auto-created with the broker's default count by a producer that got there first.
      kafka: { ...config.kafka, autoCreateTopics: config.role !== 'receive' },
      routing: config.routing,
      output: { key: config.kafka.key, records_per_message: config.kafka.records_per_message },
      // Each worker spools into a directory of its own, with an equal share of spool.max_bytes.
      // Role decode: the raw topic is the buffer (a broker outage stops consumption), not a spool.
      spool: spool.dir === '' || config.role === 'decode' ? null : {
        dir: resolve(spool.dir), maxBytes: Math.floor(spool.max_bytes / workers), fsyncIntervalMs: spool.fsync_interval_ms,
        segmentBytes: spool.segment_bytes, queueHighWater: spool.queue_high_water,
      },
      logLevel: config.log.level as LogLevel,
      state: { ...config.state, workers },
      role: config.role,
      scale: { rawTopic: config.scale.raw_topic, templateTopic: config.scale.template_topic, instanceId: instanceId(config), processId,
        rawLingerMs: config.scale.raw_linger_ms },
    },
  };
}
