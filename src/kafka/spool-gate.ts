// Between the accumulator and the sender: decides which sealed batches go to the disk spool and
// feeds spooled batches back to the sender once their partition can take them again.
//
// Order per partition is kept by one invariant: every batch of a partition still in memory (not
// from the spool) is older than every spooled entry of that partition. So
// - a newly sealed batch goes to the spool when its partition already has spooled entries ("new
//   batches go behind them"), or when the partition is unavailable (broker or leader gone,
//   batches failing) or the memory queue is past its high-water mark;
// - before the first batch of a partition is spooled, the batches it has waiting in memory go
//   to the spool first, if none of them is in flight (else they stay: they are older anyway);
// - spooled entries are replayed only once the partition has no batch from memory left.
// An entry leaves the spool when the broker acknowledged it (or refused it for good, counted).
import type { Logger } from '../log.js';
import { readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGER_FILE, LOCK_FILE, segmentFirstId } from '../spool/format.js';
import { Spool, SpoolError, type PartitionQueue, type SpoolEntry, type SpoolOptions } from '../spool/spool.js';
import { BatchBuilder } from './protocol/record-batch.js';
import { newBatch, type QueuedBatch, type SpoolOrigin } from './queued-batch.js';
import { UNASSIGNED } from './accumulator.js';
import { recordViews } from './protocol/record-batch.js';
import { partitionForKey } from './partitioner.js';
import type { EntryMeta } from '../spool/format.js';
import type { Sender } from './sender.js';

export interface SpoolSettings extends SpoolOptions {
  /** Fill of the memory queue (0.1-1) past which new batches are spooled even while the broker answers. */
  queueHighWater: number;
  /** Replayed entries are merged into batches of at most these (kafka.batch_max_bytes / batch_max_records). */
  batchMaxBytes?: number;
  batchMaxRecords?: number;
}

/** What the gate tells the producer: the records it moved, dropped, or found. */
export interface SpoolGateEvents {
  /** `b` moved from the memory queue into the spool. */
  spooled(b: QueuedBatch): void;
  /** `b` (from the memory queue) could not be spooled and is dropped: over spool.max_bytes, or a disk error with nowhere else to go. */
  refused(b: QueuedBatch, reason: 'spool_full' | 'spool_error'): void;
  /** Records the spool refused: over max_bytes ("spool_full") or a disk error while no memory was left ("spool_error"). */
  dropped(reason: 'spool_full' | 'spool_error' | 'spool_corrupt', tenant: string, records: number): void;
  /** Records that left the spool: `delivered` or dropped; the spool holds that many fewer. */
  left(records: number): void;
  error(code: string): void;
}

/** Spooled entries in the sender at once, per partition (merged into batches: enough to fill the in-flight window), and in bytes overall. */
const REPLAY_WINDOW = 256;
const REPLAY_MAX_BYTES = 32 << 20;
/** Entries at least this large are replayed as they are, not merged with their neighbours. */
const MERGE_BELOW_BYTES = 64 << 10;
/** After a disk error the spool is not tried again for this long. */
const ERROR_PAUSE_MS = 5_000;

/** Replay bookkeeping is per spool and partition. */
const spoolIds = new WeakMap<Spool, number>();
let nextSpoolId = 0;
function key(topic: string, partition: number, spool: Spool): string {
  let id = spoolIds.get(spool);
  if (id === undefined) spoolIds.set(spool, (id = nextSpoolId++));
  return `${id}\u0000${partition}\u0000${topic}`;
}

export class SpoolGate {
  /** The spool this producer writes. */
  readonly #spool: Spool;
  /**
   * Spools of workers that no longer exist (the worker count went down), adopted by this one:
   * replayed (before its own entries of the same partition: they are older), never written.
   */
  readonly #adopted: Spool[] = [];
  readonly #settings: SpoolSettings;
  readonly #events: SpoolGateEvents;
  readonly #log: Logger;
  #sender: Sender | undefined;
  /** Replayed batches in the sender, per partition, and their bytes in all. */
  readonly #loaded = new Map<string, number>();
  #loadedBytes = 0;
  #pausedUntil = 0;
  #replayQueued = false;
  /** Set by the worker while its ring fills: replay waits, live traffic first. */
  replayPaused = false;
  /** Round robin over partitions for keyless entries given a partition. */
  #assigned = 0;
  /** Records written again when an UNASSIGNED entry got its partition (not new to the spool). */
  #reassignedRecords = 0;
  /** Records of entries partly settled (split batches): still in the spool, no longer to deliver. */
  #settledPartial = 0;
  readonly replayedRecords = { total: 0 };

  constructor(spool: Spool, settings: SpoolSettings, events: SpoolGateEvents, log: Logger) {
    this.#spool = spool;
    this.#settings = settings;
    this.#events = events;
    this.#log = log;
  }

  /**
   * Opens the spool of `dir`, and those of `adopt` (directories of workers that no longer exist);
   * null (logged) when its own cannot be used: the producer runs on its memory queue.
   */
  static open(dir: string, settings: SpoolSettings, events: SpoolGateEvents, log: Logger, adopt: readonly string[] = []): SpoolGate | null {
    const openOne = (d: string): Spool => {
      const spool = Spool.open(d, settings);
      const r = spool.recovery;
      for (const problem of r.problems) log.error('spool damage found and cut off', { dir: d, problem });
      if (r.entries > 0) log.info('spool recovered', { dir: d, entries: r.entries, records: r.records, bytes: spool.bytes });
      return spool;
    };
    let gate: SpoolGate;
    try {
      gate = new SpoolGate(openOne(dir), settings, events, log);
    } catch (err) {
      events.error((err as SpoolError).code ?? 'EIO');
      log.error('spool not usable, running on the memory queue only', { dir, error: (err as Error).message });
      return null;
    }
    for (const d of adopt) {
      try {
        const spool = openOne(d);
        if (spool.entries > 0) gate.#adopted.push(spool);
        else gate.#retire(spool);
      } catch (err) {
        events.error((err as SpoolError).code ?? 'EIO');
        log.error('spool of a former worker not usable: its entries stay on disk', { dir: d, error: (err as Error).message });
      }
    }
    return gate;
  }

  /** The spools this gate reads: adopted ones first (older), then its own. */
  #all(): Spool[] {
    return this.#adopted.length ? [...this.#adopted, this.#spool] : [this.#spool];
  }

  /** Figures over every spool the gate holds. */
  stats(): { bytes: number; entries: number; oldestReceivedAt: number | undefined; written: number; corruptEntries: number } {
    let bytes = 0, entries = 0, corruptEntries = 0, oldest: number | undefined;
    for (const s of this.#all()) {
      bytes += s.bytes;
      entries += s.entries;
      corruptEntries += s.counters.corruptEntries;
      const o = s.oldestReceivedAt;
      if (o !== undefined && (oldest === undefined || o < oldest)) oldest = o;
    }
    return { bytes, entries, oldestReceivedAt: oldest, written: this.#spool.counters.writtenRecords - this.#reassignedRecords, corruptEntries };
  }

  /** Records the spools hold that are still to be delivered. */
  get records(): number {
    let n = -this.#settledPartial;
    for (const s of this.#all()) n += s.records;
    return n;
  }

  /** Whether any spool holds entries of the partition (its new batches must go behind them). */
  #holds(topic: string, partition: number): boolean {
    for (const s of this.#all()) if (s.holds(topic, partition)) return true;
    return false;
  }

  /**
   * An adopted spool with nothing left: closed, its files removed, and its directory when that
   * leaves it empty (segments recovery set aside as unreadable stay, with it).
   */
  #retire(spool: Spool): void {
    const i = this.#adopted.indexOf(spool);
    if (i >= 0) this.#adopted.splice(i, 1);
    try {
      spool.close();
      for (const name of readdirSync(spool.dir)) {
        if (segmentFirstId(name) >= 0 || name === LEDGER_FILE || name === LOCK_FILE) rmSync(join(spool.dir, name), { force: true });
      }
      if (readdirSync(spool.dir).length === 0) rmdirSync(spool.dir);
      this.#log.info('spool of a former worker delivered and removed', { dir: spool.dir });
    } catch (err) {
      this.#diskError(err);
    }
  }

  attach(sender: Sender): void {
    this.#sender = sender;
  }

  /** Topics with spooled entries (their metadata is needed to replay them). */
  topics(): string[] {
    return [...new Set(this.#all().flatMap((s) => [...s.partitions()].map((q) => q.topic)))];
  }

  /**
   * Where a sealed batch goes: true when the gate took it (spooled, or dropped as spool_full),
   * false when it goes to the sender. `queueFill`: the memory queue's fill, 0-1.
   */
  offer(b: QueuedBatch, queueFill: number, now: number): boolean {
    const sender = this.#sender!;
    // Framed before its topic's partitions were known: only the spool can hold it (one is given there).
    if (b.partition === UNASSIGNED) {
      if (!this.#store(b, true)) this.#events.refused(b, 'spool_error');
      return true;
    }
    // Behind what the spool holds for the partition (or for the topic, not yet given a partition),
    // even after a disk error: going around it would break the order.
    if (this.#holds(b.topic, b.partition) || this.#holds(b.topic, UNASSIGNED)) return this.#store(b, false);
    if (now < this.#pausedUntil) return false;
    const unavailable = !sender.available(b.topic, b.partition, now);
    if (!unavailable && queueFill < this.#settings.queueHighWater) return false;
    if (sender.pending(b.topic, b.partition).inFlight > 0) {
      // An unavailable partition with requests still out: its batches wait in memory until those
      // are answered (soon: the connection is gone), then go to the spool together, in order.
      // Past the high-water mark the broker is slow, not gone: the new batch is spooled, behind
      // the older ones still in memory.
      if (unavailable) return false;
      return this.#store(b, false);
    }
    // The partition's waiting batches first: they are older.
    for (const w of sender.withdraw(b.topic, b.partition)) this.#store(w, false);
    return this.#store(b, false);
  }

  /**
   * Moves waiting batches of unavailable partitions to the spool (so a crash while the broker is
   * away loses nothing the spool could hold), and replays spooled entries of partitions that can
   * take them. Called every loop turn of the producer's timer.
   */
  pump(partitions: Iterable<{ topic: string; partition: number }>, now: number): void {
    const sender = this.#sender!;
    if (now >= this.#pausedUntil) {
      for (const { topic, partition } of partitions) {
        if (sender.available(topic, partition, now) || this.#holds(topic, partition)) continue;
        const waiting = sender.pending(topic, partition);
        if (waiting.inFlight > 0 || waiting.batches.length === 0) continue;
        for (const w of sender.withdraw(topic, partition)) this.#store(w, false);
      }
    }
    this.#assign();
    this.#replay(now);
    try {
      this.#spool.sync();
    } catch (err) {
      this.#diskError(err);
    }
  }

  /**
   * A batch the producer could not deliver before shutdown: spooled (true), or false when the
   * spool refused it (the caller counts it as dropped "shutdown").
   */
  keep(b: QueuedBatch): boolean {
    if (b.origin) return true; // still in the spool
    return this.#store(b, true);
  }

  /** A replayed batch was acknowledged (`delivered`) or refused for good: its entry may leave. */
  settled(b: QueuedBatch): void {
    const origin = b.origin!;
    origin.parts--;
    if (origin.parts > 0) {
      // A part of a split batch: its records are settled, the entries stay until every part is.
      origin.settledRecords += b.records;
      this.#settledPartial += b.records;
      this.#events.left(b.records);
      return;
    }
    this.#settledPartial -= origin.settledRecords;
    this.#unload(b.topic, b.partition, origin);
    for (const entry of origin.entries) {
      try {
        origin.spool.ack(entry); // leaves the index even when the ledger write fails
      } catch (err) {
        this.#diskError(err);
      }
    }
    this.#events.left(origin.records - origin.settledRecords);
    if (origin.spool !== this.#spool && origin.spool.entries === 0) this.#retire(origin.spool);
    // The partition has room again: its next entries go now, not at the next pump.
    if (!this.#replayQueued) {
      this.#replayQueued = true;
      queueMicrotask(() => {
        this.#replayQueued = false;
        try {
          this.#replay(Date.now());
        } catch (err) {
          this.#diskError(err); // the next pump tries again
        }
      });
    }
  }

  /** A replayed batch went back (its partition became unavailable): it is read again later. */
  unloaded(b: QueuedBatch): void {
    this.#unload(b.topic, b.partition, b.origin!);
  }

  #unload(topic: string, partition: number, origin: SpoolOrigin): void {
    const k = key(topic, partition, origin.spool);
    this.#loaded.set(k, Math.max(0, (this.#loaded.get(k) ?? origin.entries.length) - origin.entries.length));
    this.#loadedBytes -= origin.bytes;
  }

  close(): void {
    for (const s of this.#all()) {
      try {
        s.close();
      } catch (err) {
        this.#diskError(err);
      }
    }
  }

  /** Writes `b` to the spool; false when it could not (disk error: it stays with the caller). */
  #store(b: QueuedBatch, closing: boolean): boolean {
    if (b.origin) {
      // Already in the spool: only the copy in memory goes.
      this.unloaded(b);
      return true;
    }
    const meta = {
      topic: b.topic, partition: b.partition, records: b.records, messages: b.builder.count, firstReceivedAt: b.firstReceivedAt,
      baseTimestamp: b.builder.baseTimestamp, maxTimestamp: b.builder.maxTimestamp,
      tenants: b.tenants.map((name, i) => ({ name, records: b.tenantRecords[i]! })),
    };
    let result: 'spooled' | 'full';
    try {
      result = this.#spool.append(meta, b.builder.records());
    } catch (err) {
      this.#diskError(err);
      if (!closing) {
        // Back to the sender: the memory queue holds it, as without a spool.
        this.#sender!.enqueue(b);
        return true;
      }
      return false;
    }
    if (result === 'full') {
      this.#log.sampled('error', 'spool-full', 'spool full (spool.max_bytes), records dropped', { dir: this.#spool.dir, bytes: this.#spool.bytes, records: b.records });
      this.#events.refused(b, 'spool_full');
      return true;
    }
    this.#events.spooled(b);
    return true;
  }

  #diskError(err: unknown): void {
    const code = (err as SpoolError).code ?? 'EIO';
    this.#events.error(code);
    this.#pausedUntil = Date.now() + ERROR_PAUSE_MS;
    this.#log.sampled('error', `spool-error:${code}`, 'spool disk error, batches stay in memory', { dir: this.#spool.dir, code, error: (err as Error).message });
  }

  /**
   * Entries framed before their topic's partitions were known get a partition once the metadata
   * says how many there are: keyless messages all go to one (round robin, as a sticky batch
   * would), keyed ones to their key's partition (murmur2, as when framed live). They are written
   * again as entries of those partitions (behind what those hold), then leave as UNASSIGNED.
   */
  #assign(): void {
    const sender = this.#sender!;
    for (const spool of this.#all()) {
      for (const q of [...spool.partitions()]) {
        if (q.partition !== UNASSIGNED) continue;
        const count = sender.partitionCount(q.topic);
        if (count === 0) continue;
        for (const entry of [...q.entries]) {
          let records: Buffer | null;
          try {
            records = spool.read(entry);
          } catch (err) {
            this.#diskError(err);
            return;
          }
          if (records === null) {
            for (const t of entry.meta.tenants) this.#events.dropped('spool_corrupt', t.name, t.records);
            this.#events.left(entry.meta.records);
            continue;
          }
          try {
            for (const part of assignPartitions(entry.meta, records, count, this.#assigned++)) {
              if (this.#spool.append(part.meta, part.records) === 'full') {
                for (const t of part.meta.tenants) this.#events.dropped('spool_full', t.name, t.records);
                this.#events.left(part.meta.records);
              } else {
                this.#reassignedRecords += part.meta.records;
              }
            }
            // The new entries on disk before the old one leaves: a machine crash keeps one of them.
            this.#spool.sync();
            spool.ack(entry);
          } catch (err) {
            this.#diskError(err);
            return;
          }
        }
      }
    }
  }

  /** Loads the next spooled entries of each partition that can take them into the sender. */
  #replay(now: number): void {
    if (this.replayPaused) return;
    const sender = this.#sender!;
    const spools = this.#all();
    for (const [rank, spool] of spools.entries()) {
      for (const q of spool.partitions()) {
        if (this.#loadedBytes >= REPLAY_MAX_BYTES) return;
        this.#replayPartition(spool, q, spools.slice(0, rank), now);
      }
    }
  }

  /**
   * Loads the next entries of `q` (a partition of `spool`) into the sender, when the partition can
   * take them and nothing older waits: batches from memory, or entries of an `older` spool.
   */
  #replayPartition(spool: Spool, q: PartitionQueue, older: Spool[], now: number): boolean {
    const sender = this.#sender!;
    if (!sender.available(q.topic, q.partition, now)) return false;
    if (older.some((s) => s.holds(q.topic, q.partition))) return false;
    const waiting = sender.pending(q.topic, q.partition);
    // Batches from memory go first: they are older than anything spooled for the partition.
    if (waiting.batches.some((b) => b.origin === null)) return false;
    const k = key(q.topic, q.partition, spool);
    let loaded = this.#loaded.get(k) ?? 0;
    // Below the batch cap: re-framing a record can take a byte or two more than it did.
    const capBytes = Math.floor((this.#settings.batchMaxBytes ?? 1 << 20) * 0.9);
    const capMessages = this.#settings.batchMaxRecords ?? 10_000;
    while (loaded < REPLAY_WINDOW && loaded < q.entries.length && this.#loadedBytes < REPLAY_MAX_BYTES) {
      // Consecutive entries merged up to a batch's size: live batches spooled behind a backlog are
      // small (one linger's worth), and one batch per request would cap the replay rate.
      const group: SpoolEntry[] = [];
      const payloads: Buffer[] = [];
      let bytes = 0;
      let messages = 0;
      while (loaded + group.length < q.entries.length && loaded + group.length < REPLAY_WINDOW) {
        const entry = q.entries[loaded + group.length]!;
        // Merging re-frames every record: worth it for small entries only (live batches spooled behind a backlog).
        if (group.length > 0 && (entry.length > MERGE_BELOW_BYTES || group[0]!.length > MERGE_BELOW_BYTES
          || bytes + entry.length > capBytes || messages + entry.meta.messages > capMessages)) break;
        let records: Buffer | null;
        try {
          records = spool.read(entry);
        } catch (err) {
          this.#diskError(err);
          return false;
        }
        if (records === null) {
          // Damaged since it was written: gone from the spool (and from q.entries), counted.
          this.#log.sampled('error', 'spool-corrupt', 'spooled batch failed its checksum, dropped', { dir: spool.dir, topic: q.topic, partition: q.partition, records: entry.meta.records });
          for (const t of entry.meta.tenants) this.#events.dropped('spool_corrupt', t.name, t.records);
          this.#events.left(entry.meta.records);
          continue;
        }
        group.push(entry);
        payloads.push(records);
        bytes += entry.length;
        messages += entry.meta.messages;
      }
      if (group.length === 0) break;
      const b = this.#batchOf(spool, group, payloads, bytes);
      sender.enqueue(b);
      loaded += group.length;
      this.#loadedBytes += bytes;
      this.replayedRecords.total += b.records;
    }
    this.#loaded.set(k, loaded);
    return true;
  }

  /** One batch of consecutive entries of a partition: the records of the first as they are, the others' framed behind them. */
  #batchOf(spool: Spool, entries: SpoolEntry[], payloads: Buffer[], bytes: number): QueuedBatch {
    const first = entries[0]!.meta;
    let builder = BatchBuilder.fromRecords(payloads[0]!, first.messages, first.baseTimestamp, first.maxTimestamp);
    if (entries.length > 1) {
      // Re-framing may take a few bytes more per record (offset and timestamp deltas grow).
      let messages = 0;
      for (const e of entries) messages += e.meta.messages;
      const merged = new BatchBuilder(bytes + 16 * messages + (1 << 16), builder.length + bytes);
      for (let i = 0; i < entries.length; i++) {
        const m = entries[i]!.meta;
        const part = i === 0 ? builder : BatchBuilder.fromRecords(payloads[i]!, m.messages, m.baseTimestamp, m.maxTimestamp);
        for (const v of recordViews(part)) {
          const fits = merged.append(part.buffer, v.keyStart, v.keyLength, part.buffer, v.valueStart, v.valueEnd,
            part.buffer.subarray(v.headersStart, v.headersEnd), part.baseTimestamp + v.timestampDelta);
          if (!fits) throw new Error('spool replay: merged batch capacity too small (a bug)');
        }
      }
      builder = merged;
    }
    const b = newBatch(first.topic, first.partition, builder, Math.min(...entries.map((e) => e.meta.firstReceivedAt)));
    let records = 0;
    for (const e of entries) {
      for (const t of e.meta.tenants) {
        const last = b.tenants.length - 1;
        if (last >= 0 && b.tenants[last] === t.name) b.tenantRecords[last]! += t.records;
        else {
          b.tenants.push(t.name);
          b.tenantRecords.push(t.records);
        }
      }
      records += e.meta.records;
    }
    b.records = records;
    b.bytes = 0; // not in the memory queue
    b.origin = { spool, entries, bytes, records, parts: 1, settledRecords: 0 };
    return b;
  }
}

/**
 * The parts of an UNASSIGNED entry's records by partition: one part when no message has a key,
 * else one per key partition. Records and tenants are shared out in proportion to the messages.
 */
export function assignPartitions(meta: EntryMeta, records: Buffer, partitions: number, turn: number): { meta: EntryMeta; records: Buffer }[] {
  const whole = BatchBuilder.fromRecords(records, meta.messages, meta.baseTimestamp, meta.maxTimestamp);
  const views = recordViews(whole);
  if (views.every((v) => v.keyLength < 0)) return [{ meta: { ...meta, partition: turn % partitions }, records }];
  const byPartition = new Map<number, typeof views>();
  for (const v of views) {
    const p = v.keyLength < 0 ? turn % partitions : partitionForKey(whole.buffer, v.keyStart, v.keyLength, partitions);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, (list = []));
    list.push(v);
  }
  const parts: { meta: EntryMeta; records: Buffer }[] = [];
  let recordsLeft = meta.records;
  let messagesLeft = meta.messages;
  const tenantsLeft = meta.tenants.map((t) => ({ ...t }));
  for (const [partition, list] of byPartition) {
    const builder = new BatchBuilder(whole.length, whole.length);
    for (const v of list) {
      builder.append(whole.buffer, v.keyStart, v.keyLength, whole.buffer, v.valueStart, v.valueEnd,
        whole.buffer.subarray(v.headersStart, v.headersEnd), whole.baseTimestamp + v.timestampDelta);
    }
    const last = list.length === messagesLeft;
    const share = last ? recordsLeft : Math.round((meta.records * list.length) / meta.messages);
    recordsLeft -= share;
    messagesLeft -= list.length;
    // Tenants in order: this part takes records from the first tenants with some left.
    const tenants: EntryMeta['tenants'] = [];
    let need = share;
    for (const t of tenantsLeft) {
      const take = Math.min(need, t.records);
      if (take > 0) tenants.push({ name: t.name, records: take });
      t.records -= take;
      need -= take;
    }
    parts.push({ meta: { ...meta, partition, records: share, messages: builder.count, baseTimestamp: builder.baseTimestamp, maxTimestamp: builder.maxTimestamp, tenants }, records: Buffer.from(builder.records()) });
  }
  return parts;
}
