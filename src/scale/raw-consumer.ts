// Role decode: this instance is a member of the consumer group scale.group on the raw topic.
// kafkajs's consumer does membership, assignment, heartbeats and offset commits only: it runs with
// the raw topic paused, so it never fetches. The assigned partitions are fetched here with
// FlowGate's own Fetch (kafka/protocol/fetch-*.ts, sent by KafkaClient on the leader's
// connection) from their committed offset at assignment, then from this consumer's own position,
// and their records are walked in place (RecordBatchReader): no object or Buffer per raw message,
// which is what kafkajs's consumer cost per record (docs/performance.md, section 10). Each
// datagram goes into the ring of the worker that owns its exporter (the receiver's hash), in
// partition order, and is decoded and delivered exactly as in role all. An offset is committed
// only once every message up to it is settled (offset-tracker.ts, the workers' progress): a
// decoder that dies loses nothing, the group gives its partitions to the others, which decode
// again what it had not committed. Before the first records of a partition it was given, the
// template topic is read to its end (template-reader.ts): data is decoded from the first
// datagram after a rebalance.
import type { Admin, Consumer } from 'kafkajs';
import type { Kafka } from 'kafkajs';
import { KafkaClient, errorCode, type ClientSettings, type FetchResponse } from '../kafka/client.js';
import { READ_UNCOMMITTED } from '../kafka/protocol/fetch-request.js';
import { RecordBatchReader, type BatchProblem } from '../kafka/protocol/record-batch-reader.js';
import type { Logger } from '../log.js';
import type { DecoderPool } from '../decoder/pool.js';
import { ownerWorker } from '../net/exporter-owner.js';
import { partitionForKey } from '../kafka/partitioner.js';
import { addressText } from '../net/address.js';
import { OffsetTracker } from './offset-tracker.js';
import { workerProgress, Cell } from './progress.js';
import { RAW_ENTRY_ADDRESS, RAW_ENTRY_BYTES, RAW_FLAG_RELIABLE, RAW_FLAG_SESSION_END, RAW_MESSAGE_HEADER_BYTES, nextRawEntry, rawCount, rawLength, rawPort, rawProblemIn,
  rawReceivedAt, rawTransportFlags, rawSkipReasons,
  type RawSkipReason } from './raw-message.js';
import type { TemplateReader } from './template-reader.js';
import type { Admission } from '../udp/admission.js';
import { SLOT_FLAG_RELIABLE, SLOT_FLAG_SESSION_END } from '../ring/slots.js';
import { RING_FULL, RING_TOO_LARGE } from '../ring/ring.js';

export interface RawConsumerSettings {
  topic: string;
  group: string;
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  /** A worker's Kafka queue fill past which no more is pushed to it (the raw topic is the buffer). */
  queueHighWater: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noop = (): void => undefined;
/** Fuller fetches, fewer of them: each has a cost of its own, paid per request whatever it carries. The wait bounds the latency added. */
const FETCH_MIN_BYTES = 256 * 1024;
const FETCH_MAX_WAIT_MS = 20;
/**
 * After a fetch from a leader that brought nothing, the next one to it asks for the first byte and
 * waits up to this long: an idle decoder sends ten fetches a second instead of fifty (each costs
 * its main thread about 0.8 ms: kafkajs's request queue and Node's streams, docs/performance.md
 * section 18), and the first datagram after a quiet spell is answered as soon as the broker has
 * it. With several leaders, fetched in turn, data on one waits at most this long for the fetch to
 * another to end.
 */
const IDLE_FETCH_MAX_WAIT_MS = 100;
const FETCH_MAX_BYTES = 16 << 20;
const PARTITION_MAX_BYTES = 4 << 20;
/** How often the paused kafkajs consumer looks at its group (its heartbeats are every second); the fetch loop's longest wait for an assignment. */
const GROUP_POLL_MS = 100;
/** Pause after a fetch failed (connection, a leader moving) before the next one. */
const FETCH_RETRY_MS = 200;
/** Datagrams a worker's ring holds at most from the raw topic: about 2 ms of decoding. */
const RING_PUSH_LIMIT = 512;
/** Exporters remembered per partition for /api/exporters and /api/scale. */
const EXPORTERS_PER_PARTITION = 1000;
const OFFSET_OUT_OF_RANGE = 1;
/** What became of a raw message: all of it in the rings (or skipped), part of it (waiting for room), or none (stopping). */
const TAKEN = 0;
const BLOCKED = 1;
const STOPPED = 2;
type MessageStatus = typeof TAKEN | typeof BLOCKED | typeof STOPPED;
/** A batch the reader cannot read, as the raw skip reason it is counted under (each one is logged with its own name). */
const batchSkipReason: Record<BatchProblem, RawSkipReason> = { magic: 'raw_version', crc: 'raw_truncated', codec: 'raw_truncated', corrupt: 'raw_truncated' };

export class RawConsumer {
  readonly #consumer: Consumer;
  readonly #kafka: Kafka;
  /** Fetches the raw topic (FlowGate's Fetch) and lists its start offsets. */
  readonly #client: KafkaClient;
  /** Committed offsets of the group, at assignment. */
  #admin: Admin | null = null;
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
  readonly #reader = new RecordBatchReader();
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> = Promise.resolve();
  #draining = false;
  #joined = false;
  /** Between the group's rebalance and the new assignment: nothing more is taken. */
  #rebalancing = false;
  #generation = 0;
  /** Partition -> the generation its templates were caught up for. */
  readonly #caughtUp = new Map<number, number>();
  #assigned: number[] = [];
  /** Partition -> the offset of the next record to take; none for a partition assigned and not resolved yet. */
  readonly #positions = new Map<number, number>();
  /** Partitions whose position went out of the log's range: taken up again from its start. */
  readonly #outOfRange = new Set<number>();
  #fetching: Promise<void> | undefined;
  /** Wakes the fetch loop waiting for an assignment (#nextAssignment). */
  #wake: () => void = noop;
  /** Fetches sent: where the next one's partition order starts. */
  #rotation = 0;
  /** Leaders whose last fetch brought no records: fetched in the idle way (IDLE_FETCH_MAX_WAIT_MS). */
  readonly #idleLeaders = new Set<number>();
  /** The message whose datagrams are being pushed (some may be in the rings already; partition -1: none): its offset is not committed before all are. */
  #takingPartition = -1;
  #takingOffset = 0;
  /** The message being taken: its value's buffer, its next datagram entry, its datagrams and those left, its exporter and the exporter's slot flags. */
  #msgBuffer: Buffer = Buffer.alloc(0);
  #msgAt = 0;
  #msgCount = 0;
  #msgLeft = 0;
  #msgFlags = 0;
  #msgExporter = '';
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
    /** Fetch requests that failed, and partitions a fetch answered with an error (a leader moving, an offset out of range). */
    fetchErrors: 0,
    /** Fetch requests sent: gathering (FETCH_MIN_BYTES or FETCH_MAX_WAIT_MS) and idle (the first byte, or IDLE_FETCH_MAX_WAIT_MS). */
    fetches: { gathering: 0, idle: 0 },
    /** Messages of partitions taken away before their offsets were committed: their next owner decodes them again. */
    uncommittedOnRevoke: 0,
    /** ms pushing waited for a worker (queue past its high water, or ring full). */
    waitedMs: 0,
  };

  constructor(kafka: Kafka, client: ClientSettings, settings: RawConsumerSettings, pool: DecoderPool, templates: TemplateReader | null, log: Logger) {
    this.#settings = settings;
    this.#kafka = kafka;
    this.#client = new KafkaClient({ ...client, autoCreateTopics: false }, log);
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
      // The topic is paused: kafkajs's fetch loop only waits this long, heartbeats, and looks again.
      maxWaitTimeInMs: GROUP_POLL_MS,
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
      // kafkajs fetches nothing: this consumer does (its pause holds across rebalances, and is set
      // again here for a consumer kafkajs restarted after a crash).
      c.pause([{ topic: this.#settings.topic }]);
      const assignment = e.payload.memberAssignment[this.#settings.topic] ?? [];
      const gone = this.#assigned.filter((p) => !assignment.includes(p));
      // Templates of exporters whose partition went elsewhere are imported again if it comes back (newer then).
      if (gone.length > 0) this.#templates?.release((exporter) => gone.includes(this.#partitionOf(exporter)));
      this.#assigned = [...assignment].sort((a, b) => a - b);
      this.#generation++;
      this.counters.rebalances++;
      const lost = this.#tracker.assigned(this.#assigned);
      this.counters.uncommittedOnRevoke += lost;
      // A partition kept goes on from this consumer's position (nobody else read it meanwhile); a
      // new one starts from the group's committed offset, resolved by the fetch loop.
      for (const p of [...this.#positions.keys()]) if (!assignment.includes(p)) this.#positions.delete(p);
      for (const p of [...this.exportersByPartition.keys()]) if (!assignment.includes(p)) this.exportersByPartition.delete(p);
      for (const p of [...this.lag.keys()]) if (!assignment.includes(p)) this.lag.delete(p);
      this.#rebalancing = false;
      this.#joined = true;
      this.#wakeLoop();
      this.#log.info('raw partitions assigned', { group: this.#settings.group, partitions: this.#assigned, generation: this.#generation,
        uncommittedMessagesOfPartitionsGone: lost });
    });
    // A rebalance is starting: take nothing more, commit what is settled, so the next owner re-decodes as little as possible.
    c.on(c.events.REBALANCING, () => {
      this.#rebalancing = true;
      void this.#commit();
    });
    c.on(c.events.CRASH, (e) => {
      // kafkajs left the group (and joins again when it restarts): take nothing until the next
      // assignment, and start every partition of it from the group's committed offset, since
      // another member may have held it meanwhile.
      this.#rebalancing = true;
      this.#positions.clear();
      this.#log.error('raw consumer crashed', { error: String(e.payload.error), restart: e.payload.restart });
    });
  }

  #wakeLoop(): void {
    const wake = this.#wake;
    this.#wake = noop;
    wake();
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
    await this.#client.connect();
    await this.#client.loadTopics([this.#settings.topic]);
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      await admin.connect();
      // Its metadata now: kafkajs's admin finds the group coordinator by node id, which a fresh
      // admin does not know yet, and waits its 100 ms retry to learn it (at every assignment's
      // first offsets otherwise: a new decoder's first record, a rebalance's pause).
      await admin.fetchTopicMetadata({ topics: [this.#settings.topic] });
      this.#admin = admin;
    }
    await c.connect();
    // A new group starts from the earliest raw datagram: none written before it is skipped.
    await c.subscribe({ topic: this.#settings.topic, fromBeginning: true });
    // kafkajs's own fetch loop never hands a batch here: the topic is paused at every assignment.
    await c.run({ autoCommit: false, partitionsConsumedConcurrently: 1, eachBatch: async () => undefined });
    this.#commitTimer ??= setInterval(() => void this.#commit(), this.#settings.commitIntervalMs);
    this.#fetching ??= this.#fetchLoop();
  }

  /** Fetches the assigned partitions from their positions and takes what comes, until stop(). */
  async #fetchLoop(): Promise<void> {
    while (!this.#draining) {
      if (!this.#joined || this.#rebalancing || this.#assigned.length === 0) {
        await this.#nextAssignment();
        continue;
      }
      const generation = this.#generation;
      try {
        await this.#resolvePositions(generation);
        if (generation !== this.#generation || this.#rebalancing) continue;
        let failed = false;
        for (const [leader, partitions] of this.#byLeader()) {
          if (leader < 0) {
            failed = true;
            continue;
          }
          const idle = this.#idleLeaders.has(leader);
          this.counters.fetches[idle ? 'idle' : 'gathering']++;
          const response = await this.#client.fetchRecords(leader, {
            maxWaitMs: idle ? IDLE_FETCH_MAX_WAIT_MS : FETCH_MAX_WAIT_MS, minBytes: idle ? 1 : FETCH_MIN_BYTES, maxBytes: FETCH_MAX_BYTES, isolationLevel: READ_UNCOMMITTED,
            topics: [{ topic: this.#settings.topic, partitions: partitions.map((partition) => ({ partition, offset: this.#positions.get(partition)!, maxBytes: PARTITION_MAX_BYTES })) }],
          });
          if (response.partitions.some((p) => p.recordsEnd > p.recordsStart)) this.#idleLeaders.delete(leader);
          else this.#idleLeaders.add(leader);
          if (!(await this.#take(response, generation))) failed = true;
          if (this.#draining || generation !== this.#generation || this.#rebalancing) break;
        }
        if (failed) {
          // A leader moved or is not known: the metadata again, and a short pause.
          await this.#client.refreshMetadata().catch(() => undefined);
          await sleep(FETCH_RETRY_MS);
        }
      } catch (err) {
        this.counters.fetchErrors++;
        this.#log.sampled('warn', 'raw-fetch', 'raw topic fetch failed, trying again', { topic: this.#settings.topic, error: (err as Error).message, type: errorCode(err) });
        await sleep(FETCH_RETRY_MS);
      }
    }
  }

  /** Resolves at the next assignment (GROUP_JOIN) or stop(), or after GROUP_POLL_MS at most. */
  #nextAssignment(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = noop;
        resolve();
      }, GROUP_POLL_MS);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * The assigned partitions with a position, by the node id of their leader (-1: no leader known).
   * The order turns by one each fetch: the broker fills a response partition by partition up to
   * its byte limit, so a fixed order could leave the last ones out for as long as the first have
   * a backlog (KIP-74).
   */
  #byLeader(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const assigned = this.#assigned;
    const first = this.#rotation++ % assigned.length;
    for (let i = 0; i < assigned.length; i++) {
      const p = assigned[(first + i) % assigned.length]!;
      if (!this.#positions.has(p)) continue;
      const leader = this.#client.leaderOf(this.#settings.topic, p);
      let list = out.get(leader);
      if (!list) out.set(leader, (list = []));
      list.push(p);
    }
    return out;
  }

  /**
   * Positions of the partitions assigned without one: the group's committed offset, or the log's
   * start when the group has none (a new group reads from the earliest raw datagram) or when the
   * position fell out of the log's range (retention removed what this group had not read).
   */
  async #resolvePositions(generation: number): Promise<void> {
    const missing = this.#assigned.filter((p) => !this.#positions.has(p));
    if (missing.length === 0) return;
    const committed = new Map<number, number>();
    const [topic] = await this.#admin!.fetchOffsets({ groupId: this.#settings.group, topics: [this.#settings.topic] });
    for (const p of topic?.partitions ?? []) committed.set(p.partition, Number(p.offset));
    let starts: Map<number, bigint> | undefined;
    for (const p of missing) {
      let offset = this.#outOfRange.has(p) ? -1 : committed.get(p) ?? -1;
      if (offset < 0) {
        starts ??= await this.#client.startOffsets(this.#settings.topic);
        offset = Number(starts.get(p) ?? 0n);
      }
      if (generation !== this.#generation) return; // assigned again meanwhile: resolved anew
      this.#positions.set(p, offset);
      this.#outOfRange.delete(p);
    }
  }

  /**
   * Takes the records of one fetch response, partition by partition, in offset order. Returns false
   * when a partition was answered with an error (its position is kept, or reset to the log's start
   * when it fell out of range); stops early, leaving the rest to the next fetch, when draining or
   * when the group rebalances.
   */
  async #take(response: FetchResponse, generation: number): Promise<boolean> {
    this.#holdWakes(true);
    try {
      return await this.#takeHeld(response, generation);
    } finally {
      this.#holdWakes(false);
    }
  }

  /**
   * A response's datagrams go to the rings as a burst: workers are woken once for it, not after
   * each datagram (ring.ts holdWakes). Released before every wait, so no worker sleeps on work.
   */
  #holdWakes(hold: boolean): void {
    for (let w = 0; w < this.#pool.size; w++) {
      const ring = this.#pool.ring(w);
      if (hold) ring.holdWakes();
      else ring.releaseWakes();
    }
  }

  async #takeHeld(response: FetchResponse, generation: number): Promise<boolean> {
    let ok = true;
    for (const fp of response.partitions) {
      const partition = fp.partition;
      if (this.#draining || generation !== this.#generation || this.#rebalancing) return ok;
      let position = this.#positions.get(partition);
      if (position === undefined) continue;
      if (fp.errorCode !== 0) {
        ok = false;
        this.counters.fetchErrors++;
        if (fp.errorCode === OFFSET_OUT_OF_RANGE) {
          this.#outOfRange.add(partition);
          this.#positions.delete(partition);
        }
        this.#log.sampled('warn', `raw-fetch-${fp.errorCode}`, 'raw topic partition not fetched, trying again', { topic: this.#settings.topic, partition, offset: position,
          errorCode: fp.errorCode, outOfRange: fp.errorCode === OFFSET_OUT_OF_RANGE });
        continue;
      }
      if (fp.recordsEnd > fp.recordsStart) {
        if (this.#templates && this.#caughtUp.get(partition) !== generation) {
          this.#holdWakes(false);
          if (this.#partitionCount <= partition) await this.#loadPartitionCount();
          await this.#templates.catchUp();
          await this.#templates.importKept((exporter) => this.#partitionOf(exporter) === partition);
          this.#caughtUp.set(partition, generation);
          this.#holdWakes(true);
          if (this.#draining || generation !== this.#generation || this.#rebalancing) return ok;
        }
        const r = this.#reader.reset(response.body, fp.recordsStart, fp.recordsEnd);
        while (r.nextBatch()) {
          if (r.problem === null && r.compressed) await r.decompress();
          if (r.problem === null && !r.isControl) {
            while (r.nextRecord()) {
              const offset = r.offset;
              if (offset < position) continue; // the batch starts before the position asked
              let status = this.#takeMessage(partition, offset, r.buffer, r.valueStart, r.valueLength, generation);
              if (status === BLOCKED) status = await this.#finishMessage();
              if (status === STOPPED) {
                this.#advance(partition, position, fp.highWatermark);
                return ok;
              }
              position = offset + 1;
            }
          }
          const next = r.nextOffset;
          if (r.problem !== null) {
            // A batch (or its rest) that cannot be read is counted once and gone past: read again, it would be the same.
            const reason = batchSkipReason[r.problem];
            this.counters.skipped[reason]++;
            this.#log.sampled('warn', 'raw-batch', 'raw topic batch skipped', { topic: this.#settings.topic, partition, baseOffset: r.baseOffset, problem: r.problem, reason });
            if (next > position && this.#tracker.isNew(partition, next - 1)) this.#tracker.skipped(partition, next - 1);
          }
          // Past the batch's last offset (records compaction removed, control records, a damaged batch).
          if (next > position) position = next;
        }
      }
      this.#advance(partition, position, fp.highWatermark);
    }
    return ok;
  }

  /** The partition's next offset to fetch, and its lag; only while it is still assigned (a rebalance during the response's awaits may have taken it away). */
  #advance(partition: number, position: number, highWatermark: number): void {
    if (!this.#positions.has(partition)) return;
    this.#positions.set(partition, position);
    this.lag.set(partition, Math.max(0, highWatermark - position));
  }

  /**
   * Takes one raw message, `v[valueStart, valueStart + valueLength)` (valueLength -1: no value), at
   * `offset` of `partition`: its datagrams into the workers' rings. Synchronous while there is
   * room (no promise or object per message); when a worker has none, the message is left part
   * taken (#msg*) and #finishMessage() waits for room and pushes the rest. Returns TAKEN, BLOCKED,
   * or STOPPED (nothing taken: draining, or the group rebalancing).
   */
  #takeMessage(partition: number, offset: number, v: Buffer, valueStart: number, valueLength: number, generation: number): MessageStatus {
    if (this.#draining || generation !== this.#generation || this.#rebalancing) return STOPPED;
    if (!this.#tracker.isNew(partition, offset)) {
      this.counters.refetched++;
      return TAKEN;
    }
    const problem = valueLength < 0 ? 'raw_no_value' : rawProblemIn(v, valueStart, valueStart + valueLength);
    if (problem !== null) {
      this.counters.skipped[problem]++;
      this.#log.sampled('warn', 'raw-message', 'raw topic message skipped', { topic: this.#settings.topic, partition, offset, reason: problem });
      this.#tracker.skipped(partition, offset);
      return TAKEN;
    }
    this.counters.messages++;
    this.counters.bytes += valueLength;
    const at = valueStart + RAW_MESSAGE_HEADER_BYTES;
    // One exporter per message: its text and its slot flags once per message, not per datagram.
    const exporter = addressText(v, at + RAW_ENTRY_ADDRESS);
    this.#msgExporter = exporter;
    this.#msgBuffer = v;
    this.#msgAt = at;
    this.#msgCount = rawCount(v, valueStart);
    this.#msgLeft = this.#msgCount;
    this.#msgFlags = this.#admission?.slotFlags(exporter) ?? 0;
    this.#takingPartition = partition;
    this.#takingOffset = offset;
    return this.#pushDatagrams();
  }

  /**
   * Pushes the datagrams left of the message being taken, in order, while their workers have
   * room: TAKEN when none is left, BLOCKED at the first that must wait. Each datagram's worker is
   * the one that owns its exporter. The bounds keep what a worker holds far below its Kafka queue:
   * a record dropped as queue_full would settle its datagram, and its offset would be committed.
   */
  #pushDatagrams(): MessageStatus {
    const v = this.#msgBuffer;
    const partition = this.#takingPartition;
    const offset = this.#takingOffset;
    for (; this.#msgLeft > 0; this.#msgLeft--, this.#msgAt = nextRawEntry(v, this.#msgAt)) {
      const at = this.#msgAt;
      const addressAt = at + RAW_ENTRY_ADDRESS;
      const worker = ownerWorker(v, addressAt, this.#pool.size);
      const ring = this.#pool.ring(worker);
      if (this.#progress[worker]![Cell.FILL]! >= this.#settings.queueHighWater || ring.length >= this.#ringLimit) return BLOCKED;
      // IPFIX over TCP at the receiver: its transport rules in the decoder (withdrawals, no
      // expiry), and the connection's end, which is no datagram (the worker takes no mark for it).
      const transport = rawTransportFlags(v, at);
      const ended = (transport & RAW_FLAG_SESSION_END) !== 0;
      const slotFlags = this.#msgFlags | (ended ? SLOT_FLAG_SESSION_END : (transport & RAW_FLAG_RELIABLE) !== 0 ? SLOT_FLAG_RELIABLE : 0);
      const payload = v.subarray(at + RAW_ENTRY_BYTES, at + RAW_ENTRY_BYTES + rawLength(v, at));
      const result = ring.push(payload, v, addressAt, rawPort(v, at), rawReceivedAt(v, at), slotFlags);
      if (result === RING_FULL) return BLOCKED;
      if (ended) {
        this.#tracker.skipped(partition, offset); // settled at once: nothing of it waits for Kafka
      } else if (result === RING_TOO_LARGE) {
        this.counters.skipped.too_large++;
        this.#tracker.skipped(partition, offset);
      } else {
        this.#tracker.pushed(partition, offset, worker);
        this.counters.datagrams++;
        if (this.#msgLeft === this.#msgCount) this.#sawExporter(partition, this.#msgExporter);
      }
    }
    this.#takingPartition = -1;
    return TAKEN;
  }

  /**
   * The raw topic is the buffer: while a worker's Kafka queue is past its high water (or its ring
   * holds enough), wait here rather than drop; kafkajs keeps heartbeating meanwhile. A message is
   * pushed whole (its offset settles whole) however long that takes, unless none of it was pushed
   * yet when stopping: then it is left, whole, to the next owner (STOPPED).
   */
  async #finishMessage(): Promise<MessageStatus> {
    for (;;) {
      if (this.#draining && this.#msgLeft === this.#msgCount) {
        this.#takingPartition = -1;
        return STOPPED;
      }
      const waitStart = Date.now();
      this.#holdWakes(false); // the workers make the room
      await sleep(2);
      this.#holdWakes(true);
      this.counters.waitedMs += Date.now() - waitStart;
      if (this.#pushDatagrams() === TAKEN) return TAKEN;
    }
  }

  /** Remembers an exporter of a partition (/api/exporters, /api/scale), up to EXPORTERS_PER_PARTITION. */
  #sawExporter(partition: number, exporter: string): void {
    let exporters = this.exportersByPartition.get(partition);
    if (!exporters) this.exportersByPartition.set(partition, (exporters = new Set()));
    if (exporters.size < EXPORTERS_PER_PARTITION) exporters.add(exporter);
  }

  /** Reads the workers' progress and commits what is settled. */
  #commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      for (let w = 0; w < this.#progress.length; w++) this.#tracker.settle(w, this.#progress[w]![Cell.SETTLED]!);
      // A message half in the rings: its datagrams pushed so far may all be settled, but the
      // offset after it is not due before the rest are (the tracker sees only what was pushed).
      const partition = this.#takingPartition;
      const offset = this.#takingOffset;
      const due = this.#tracker.commits().filter(([p, o]) => p !== partition || o <= offset);
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
    this.#wakeLoop();
    clearInterval(this.#commitTimer);
    const deadline = Date.now() + timeoutMs;
    // The fetch loop ends after the message it is pushing (waiting for room, it may not end in time: see #takingPartition).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#fetching, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    for (;;) {
      for (let w = 0; w < this.#progress.length; w++) this.#tracker.settle(w, this.#progress[w]![Cell.SETTLED]!);
      if (this.#tracker.inFlight === 0 || Date.now() >= deadline) break;
      await sleep(20);
    }
    await this.#commit();
    if (this.#tracker.inFlight > 0) this.#log.warn('raw messages not settled at stop: their next owner decodes them again', { messages: this.#tracker.inFlight });
    await this.#consumer.disconnect().catch(() => undefined);
    await this.#admin?.disconnect().catch(() => undefined);
    await this.#client.disconnect();
  }
}
