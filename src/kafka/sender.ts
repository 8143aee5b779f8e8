// The send loop (the Java client's Sender): connects, keeps the topics' metadata, obtains a
// producer id for idempotence, and sends sealed batches: to each broker, one Produce request with
// the next batch of every partition it leads, up to max_in_flight requests per broker not yet
// answered. Then per batch: written (acknowledged); not written for a reason that may pass
// (connection lost, leader moved, producer id forgotten: kept, sent again after a backoff, in
// order); too large (split in two); refused for good (dropped, "kafka_rejected"). What is left
// when close's deadline passes is dropped ("shutdown").
//
// Batches come in through enqueue(), in order per partition: from the accumulator as they are
// sealed, and from any other source of sealed batches (a disk spool replaying what an earlier
// run could not deliver). Each batch enqueued ends in exactly one acknowledged() or dropped().
import type { Logger } from '../log.js';
import { connectionRefusal, errorCode, type ClientSettings, type PartitionResult, type ProduceClient } from './client.js';
import { codecId, compress, type CompressionName } from './protocol/compression.js';
import type { ProduceTopic } from './protocol/produce-request.js';
import type { ProduceErrorType } from './protocol/produce-response.js';
import { sealBatch, stampBatch } from './protocol/record-batch.js';
import { splitBatch, type BatchDropReason, type QueuedBatch } from './queued-batch.js';
import { Sequences, type PartitionSequence } from './sequences.js';

export interface SenderSettings extends Pick<ClientSettings, 'brokers'> {
  acks: -1 | 0 | 1;
  idempotent: boolean;
  compression: CompressionName;
  /** Produce requests in flight per broker (at most 5 with idempotence, as Kafka allows). */
  max_in_flight: number;
}

/** What the sender reports. Every batch enqueued ends in exactly one acknowledged() or dropped(). */
export interface SenderEvents {
  /** The broker wrote `b` (or had written it already: a duplicate of a retry). */
  acknowledged(b: QueuedBatch, now: number): void;
  /** `b` was not written this time for a reason that may pass (`code`); the sender keeps it and sends it again. */
  retrying(b: QueuedBatch, code: string): void;
  /** `b` leaves the sender unwritten. */
  dropped(b: QueuedBatch, reason: BatchDropReason, code: string): void;
  /** The broker found `b` too large: it is split in two; answers the batch size cap for new batches. */
  tooLarge(b: QueuedBatch): number;
  /** Every error met (connection, metadata, producer id, a partition's error code), for the error counter. */
  error(code: string): void;
}

/** Where topics and lingering batches come from: the accumulator. */
export interface BatchSource {
  /** Topics whose metadata the sender keeps loaded. */
  topics(): Iterable<string>;
  /** `topic` has `partitions` partitions, each with a leader. */
  partitionsKnown(topic: string, partitions: number): void;
  /** The broker refuses `topic` (its error type), or takes it again (null): its records are dropped as kafka_rejected meanwhile. */
  topicRefused(topic: string, error: string | null): void;
  /**
   * Seals the batches whose linger is over (all with `all`), which come back through enqueue();
   * ms until the next is due. A due batch for which `hold` answers true is left open (filling)
   * and not counted in the answer: the sender calls again when a request completes.
   */
  sealDue(now: number, all: boolean, hold?: (topic: string, partition: number) => boolean): number;
  /** Records waiting in all (for the logs). */
  readonly queuedRecords: number;
}

// The error types told apart (protocol/produce-response.ts lists them, kafkajs-internals.ts checks
// kafkajs names them so); every other one is retriable or not as kafkajs's error table says.
const DUPLICATE: ProduceErrorType = 'DUPLICATE_SEQUENCE_NUMBER';
const OUT_OF_ORDER: ProduceErrorType = 'OUT_OF_ORDER_SEQUENCE_NUMBER';
/** Codes after which the producer id must be renewed and sequences start again at 0. */
const PRODUCER_ID_ERRORS: ReadonlySet<string> = new Set<ProduceErrorType>([OUT_OF_ORDER, 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
const TOO_LARGE: ReadonlySet<string> = new Set<ProduceErrorType>(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** Metadata is refreshed at least this often, so added partitions and moved leaders are seen. */
const METADATA_MAX_AGE_MS = 300_000;
const NO_REFUSALS: ReadonlyMap<string, string> = new Map();

interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  /** Sealed batches in order; the first `inFlight` of them are in requests not answered yet. */
  readonly batches: QueuedBatch[];
  inFlight: number;
  /** A batch failed while others were in flight: send one at a time, in order, until one succeeds. */
  retrying: boolean;
  /** Batches left the partition unwritten (dropped, split): renumber the rest once none is in flight. */
  resequence: boolean;
  /** When the partition's batches started failing (ms), 0 while they are written. */
  failingSince: number;
  readonly sequence: PartitionSequence;
}

/** A partition whose batches have failed this long is unavailable: its batches go to the disk spool. */
export const UNAVAILABLE_AFTER_MS = 1_000;

interface Outgoing {
  q: PartitionQueue;
  b: QueuedBatch;
}

export class Sender {
  readonly #settings: SenderSettings;
  readonly #client: ProduceClient;
  readonly #source: BatchSource;
  readonly #events: SenderEvents;
  readonly #log: Logger;
  readonly #sequences: Sequences;
  readonly #codec: number;
  /** Partition queues by topic, indexed by partition. */
  readonly #queues = new Map<string, PartitionQueue[]>();
  #connected = false;
  #closing = false;
  #stopped = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  /** Topic metadata must be (re)loaded: at start, for a new topic, after a leader moved. */
  #metadataStale = true;
  #metadataAt = Date.now();
  /** Produce requests not answered yet, per broker, and in all. */
  readonly #requestsByLeader = new Map<number, number>();
  #requests = 0;
  readonly #outstanding = new Set<Promise<void>>();
  /** After a failed request, nothing is sent before this time (backoff). */
  #retryAt = 0;
  /** Topics the broker refuses (metadata), until a refresh finds them allowed. */
  readonly #refused = new Set<string>();
  #connectError: string | null = null;
  #wireChain: Promise<void> = Promise.resolve();

  constructor(settings: SenderSettings, client: ProduceClient, source: BatchSource, events: SenderEvents, log: Logger) {
    this.#settings = settings;
    this.#client = client;
    this.#source = source;
    this.#events = events;
    this.#log = log;
    this.#sequences = new Sequences(settings.idempotent);
    this.#codec = codecId(settings.compression);
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Why the last connection attempt failed (a refused certificate, wrong credentials), while not connected. */
  get connectError(): string | null {
    return this.#connected ? null : this.#connectError;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Takes a sealed batch; batches of one partition are sent in the order they were enqueued. */
  enqueue(b: QueuedBatch): void {
    let list = this.#queues.get(b.topic);
    if (!list) this.#queues.set(b.topic, (list = []));
    let q = list[b.partition];
    if (!q) {
      q = { topic: b.topic, partition: b.partition, batches: [], inFlight: 0, retrying: false, resequence: false, failingSince: 0, sequence: this.#sequences.partition() };
      list[b.partition] = q;
    }
    q.batches.push(b);
    this.#wake?.();
  }

  /**
   * Whether batches of the partition can be delivered now: the broker is connected, the partition
   * has a leader, and its batches have not been failing for UNAVAILABLE_AFTER_MS.
   */
  available(topic: string, partition: number, now: number): boolean {
    if (!this.#connected || this.#client.leaderOf(topic, partition) < 0) return false;
    const q = this.#queues.get(topic)?.[partition];
    return !q || q.failingSince === 0 || now - q.failingSince < UNAVAILABLE_AFTER_MS;
  }

  /** Partitions of `topic` with a leader each, from the metadata; 0 while not known. */
  partitionCount(topic: string): number {
    return this.#connected ? this.#client.partitionCount(topic) : 0;
  }

  /** The partitions the sender has queues for. */
  *partitions(): IterableIterator<{ topic: string; partition: number }> {
    for (const list of this.#queues.values()) for (const q of list) if (q) yield q;
  }

  /** Batches of the partition waiting or in flight, and how many are in flight. */
  pending(topic: string, partition: number): { batches: readonly QueuedBatch[]; inFlight: number } {
    const q = this.#queues.get(topic)?.[partition];
    return q ? q : { batches: [], inFlight: 0 };
  }

  /**
   * Takes every batch of the partition back (for the disk spool), in order; only when none is in
   * flight (an answer could still come for it). The sequences of what comes later start again
   * from the last acknowledged one.
   */
  withdraw(topic: string, partition: number): QueuedBatch[] {
    const q = this.#queues.get(topic)?.[partition];
    if (!q || q.inFlight > 0 || q.batches.length === 0) return [];
    const out = q.batches.splice(0);
    for (const b of out) if (b.baseSequence >= 0) q.resequence = true;
    q.retrying = false;
    q.failingSince = 0;
    return out;
  }

  /**
   * The worker is about to die: every batch, in flight or not, is taken out (for the spool) and
   * the sender stops; answers still to come change nothing.
   */
  abandon(): QueuedBatch[] {
    this.#stopped = true;
    this.#closed = true;
    const out: QueuedBatch[] = [];
    for (const q of this.#queueList()) out.push(...q.batches.splice(0));
    this.#queues.clear();
    this.#wake?.();
    return out;
  }

  /** Something changed (a batch opened, a topic added): the loop looks again now. */
  wake(): void {
    this.#wake?.();
  }

  /** A topic's metadata is needed. */
  topicAdded(): void {
    this.#metadataStale = true;
    this.#wake?.();
  }

  /**
   * Sends what is queued until `drained()` or `deadline`, then hands what is left to `leftover`
   * (the producer spools it, or drops it as "shutdown") and disconnects. A broker that is down
   * will not take anything in time: it stops at once.
   */
  async close(deadline: number, drained: () => boolean,
    leftover: (b: QueuedBatch) => void = (b) => this.#events.dropped(b, 'shutdown', 'shutdown')): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    while (!drained() && Date.now() < deadline && this.#connected) await new Promise((r) => setTimeout(r, 5));
    this.#stopped = true;
    this.#wake?.();
    // Requests still in flight get what is left of the time; after that their batches count as
    // "shutdown", and an answer that comes later changes nothing (#closed).
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
    this.#closed = true;
    for (const list of this.#queues.values()) {
      for (const q of list) if (q) for (const b of q.batches) leftover(b);
    }
    this.#queues.clear();
    await this.#client.disconnect();
  }

  #queueList(): PartitionQueue[] {
    const out: PartitionQueue[] = [];
    for (const list of this.#queues.values()) for (const q of list) if (q) out.push(q);
    return out;
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
    const client = this.#client;
    while (!this.#stopped) {
      try {
        if (!this.#connected) {
          await client.connect();
          this.#connected = true;
          this.#log.info('kafka connected', { brokers: this.#settings.brokers });
        }
      } catch (err) {
        this.#connectError = (err as Error).message;
        this.#events.error(errorCode(err));
        const refusal = connectionRefusal(err);
        if (refusal) {
          this.#log.sampled('error', 'kafka-refused', 'kafka refuses the connection; records stay queued or spooled, trying again', {
            cause: refusal, check: refusal === 'authentication' ? 'kafka.sasl (mechanism, username, password)' : 'kafka.ssl (ca_file, servername, cert_file and key_file)',
            error: (err as Error).message, queued: this.#source.queuedRecords,
          });
        } else {
          this.#log.sampled('warn', 'kafka-connect', 'kafka connection failed, retrying; records stay queued', { error: (err as Error).message, queued: this.#source.queuedRecords });
        }
        await this.#sleep(this.#backoff());
        continue;
      }
      if (Date.now() - this.#metadataAt > METADATA_MAX_AGE_MS) this.#metadataStale = true;
      if (this.#metadataStale) {
        this.#metadataStale = false;
        this.#metadataAt = Date.now();
        try {
          this.#applyRefusals((await client.loadTopics([...this.#source.topics()])) ?? NO_REFUSALS);
        } catch (err) {
          // A topic just created has no leader for a moment; the others can still be sent to.
          this.#metadataStale = true;
          this.#events.error(errorCode(err));
          this.#log.sampled('warn', 'kafka-metadata', 'kafka topic metadata not ready, will retry', { error: (err as Error).message, code: errorCode(err), queued: this.#source.queuedRecords });
          if (!client.connected) {
            this.#connected = false;
            await this.#sleep(this.#backoff());
            continue;
          }
        }
        this.#applyMetadata();
      }
      if (this.#sequences.needProducerId && this.#requests === 0) {
        // After metadata: kafkajs finds a broker for InitProducerId among those the metadata lists.
        // Only with no request in flight: a new id renumbers every batch.
        try {
          this.#sequences.reset(await client.initProducerId(), this.#queueList());
        } catch (err) {
          this.#events.error(errorCode(err));
          this.#log.sampled('warn', 'kafka-pid', 'kafka gave no producer id yet, will retry', { error: (err as Error).message, queued: this.#source.queuedRecords });
          if (!client.connected) this.#connected = false;
          // Nothing is sent without an id: a batch stamped without one would not be idempotent.
          await this.#sleep(this.#connected ? 100 : this.#backoff());
          continue;
        }
      }
      const lingerMs = this.#source.sealDue(Date.now(), this.#closing, this.#hold);
      if (!this.#sequences.needProducerId && Date.now() >= this.#retryAt) this.#launchRequests();
      await this.#sleep(this.#nextWakeMs(lingerMs));
    }
    while (this.#outstanding.size > 0) await Promise.race(this.#outstanding);
  }

  /**
   * Whether a batch of the partition sealed now could not be sent now anyway: the partition has
   * batches waiting already, or max_in_flight requests of its own in flight, or its broker has
   * max_in_flight requests outstanding. Not while its batches are failing: then batches seal on
   * their linger as ever (the disk spool takes sealed batches of an unavailable partition).
   */
  readonly #hold = (topic: string, partition: number): boolean => {
    const max = this.#settings.max_in_flight;
    const q = this.#queues.get(topic)?.[partition];
    if (q) {
      if (q.failingSince !== 0) return false;
      if (q.batches.length > q.inFlight || q.inFlight >= max) return true;
    }
    const leader = this.#client.leaderOf(topic, partition);
    return leader >= 0 && (this.#requestsByLeader.get(leader) ?? 0) >= max;
  };

  /**
   * A topic the broker refuses is said once, with the broker's error, and its records are dropped
   * (kafka_rejected) instead of waiting in the queue every tenant shares; it is tried again with
   * each metadata refresh (METADATA_MAX_AGE_MS), so a mended ACL is taken up without a restart.
   */
  #applyRefusals(refused: ReadonlyMap<string, string>): void {
    for (const [topic, error] of refused) {
      if (this.#refused.has(topic)) continue;
      this.#refused.add(topic);
      this.#events.error(error);
      this.#log.error('kafka refuses a topic: its records are dropped (kafka_rejected) until it takes it; the other topics are unaffected', { topic, error });
      this.#source.topicRefused(topic, error);
    }
    for (const topic of this.#refused) {
      if (refused.has(topic)) continue;
      this.#refused.delete(topic);
      this.#log.info('kafka takes a topic it refused before', { topic });
      this.#source.topicRefused(topic, null);
    }
  }

  /** Tells the source each topic's partition count; a topic not known yet keeps the metadata stale. */
  #applyMetadata(): void {
    for (const topic of this.#source.topics()) {
      if (this.#refused.has(topic)) continue; // tried again with the next periodic refresh
      const count = this.#client.partitionCount(topic);
      if (count === 0) this.#metadataStale = true;
      else this.#source.partitionsKnown(topic, count);
    }
  }

  /** Until the next batch's linger ends or the backoff is over; a completed request, a sealed batch or a new topic wake the loop sooner. */
  #nextWakeMs(lingerMs: number): number {
    const now = Date.now();
    if (this.#retryAt > now) return this.#retryAt - now;
    if (this.#closing) return 5;
    let next = lingerMs;
    if (this.#metadataStale) next = Math.min(next, 100);
    return next === Infinity ? 1_000 : Math.max(1, next);
  }

  /**
   * Fills each broker's window: requests, each with the next unsent batch of every partition the
   * broker leads, until the broker has max_in_flight outstanding or nothing is left to send.
   */
  #launchRequests(): void {
    while (this.#launchRound() > 0);
  }

  /** One request to each broker with room in its window; answers how many were sent. */
  #launchRound(): number {
    const max = this.#settings.max_in_flight;
    const byLeader = new Map<number, Outgoing[]>();
    for (const list of this.#queues.values()) {
      for (const q of list) {
        if (!q || q.inFlight >= q.batches.length) continue;
        if (q.inFlight > 0 && (q.retrying || q.resequence || q.inFlight >= max)) continue;
        if (q.resequence) {
          q.resequence = false;
          this.#sequences.renumber(q);
        }
        const leader = this.#client.leaderOf(q.topic, q.partition);
        if (leader < 0) {
          this.#metadataStale = true;
          continue;
        }
        if ((this.#requestsByLeader.get(leader) ?? 0) >= max) continue;
        let out = byLeader.get(leader);
        if (!out) byLeader.set(leader, (out = []));
        out.push({ q, b: q.batches[q.inFlight]! });
      }
    }
    for (const [leader, batches] of byLeader) {
      for (const { q } of batches) q.inFlight++;
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
    return byLeader.size;
  }

  /** The batch as it goes on the wire: sealed (compressed) once, stamped again after a renumbering. */
  async #wire(q: PartitionQueue, b: QueuedBatch): Promise<Buffer> {
    if (b.wire === null) {
      const compressed = this.#codec === 0 ? null : await compress(this.#settings.compression, b.builder.records());
      b.wire = sealBatch(b.builder, compressed, this.#codec, this.#sequences.stamp(q.sequence, b));
    } else if (this.#sequences.enabled && b.baseSequence < 0) {
      stampBatch(b.wire, this.#sequences.stamp(q.sequence, b));
    }
    return b.wire;
  }

  async #send(leader: number, batches: Outgoing[]): Promise<void> {
    const byTopic = new Map<string, ProduceTopic>();
    let results: PartitionResult[];
    try {
      // The wire batches of a request are built (compression is asynchronous) and numbered in one
      // step of the chain, requests in the order they were launched, and the request goes out as
      // soon as its step is done: a partition's batches get their sequences and reach the broker
      // in queue order. (Awaiting each batch on the chain in turn let a request launched later
      // slip its batches in between: the next batch of a partition numbered and sent before the
      // one ahead of it, which the broker then takes in that wrong order.)
      const built = this.#wireChain.then(async () => {
        const wires: Buffer[] = [];
        for (const { q, b } of batches) wires.push(await this.#wire(q, b));
        return wires;
      });
      this.#wireChain = built.then(() => undefined, () => undefined);
      const wires = await built;
      batches.forEach(({ q }, i) => {
        let topic = byTopic.get(q.topic);
        if (!topic) byTopic.set(q.topic, (topic = { topic: q.topic, partitions: [] }));
        topic.partitions.push({ partition: q.partition, batch: wires[i]! });
      });
      results = await this.#client.produce(leader, this.#settings.acks, [...byTopic.values()]);
    } catch (err) {
      if (this.#closed) return;
      // Nothing is known of the batches: they stay queued, with their sequences, and go again.
      const code = errorCode(err);
      this.#events.error(code);
      this.#log.sampled('warn', 'kafka-send', 'kafka send failed, will retry', { error: (err as Error).message, code, queued: this.#source.queuedRecords });
      if (!this.#client.connected) this.#connected = false;
      this.#metadataStale = true;
      for (const { q, b } of batches) {
        q.inFlight--;
        this.#unsent(q, false);
        this.#events.retrying(b, code);
      }
      this.#retryAt = Date.now() + this.#backoff();
      return;
    }
    if (this.#closed) return;
    const now = Date.now();
    /** A batch failed anew: back off before sending again. */
    let retry = false;
    /** A batch failed only because an earlier one had: that failure set the backoff already. */
    let followed = false;
    for (const { q, b } of batches) {
      const r = this.#settings.acks === 0 ? undefined : results.find((x) => x.topic === q.topic && x.partition === q.partition);
      const type = r ? r.type : this.#settings.acks === 0 ? 'NONE' : 'NO_RESPONSE_FOR_PARTITION';
      q.inFlight--;
      if (type === 'NONE' || type === DUPLICATE) {
        this.#remove(q, b);
        q.retrying = false;
        q.failingSince = 0;
        this.#sequences.acknowledged(q.sequence, b);
        this.#events.acknowledged(b, now);
        continue;
      }
      this.#events.error(type);
      if (TOO_LARGE.has(type) && b.builder.count > 1) {
        // Too large together, not each: split it, and make smaller batches from now on (the broker's limit is fixed).
        const nextCapBytes = this.#events.tooLarge(b);
        this.#log.sampled('warn', 'kafka-too-large', 'kafka refused a batch as too large, sending smaller ones', { bytes: b.builder.length, messages: b.builder.count, nextCapBytes });
        q.batches.splice(q.batches.indexOf(b), 1, ...splitBatch(b));
        this.#unsent(q, true);
      } else if (type === OUT_OF_ORDER && q.retrying && q.batches[0] !== b) {
        // An earlier batch of this window was not written, so this one could not follow it: resend
        // in order. Not a failure of its own: a window of them must not multiply the backoff.
        this.#events.retrying(b, type);
        followed = true;
      } else if (PRODUCER_ID_ERRORS.has(type)) {
        this.#log.sampled('warn', `kafka-pid:${type}`, 'kafka lost track of this producer, renewing its id', { code: type, topic: q.topic, partition: q.partition });
        this.#sequences.lost();
        this.#unsent(q, false);
        this.#events.retrying(b, type);
        retry = true;
      } else if (r?.retriable || type === 'NO_RESPONSE_FOR_PARTITION') {
        this.#log.sampled('warn', `kafka-retry:${type}`, 'kafka could not take a batch yet, will retry', { code: type, topic: q.topic, partition: q.partition });
        this.#metadataStale = true;
        this.#unsent(q, false);
        this.#events.retrying(b, type);
        retry = true;
      } else {
        this.#log.sampled('error', `kafka-reject:${type}`, 'kafka rejected a batch, dropping it', { code: type, topic: q.topic, partition: q.partition, records: b.records });
        this.#remove(q, b);
        this.#unsent(q, true);
        this.#events.dropped(b, 'kafka_rejected', type);
      }
    }
    // An immediate retry would meet the same condition (leader moving, replicas catching up).
    if (retry) this.#retryAt = Date.now() + this.#backoff();
    else if (!followed) this.#failures = 0;
  }

  #remove(q: PartitionQueue, b: QueuedBatch): void {
    const i = q.batches.indexOf(b);
    if (i >= 0) q.batches.splice(i, 1);
  }

  /**
   * A batch of `q` was not written. The batches after it may be in flight and will fail too
   * (their sequence does not follow): from now on one at a time, in order. `renumber`: the
   * partition's batches changed (one dropped or split), so their sequences are assigned anew.
   */
  #unsent(q: PartitionQueue, renumber: boolean): void {
    q.retrying = true;
    if (q.failingSince === 0) q.failingSince = Date.now();
    if (renumber) q.resequence = true;
  }
}
