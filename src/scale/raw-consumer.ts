// Role decode: this instance is a member of the consumer group scale.group on the raw topic.
// kafkajs's consumer does membership, assignment and offsets; each fetched datagram goes into the
// ring of the worker that owns its exporter (the receiver's hash), in partition order, and is
// decoded and delivered exactly as in role all. An offset is committed only once every message
// up to it is settled (offset-tracker.ts, the workers' progress): a decoder that dies loses
// nothing, the group gives its partitions to the others, which decode again what it had not
// committed. Before the first batch of a partition it was given, the template topic is read to
// its end (template-reader.ts): data is decoded from the first datagram after a rebalance.
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../log.js';
import type { DecoderPool } from '../decoder/pool.js';
import { ownerWorker } from '../net/exporter-owner.js';
import { partitionForKey } from '../kafka/partitioner.js';
import { addressText } from '../net/address.js';
import { OffsetTracker } from './offset-tracker.js';
import { workerProgress, Cell } from './progress.js';
import { RAW_ENTRY_ADDRESS, RAW_ENTRY_BYTES, RAW_FLAG_RELIABLE, RAW_FLAG_SESSION_END, RAW_MESSAGE_HEADER_BYTES, nextRawEntry, rawCount, rawLength, rawPort, rawProblem,
  rawReceivedAt, rawTransportFlags, rawSkipReasons,
  type RawSkipReason } from './raw-message.js';
import type { TemplateReader } from './template-reader.js';
import type { Admission } from '../udp/admission.js';
import { SLOT_FLAG_RELIABLE, SLOT_FLAG_SESSION_END } from '../ring/slots.js';

export interface RawConsumerSettings {
  topic: string;
  group: string;
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  /** A worker's Kafka queue fill past which no more is pushed to it (the raw topic is the buffer). */
  queueHighWater: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FETCH_MIN_BYTES = 256 * 1024;
const FETCH_MAX_WAIT_MS = 20;
/** Datagrams a worker's ring holds at most from the raw topic: about 2 ms of decoding. */
const RING_PUSH_LIMIT = 512;
/** Exporters remembered per partition for /api/exporters and /api/scale. */
const EXPORTERS_PER_PARTITION = 1000;

export class RawConsumer {
  readonly #consumer: Consumer;
  readonly #kafka: Kafka;
  /** Partitions of the raw topic (what the receivers' partitioner maps an exporter with). */
  #partitionCount = 0;
  readonly #settings: RawConsumerSettings;
  readonly #pool: DecoderPool;
  readonly #templates: TemplateReader | null;
  readonly #log: Logger;
  readonly #tracker: OffsetTracker;
  readonly #progress: Float64Array[];
  /** Datagrams a worker's ring may hold before pushing waits (a fraction of its slots). */
  readonly #ringLimit: number;
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> = Promise.resolve();
  #draining = false;
  #joined = false;
  #generation = 0;
  /** Partition -> the generation its templates were caught up for. */
  readonly #caughtUp = new Map<number, number>();
  #assigned: number[] = [];
  /** Which exporters are protected (their ring slots say so, as the receiver's do); set again on reload. */
  #admission: Admission | null = null;
  /** Partition -> exporters seen on it (text). */
  readonly exportersByPartition = new Map<number, Set<string>>();
  readonly lag = new Map<number, number>();
  readonly counters = {
    /** Raw messages fetched and read (each holds one or more datagrams of one exporter). */
    messages: 0,
    /** Datagrams of them handed to the workers. */
    datagrams: 0,
    bytes: 0,
    /** Messages skipped whole (raw_*), datagrams skipped (too_large). */
    skipped: Object.fromEntries([...rawSkipReasons, 'too_large'].map((r) => [r, 0])) as Record<RawSkipReason | 'too_large', number>,
    /** Messages fetched again that were already on their way (after a rebalance or a retried fetch). */
    refetched: 0,
    rebalances: 0,
    commits: 0,
    commitErrors: 0,
    /** Messages of partitions taken away before their offsets were committed: their next owner decodes them again. */
    uncommittedOnRevoke: 0,
    /** ms pushing waited for a worker (queue past its high water, or ring full). */
    waitedMs: 0,
  };

  constructor(kafka: Kafka, settings: RawConsumerSettings, pool: DecoderPool, templates: TemplateReader | null, log: Logger) {
    this.#settings = settings;
    this.#kafka = kafka;
    this.#pool = pool;
    this.#templates = templates;
    this.#log = log;
    this.#tracker = new OffsetTracker(pool.size);
    this.#progress = Array.from({ length: pool.size }, (_, w) => workerProgress(pool.progress, w));
    this.#ringLimit = Math.min(RING_PUSH_LIMIT, pool.ring(0).slots / 2);
    this.#consumer = kafka.consumer({
      groupId: settings.group,
      sessionTimeout: settings.sessionTimeoutMs,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: 4 << 20,
      // Fuller fetches, fewer of them: a fetch (and each partition's batch in it) has a cost of
      // its own in kafkajs, paid per request whatever it carries. The wait bounds the latency added.
      minBytes: FETCH_MIN_BYTES,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      allowAutoTopicCreation: false,
    });
    this.#listen();
    // The templates imported are those of the exporters on this decoder's partitions: the
    // others are kept by the reader and imported when their partition comes here.
    if (templates) templates.filter = (exporter) => this.#assigned.includes(this.#partitionOf(exporter));
  }

  /** The raw partition an exporter's datagrams go to (as the receivers' producer keys them); -1 before the count is known. */
  #partitionOf(exporter: string): number {
    if (this.#partitionCount === 0) return -1;
    const key = Buffer.from(exporter);
    return partitionForKey(key, 0, key.length, this.#partitionCount);
  }

  async #loadPartitionCount(): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [this.#settings.topic] });
      this.#partitionCount = topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
  }

  #listen(): void {
    const c = this.#consumer;
    c.on(c.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment[this.#settings.topic] ?? [];
      const gone = this.#assigned.filter((p) => !assignment.includes(p));
      // Templates of exporters whose partition went elsewhere are imported again if it comes back (newer then).
      if (gone.length > 0) this.#templates?.release((exporter) => gone.includes(this.#partitionOf(exporter)));
      this.#assigned = [...assignment].sort((a, b) => a - b);
      this.#generation++;
      this.counters.rebalances++;
      const lost = this.#tracker.assigned(this.#assigned);
      this.counters.uncommittedOnRevoke += lost;
      for (const p of [...this.exportersByPartition.keys()]) if (!assignment.includes(p)) this.exportersByPartition.delete(p);
      for (const p of [...this.lag.keys()]) if (!assignment.includes(p)) this.lag.delete(p);
      this.#joined = true;
      this.#log.info('raw partitions assigned', { group: this.#settings.group, partitions: this.#assigned, generation: this.#generation,
        uncommittedMessagesOfPartitionsGone: lost });
    });
    // A rebalance is starting: commit what is settled, so the next owner re-decodes as little as possible.
    c.on(c.events.REBALANCING, () => void this.#commit());
    c.on(c.events.CRASH, (e) => {
      this.#log.error('raw consumer crashed', { error: String(e.payload.error), restart: e.payload.restart });
    });
  }

  /** The rules that say which exporters are protected (null: none); applies to the messages read from now on. */
  setAdmission(admission: Admission | null): void {
    this.#admission = admission;
  }

  /** Joined the group and has an assignment (readiness of role decode). */
  get joined(): boolean {
    return this.#joined;
  }

  get assigned(): readonly number[] {
    return this.#assigned;
  }

  /** Raw messages handed to the workers and not settled yet. */
  get inFlight(): number {
    return this.#tracker.inFlight;
  }

  /** Connects, joins the group and starts fetching (tried again by the caller when the broker is away). */
  async start(): Promise<void> {
    const c = this.#consumer;
    await c.connect();
    // A new group starts from the earliest raw datagram: none written before it is skipped.
    await c.subscribe({ topic: this.#settings.topic, fromBeginning: true });
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (b) => this.#eachBatch(b) });
    this.#commitTimer ??= setInterval(() => void this.#commit(), this.#settings.commitIntervalMs);
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const partition = batch.partition;
    if (this.#templates && this.#caughtUp.get(partition) !== this.#generation) {
      const generation = this.#generation;
      if (this.#partitionCount <= partition) await this.#loadPartitionCount();
      await this.#templates.catchUp();
      await this.#templates.importKept((exporter) => this.#partitionOf(exporter) === partition);
      this.#caughtUp.set(partition, generation);
    }
    let exporters = this.exportersByPartition.get(partition);
    if (!exporters) this.exportersByPartition.set(partition, (exporters = new Set()));
    let lastHeartbeat = Date.now();
    for (const m of batch.messages) {
      if (this.#draining || !isRunning() || isStale()) return;
      const offset = Number(m.offset);
      if (!this.#tracker.isNew(partition, offset)) {
        this.counters.refetched++;
        resolveOffset(m.offset);
        continue;
      }
      const value = m.value;
      const problem = rawProblem(value);
      if (problem !== null) {
        this.counters.skipped[problem]++;
        this.#log.sampled('warn', 'raw-message', 'raw topic message skipped', { topic: this.#settings.topic, partition, offset: m.offset, reason: problem });
        this.#tracker.skipped(partition, offset);
        resolveOffset(m.offset);
        continue;
      }
      const v = value!;
      this.counters.messages++;
      this.counters.bytes += v.length;
      const count = rawCount(v);
      let at = RAW_MESSAGE_HEADER_BYTES;
      // One exporter per message: its text and its slot flags once per message, not per datagram.
      const exporter = count > 0 ? addressText(v, at + RAW_ENTRY_ADDRESS) : '';
      const flags = this.#admission?.slotFlags(exporter) ?? 0;
      // A message's datagrams are all pushed (never half: its offset is resolved whole), waiting
      // for room as long as it takes; draining and rebalances are looked at between messages.
      for (let i = 0; i < count; i++, at = nextRawEntry(v, at)) {
        const addressAt = at + RAW_ENTRY_ADDRESS;
        const worker = ownerWorker(v, addressAt, this.#pool.size);
        const ring = this.#pool.ring(worker);
        const payload = v.subarray(at + RAW_ENTRY_BYTES, at + RAW_ENTRY_BYTES + rawLength(v, at));
        // IPFIX over TCP at the receiver: its transport rules in the decoder (withdrawals, no
        // expiry), and the connection's end, which is no datagram (the worker takes no mark for it).
        const transport = rawTransportFlags(v, at);
        const ended = (transport & RAW_FLAG_SESSION_END) !== 0;
        const slotFlags = flags | (ended ? SLOT_FLAG_SESSION_END : (transport & RAW_FLAG_RELIABLE) !== 0 ? SLOT_FLAG_RELIABLE : 0);
        // The raw topic is the buffer: while the worker's Kafka queue is past its high water (or
        // its ring holds enough), wait here rather than drop; the group keeps us while we heartbeat.
        let result = 1;
        for (;;) {
          // Both bounds keep what a worker holds far below its Kafka queue: a record dropped as
          // queue_full would settle its datagram, and its offset would be committed.
          if (this.#progress[worker]![Cell.FILL]! < this.#settings.queueHighWater && ring.length < this.#ringLimit) {
            result = ring.push(payload, v, addressAt, rawPort(v, at), rawReceivedAt(v, at), slotFlags);
            if (result !== 1) break;
          }
          const waitStart = Date.now();
          await sleep(2);
          this.counters.waitedMs += Date.now() - waitStart;
          if (Date.now() - lastHeartbeat > 1_000) {
            await heartbeat();
            lastHeartbeat = Date.now();
          }
        }
        if (ended) {
          this.#tracker.skipped(partition, offset); // settled at once: nothing of it waits for Kafka
        } else if (result === 2) {
          this.counters.skipped.too_large++;
          this.#tracker.skipped(partition, offset);
        } else {
          this.#tracker.pushed(partition, offset, worker);
          this.counters.datagrams++;
          if (i === 0 && exporters.size < EXPORTERS_PER_PARTITION) exporters.add(exporter);
        }
      }
      resolveOffset(m.offset);
    }
    this.lag.set(partition, Math.max(0, Number(batch.highWatermark) - 1 - Number(batch.lastOffset())));
    if (Date.now() - lastHeartbeat > 1_000) await heartbeat();
  }

  /** Reads the workers' progress and commits what is settled. */
  #commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      for (let w = 0; w < this.#progress.length; w++) this.#tracker.settle(w, this.#progress[w]![Cell.SETTLED]!);
      const due = this.#tracker.commits();
      if (due.length === 0) return;
      try {
        await this.#consumer.commitOffsets(due.map(([partition, offset]) => ({ topic: this.#settings.topic, partition, offset: String(offset) })));
        for (const [p, o] of due) this.#tracker.committed(p, o);
        this.counters.commits++;
      } catch (err) {
        // A rebalance in progress or a partition taken away: the next owner starts from the last commit.
        this.counters.commitErrors++;
        this.#log.sampled('warn', 'raw-commit', 'raw offsets not committed', { error: (err as Error).message });
      }
    });
    return this.#committing;
  }

  /**
   * Stops taking datagrams, waits (at most `timeoutMs`) until what was taken is settled, commits,
   * and leaves the group (its partitions go to the others at once).
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#draining = true;
    clearInterval(this.#commitTimer);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let w = 0; w < this.#progress.length; w++) this.#tracker.settle(w, this.#progress[w]![Cell.SETTLED]!);
      if (this.#tracker.inFlight === 0 || Date.now() >= deadline) break;
      await sleep(20);
    }
    await this.#commit();
    if (this.#tracker.inFlight > 0) this.#log.warn('raw messages not settled at stop: their next owner decodes them again', { messages: this.#tracker.inFlight });
    await this.#consumer.disconnect().catch(() => undefined);
  }
}
