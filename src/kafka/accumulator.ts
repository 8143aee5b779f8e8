// Records into batches, one open batch per topic partition (the Java client's RecordAccumulator).
// Records are framed straight into the batch's buffer as the decoder hands them over: no object
// per record. A batch is sealed when full (batch_max_bytes, batch_max_records) or linger_ms after
// its first record, and handed to the sender; past its linger, a batch the sender could not send
// yet anyway (its partition or broker has a full window) stays open and keeps filling, as the
// Java client drains a ready batch only when it can send it. Keyless records go to one partition until its batch
// is sealed (sticky partitioning); keyed ones to the Java client's murmur2 partition. Records that
// arrive before their topic's metadata is known are staged and framed once it is.
//
// Admission is here too: the queue (records and bytes from admission until the broker
// acknowledged or dropped them) is bounded, and a record that finds it full is dropped
// ("queue_full"); the caller never waits.
import type { Logger } from '../log.js';
import type { ProducerDropReason } from './names.js';
import { partitionForKey } from './partitioner.js';
import { BatchBuilder } from './protocol/record-batch.js';
import type { RecordIndex } from '../decoder/record-index.js';
import { countRecords, newBatch, type MarkRef, type QueuedBatch } from './queued-batch.js';

export interface AccumulatorSettings {
  linger_ms: number;
  batch_max_records: number;
  batch_max_bytes: number;
  queue_max_records: number;
  queue_max_bytes: number;
}

/** What the accumulator tells its owner. */
export interface AccumulatorEvents {
  /** A batch is sealed, in order per partition: the sender takes it from here. */
  sealed(b: QueuedBatch): void;
  /** A batch was opened: its linger runs from now. */
  opened(): void;
  /** A topic was seen for the first time: its metadata is needed. */
  topicAdded(topic: string): void;
  /** Records did not get into a batch. */
  dropped(reason: ProducerDropReason, tenant: string, records: number): void;
}

// The decoder's record index (decoder/record-index.ts, its layout read from the module's
// exports): record k's value ends at entries[k * stride + endAt], the next one starts `gap`
// bytes later. The only place this module reads the index.
function recordEnd(index: RecordIndex, k: number): number {
  return index.entries[k * index.stride + index.endAt]!;
}

/** The partition of a batch framed before its topic's partitions were known (spooled, given one later). */
export const UNASSIGNED = -1;

/**
 * Spare batch buffers kept, in bytes, as a multiple of the batch cap. Every delivered batch's
 * buffer that fits is kept, whatever its size: a partition's batches at a steady rate are of
 * similar sizes, so the next batch finds room without growing (growth copies), and no buffer is
 * allocated per batch. Buffers are external memory: allocated per batch (16 KiB and up, and each
 * doubling), they set off V8's full collections (measured: docs/performance.md section 10).
 */
const SPARE_BATCH_CAPS = 8;
/** And at most this many spare buffers (many partitions of small batches). */
const SPARE_BUFFERS = 256;
/** Initial size of a batch buffer; it doubles up to the batch cap. */
const INITIAL_BATCH_BYTES = 16 * 1024;
/** The smallest batch cap a broker's "too large" answers can shrink it to. */
const MIN_BATCH_BYTES = 1024;

interface OpenPartition {
  open: QueuedBatch | null;
  openedAt: number;
}

interface StagedRecord {
  tenant: string;
  key: Buffer | null;
  value: Buffer;
  headers: Buffer;
  records: number;
  bytes: number;
  receivedAt: number;
  mark: number;
}

interface TopicState {
  name: string;
  partitions: OpenPartition[];
  /** Partition that keyless records go to until its batch is sealed (sticky partitioning, as the Java client). */
  sticky: number;
  /** Records that arrived before the topic's metadata was known (broker down at start, new topic). */
  staged: StagedRecord[];
  /** With frameUnassigned: the open batch of records that arrived before the metadata. */
  unassigned: OpenPartition;
  /** The broker refuses the topic (its error type): records for it are dropped as kafka_rejected. */
  refused: string | null;
}

/** Queue bytes a message counts for: its bytes plus a record's framing. */
function messageBytes(keyLength: number, valueLength: number, headersLength: number): number {
  return valueLength + headersLength + (keyLength > 0 ? keyLength : 0) + 16;
}

export class Accumulator {
  readonly #settings: AccumulatorSettings;
  readonly #events: AccumulatorEvents;
  readonly #log: Logger;
  readonly #topics = new Map<string, TopicState>();
  #lastTopic: TopicState | undefined;
  #queuedRecords = 0;
  #queuedBytes = 0;
  /** New records are refused ("shutdown"): the producer is closing. */
  closing = false;
  /**
   * Asked when a record's topic has no metadata yet: true (a disk spool takes the batches and the
   * broker is away) frames it into a batch of partition UNASSIGNED, spooled and given a partition
   * there, instead of waiting in memory for metadata that may not come soon.
   */
  frameUnassigned: () => boolean = () => false;
  /**
   * Input marks (role decode): each batch remembers the oldest `mark` (the caller's input number,
   * set before appending) it holds records of, so lowestMark() tells which inputs are settled.
   */
  trackMarks = false;
  mark = 0;
  readonly #marks = new Set<MarkRef>();
  /** Batch size cap in force: batch_max_bytes, halved each time the broker says a batch is too large. */
  #batchBytes: number;
  #stickyCounter = 0;
  /** Buffers of delivered batches, for the next batches: no allocation, no regrowth. */
  readonly #spare: Buffer[] = [];
  #spareBytes = 0;

  constructor(settings: AccumulatorSettings, events: AccumulatorEvents, log: Logger) {
    this.#settings = settings;
    this.#events = events;
    this.#log = log;
    this.#batchBytes = settings.batch_max_bytes;
  }

  get queuedRecords(): number {
    return this.#queuedRecords;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Topics records were offered for (their metadata is needed). */
  topics(): IterableIterator<string> {
    return this.#topics.keys();
  }

  /** Registers `name` (the configured topics, at start). */
  addTopic(name: string): void {
    this.#topic(name);
  }

  /** See RecordProducer.append. */
  append(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, value: Buffer, start: number, end: number,
    headers: Buffer, records: number, receivedAt: number): boolean {
    const size = messageBytes(keyLength, end - start, headers.length);
    const t = this.#admit(topic, tenant, records, size);
    if (t === null) return false;
    if (t.partitions.length === 0 && !this.frameUnassigned()) {
      t.staged.push({ tenant, key: keyLength >= 0 ? Buffer.from(key!.subarray(0, keyLength)) : null, value: Buffer.from(value.subarray(start, end)), headers, records, bytes: size, receivedAt, mark: this.mark });
      return true;
    }
    this.#frame(t, tenant, key, keyLength, value, start, end, headers, records, size, receivedAt);
    return true;
  }

  /** See RecordProducer.appendRecords. */
  appendRecords(topic: string, tenant: string, key: Uint8Array | null, keyLength: number, output: Buffer, index: RecordIndex, n: number,
    headers: Buffer, receivedAt: number, first = 0): void {
    if (n <= 0) return;
    const perMessage = messageBytes(keyLength, 0, headers.length);
    const gap = index.gap;
    const start = first === 0 ? 0 : recordEnd(index, first - 1) + gap;
    const size = recordEnd(index, first + n - 1) - start - (n - 1) * gap + n * perMessage;
    const t = this.#admit(topic, tenant, n, size);
    if (t === null) return;
    let from = start;
    if (t.partitions.length === 0 && !this.frameUnassigned()) {
      // No metadata yet (slow path, copies per record): framed once the partitions are known.
      const k = keyLength >= 0 ? Buffer.from(key!.subarray(0, keyLength)) : null;
      for (let i = first; i < first + n; i++) {
        const end = recordEnd(index, i);
        t.staged.push({ tenant, key: k, value: Buffer.from(output.subarray(from, end)), headers, records: 1, bytes: end - from + perMessage, receivedAt, mark: this.mark });
        from = end + gap;
      }
      return;
    }
    // Records [first, stop) of the index; `done` counts from the index's record 0.
    const stop = first + n;
    let done = first;
    while (done < stop) {
      const partition = this.#partitionOf(t, key, keyLength);
      const b = this.#slot(t, partition).open ?? this.#open(t, partition, receivedAt);
      if (b.mark !== null && b.mark.mark > this.mark) b.mark.mark = this.mark;
      const m = b.builder.appendRun(key, 0, keyLength, output, from, index, done, stop - done, headers, receivedAt, this.#settings.batch_max_records);
      if (m === 0) {
        if (b.builder.count > 0) {
          this.#seal(t, partition);
          continue;
        }
        const end = recordEnd(index, done);
        this.#tooLarge(tenant, 1, end - from + perMessage, end - from);
        done++;
        from = end + gap;
        continue;
      }
      const end = recordEnd(index, done + m - 1);
      countRecords(b, tenant, m, end - from - (m - 1) * gap + m * perMessage);
      done += m;
      from = end + gap;
      if (b.builder.count >= this.#settings.batch_max_records) this.#seal(t, partition);
    }
  }

  /** See BatchSource.topicRefused: a refused topic's staged records are dropped now, its later ones on arrival. */
  topicRefused(topic: string, error: string | null): void {
    const t = this.#topics.get(topic);
    if (!t) return;
    t.refused = error;
    if (error === null) return;
    for (const s of t.staged) {
      this.#queuedRecords -= s.records;
      this.#queuedBytes -= s.bytes;
      this.#events.dropped('kafka_rejected', s.tenant, s.records);
    }
    t.staged = [];
  }

  /** `topic` has `count` partitions (its metadata loaded): sizes its partition list, frames its staged records. */
  partitionsKnown(topic: string, count: number): void {
    const t = this.#topics.get(topic);
    if (!t || count <= t.partitions.length) return;
    const first = t.partitions.length === 0;
    // What was framed before the partitions were known goes first (to the spool, assigned there).
    if (first) this.#seal(t, UNASSIGNED);
    // Partitions added later: keyed records move (as with any Kafka client), existing ones stay.
    for (let i = t.partitions.length; i < count; i++) t.partitions.push({ open: null, openedAt: 0 });
    if (first) t.sticky = this.#stickyCounter++ % count;
    const staged = t.staged;
    t.staged = [];
    const current = this.mark;
    for (const s of staged) {
      this.mark = s.mark;
      this.#frame(t, s.tenant, s.key, s.key ? s.key.length : -1, s.value, 0, s.value.length, s.headers, s.records, s.bytes, s.receivedAt);
    }
    this.mark = current;
  }

  /**
   * Seals the batches whose linger is over (every non-empty one with `all`); answers the ms until
   * the next open batch's linger ends (Infinity: none).
   */
  sealDue(now: number, all: boolean, hold?: (topic: string, partition: number) => boolean): number {
    let next = Infinity;
    for (const t of this.#topics.values()) {
      for (let i = t.partitions.length === 0 ? UNASSIGNED : 0; i < t.partitions.length; i++) {
        const p = this.#slot(t, i);
        if (p.open === null || p.open.builder.count === 0) continue;
        const left = p.openedAt + this.#settings.linger_ms - now;
        if (all) this.#seal(t, i);
        else if (left > 0) next = Math.min(next, left);
        // Due, but the sender could not send it now: sealed, it would wait as a small batch and
        // the records after it would make more small batches behind it (each needing a request
        // of its own: under load the partition's rate would fall to batches per round trip).
        // Kept open it keeps filling; the sender calls again when its window moves.
        else if (i === UNASSIGNED || !hold?.(t.name, i)) this.#seal(t, i);
      }
    }
    return next;
  }

  /** The broker found a batch of `bytes` too large: later batches are at most half of it. Answers the new cap. */
  shrinkBatches(bytes: number): number {
    this.#batchBytes = Math.max(MIN_BATCH_BYTES, Math.floor(bytes / 2));
    return this.#batchBytes;
  }

  /** `b` left the queue (acknowledged or dropped): its records and bytes are free, its buffer may serve again. */
  release(b: QueuedBatch): void {
    this.#forgetMark(b);
    this.#queuedRecords -= b.records;
    this.#queuedBytes -= b.bytes;
    // Compressed batches were sent from a copy, so the builder's buffer is free; an uncompressed
    // wire batch is a view of it and is free once the broker has answered (we are past that here).
    const buffer = b.builder.buffer;
    if (this.#spare.length < SPARE_BUFFERS && this.#spareBytes + buffer.length <= SPARE_BATCH_CAPS * this.#batchBytes) {
      this.#spare.push(buffer);
      this.#spareBytes += buffer.length;
    }
  }

  /** The most recently freed spare buffer (batches of a steady stream are of similar sizes), if any. */
  #takeSpare(): Buffer | undefined {
    const buffer = this.#spare.pop();
    if (buffer !== undefined) this.#spareBytes -= buffer.length;
    return buffer;
  }

  /** The oldest input mark some queued record still belongs to; Infinity when none (every input so far is settled). */
  lowestMark(): number {
    let lowest = Infinity;
    for (const m of this.#marks) if (m.mark < lowest) lowest = m.mark;
    for (const t of this.#topics.values()) for (const s of t.staged) if (s.mark < lowest) lowest = s.mark;
    return lowest;
  }

  #forgetMark(b: QueuedBatch): void {
    if (b.mark !== null && --b.mark.parts === 0) this.#marks.delete(b.mark);
  }

  /** At close: what is still staged or in an open batch is dropped for `reason`; the queue is emptied. */
  dropAll(reason: ProducerDropReason, dropBatch: (b: QueuedBatch) => void): void {
    for (const t of this.#topics.values()) {
      for (const s of t.staged) this.#events.dropped(reason, s.tenant, s.records);
      for (const p of t.partitions) if (p.open) dropBatch(p.open);
      if (t.unassigned.open) dropBatch(t.unassigned.open);
    }
    this.#topics.clear();
    this.#lastTopic = undefined;
    this.#queuedRecords = 0;
    this.#queuedBytes = 0;
  }

  /** Takes `records` flow records of `bytes` into the queue; null (counted as dropped) when it is full, or closing. */
  #admit(topic: string, tenant: string, records: number, bytes: number): TopicState | null {
    let t = this.#lastTopic;
    if (t === undefined || t.name !== topic) t = this.#lastTopic = this.#topic(topic);
    if (t.refused !== null) {
      this.#events.dropped('kafka_rejected', tenant, records);
      return null;
    }
    if (this.closing || this.#queuedRecords + records > this.#settings.queue_max_records || this.#queuedBytes + bytes > this.#settings.queue_max_bytes) {
      this.#events.dropped(this.closing ? 'shutdown' : 'queue_full', tenant, records);
      return null;
    }
    this.#queuedRecords += records;
    this.#queuedBytes += bytes;
    return t;
  }

  /** A message larger than a whole batch may be: the broker would refuse it too. */
  #tooLarge(tenant: string, records: number, bytes: number, valueBytes: number): void {
    this.#queuedRecords -= records;
    this.#queuedBytes -= bytes;
    this.#log.sampled('error', 'kafka-record-too-large', 'record larger than kafka.batch_max_bytes, dropped', { bytes: valueBytes, capBytes: this.#batchBytes });
    this.#events.dropped('kafka_rejected', tenant, records);
  }

  #frame(t: TopicState, tenant: string, key: Uint8Array | null, keyLength: number, value: Buffer, start: number, end: number,
    headers: Buffer, records: number, size: number, receivedAt: number): void {
    const partition = this.#partitionOf(t, key, keyLength);
    let b = this.#slot(t, partition).open ?? this.#open(t, partition, receivedAt);
    if (b.mark !== null && b.mark.mark > this.mark) b.mark.mark = this.mark;
    if (!b.builder.append(key, 0, keyLength, value, start, end, headers, receivedAt)) {
      this.#seal(t, partition);
      b = this.#open(t, partition, receivedAt);
      if (!b.builder.append(key, 0, keyLength, value, start, end, headers, receivedAt)) {
        this.#slot(t, partition).open = null;
        this.#forgetMark(b);
        this.#tooLarge(tenant, records, size, end - start);
        return;
      }
    }
    countRecords(b, tenant, records, size);
    if (b.builder.count >= this.#settings.batch_max_records) this.#seal(t, partition);
  }

  /** The partition a record goes to: by key, the sticky one, or UNASSIGNED before the metadata. */
  #partitionOf(t: TopicState, key: Uint8Array | null, keyLength: number): number {
    if (t.partitions.length === 0) return UNASSIGNED;
    return keyLength >= 0 ? partitionForKey(key!, 0, keyLength, t.partitions.length) : t.sticky;
  }

  #slot(t: TopicState, partition: number): OpenPartition {
    return partition === UNASSIGNED ? t.unassigned : t.partitions[partition]!;
  }

  #open(t: TopicState, partition: number, receivedAt: number): QueuedBatch {
    const b = newBatch(t.name, partition, new BatchBuilder(this.#batchBytes, INITIAL_BATCH_BYTES, this.#takeSpare()), receivedAt);
    if (this.trackMarks) {
      b.mark = { mark: this.mark, parts: 1 };
      this.#marks.add(b.mark);
    }
    const p = this.#slot(t, partition);
    p.open = b;
    p.openedAt = Date.now();
    this.#events.opened();
    return b;
  }

  #seal(t: TopicState, partition: number): void {
    const p = this.#slot(t, partition);
    const b = p.open;
    if (b === null) return;
    p.open = null;
    if (t.sticky === partition && t.partitions.length > 1) t.sticky = this.#stickyCounter++ % t.partitions.length;
    if (b.builder.count > 0) this.#events.sealed(b);
    else this.#forgetMark(b);
  }

  #topic(name: string): TopicState {
    let t = this.#topics.get(name);
    if (!t) {
      t = { name, partitions: [], sticky: 0, staged: [], unassigned: { open: null, openedAt: 0 }, refused: null };
      this.#topics.set(name, t);
      this.#events.topicAdded(name);
    }
    return t;
  }
}
