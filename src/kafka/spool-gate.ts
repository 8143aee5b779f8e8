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
import { Spool, SpoolError, type SpoolEntry, type SpoolOptions } from '../spool/spool.js';
import { BatchBuilder } from './protocol/record-batch.js';
import { newBatch, type QueuedBatch } from './queued-batch.js';
import type { Sender } from './sender.js';

export interface SpoolSettings extends SpoolOptions {
  /** Fill of the memory queue (0.1-1) past which new batches are spooled even while the broker answers. */
  queueHighWater: number;
}

/** What the gate tells the producer: the records it moved, dropped, or found. */
export interface SpoolGateEvents {
  /** `b` moved from the memory queue into the spool. */
  spooled(b: QueuedBatch): void;
  /** `b` (from the memory queue) could not be spooled and is dropped: over spool.max_bytes. */
  refused(b: QueuedBatch, reason: 'spool_full'): void;
  /** Records the spool refused: over max_bytes ("spool_full") or a disk error while no memory was left ("spool_error"). */
  dropped(reason: 'spool_full' | 'spool_error' | 'spool_corrupt', tenant: string, records: number): void;
  /** Records that left the spool: `delivered` or dropped; the spool holds that many fewer. */
  left(records: number): void;
  error(code: string): void;
}

/** Replayed batches in memory at once, per partition (enough to fill the in-flight window) and in bytes overall. */
const REPLAY_WINDOW = 6;
const REPLAY_MAX_BYTES = 32 << 20;
/** After a disk error the spool is not tried again for this long. */
const ERROR_PAUSE_MS = 5_000;

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export class SpoolGate {
  readonly #spool: Spool;
  readonly #settings: SpoolSettings;
  readonly #events: SpoolGateEvents;
  readonly #log: Logger;
  #sender: Sender | undefined;
  /** Replayed batches in the sender, per partition, and their bytes in all. */
  readonly #loaded = new Map<string, number>();
  #loadedBytes = 0;
  #pausedUntil = 0;
  /** Records of entries partly settled (split batches): still in the spool, no longer to deliver. */
  #settledPartial = 0;
  readonly replayedRecords = { total: 0 };

  constructor(spool: Spool, settings: SpoolSettings, events: SpoolGateEvents, log: Logger) {
    this.#spool = spool;
    this.#settings = settings;
    this.#events = events;
    this.#log = log;
  }

  /** Opens the spool of `dir`; null (logged) when it cannot be used: the producer runs on its memory queue. */
  static open(dir: string, settings: SpoolSettings, events: SpoolGateEvents, log: Logger): SpoolGate | null {
    try {
      const spool = Spool.open(dir, settings);
      const r = spool.recovery;
      for (const problem of r.problems) log.error('spool damage found and cut off', { dir, problem });
      if (r.entries > 0) log.info('spool recovered', { dir, entries: r.entries, records: r.records, bytes: spool.bytes });
      return new SpoolGate(spool, settings, events, log);
    } catch (err) {
      events.error((err as SpoolError).code ?? 'EIO');
      log.error('spool not usable, running on the memory queue only', { dir, error: (err as Error).message });
      return null;
    }
  }

  get spool(): Spool {
    return this.#spool;
  }

  /** Records the spool holds that are still to be delivered. */
  get records(): number {
    return this.#spool.records - this.#settledPartial;
  }

  attach(sender: Sender): void {
    this.#sender = sender;
  }

  /** Topics with spooled entries (their metadata is needed to replay them). */
  topics(): string[] {
    return [...new Set([...this.#spool.partitions()].map((q) => q.topic))];
  }

  /**
   * Where a sealed batch goes: true when the gate took it (spooled, or dropped as spool_full),
   * false when it goes to the sender. `queueFill`: the memory queue's fill, 0-1.
   */
  offer(b: QueuedBatch, queueFill: number, now: number): boolean {
    const sender = this.#sender!;
    if (now < this.#pausedUntil) return false;
    if (this.#spool.holds(b.topic, b.partition)) return this.#store(b, false);
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
        if (sender.available(topic, partition, now) || this.#spool.holds(topic, partition)) continue;
        const waiting = sender.pending(topic, partition);
        if (waiting.inFlight > 0 || waiting.batches.length === 0) continue;
        for (const w of sender.withdraw(topic, partition)) this.#store(w, false);
      }
    }
    this.#replay(now);
    this.#spool.sync();
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
    const k = key(b.topic, b.partition);
    if (origin.parts > 0) {
      origin.settledRecords += b.records;
      this.#settledPartial += b.records;
      return;
    }
    this.#settledPartial -= origin.settledRecords;
    this.#loaded.set(k, Math.max(0, (this.#loaded.get(k) ?? 1) - 1));
    this.#loadedBytes -= origin.entry.length;
    try {
      this.#spool.ack(origin.entry);
    } catch (err) {
      this.#diskError(err);
    }
    this.#events.left(origin.entry.meta.records);
  }

  /** A replayed batch went back (its partition became unavailable): it is read again later. */
  unloaded(b: QueuedBatch): void {
    const k = key(b.topic, b.partition);
    this.#loaded.set(k, Math.max(0, (this.#loaded.get(k) ?? 1) - 1));
    this.#loadedBytes -= b.origin!.entry.length;
  }

  close(): void {
    try {
      this.#spool.close();
    } catch (err) {
      this.#diskError(err);
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

  /** Loads the next spooled entries of each partition that can take them into the sender. */
  #replay(now: number): void {
    const sender = this.#sender!;
    for (const q of this.#spool.partitions()) {
      if (this.#loadedBytes >= REPLAY_MAX_BYTES) return;
      if (!sender.available(q.topic, q.partition, now)) continue;
      const waiting = sender.pending(q.topic, q.partition);
      // Batches from memory go first: they are older than anything spooled for the partition.
      if (waiting.batches.some((b) => b.origin === null)) continue;
      const k = key(q.topic, q.partition);
      let loaded = this.#loaded.get(k) ?? 0;
      while (loaded < REPLAY_WINDOW && loaded < q.entries.length && this.#loadedBytes < REPLAY_MAX_BYTES) {
        const entry = q.entries[loaded]!;
        let records: Buffer | null;
        try {
          records = this.#spool.read(entry);
        } catch (err) {
          this.#diskError(err);
          return;
        }
        if (records === null) {
          // Damaged since it was written: gone from the spool, counted.
          this.#log.sampled('error', 'spool-corrupt', 'spooled batch failed its checksum, dropped', { dir: this.#spool.dir, topic: q.topic, partition: q.partition, records: entry.meta.records });
          for (const t of entry.meta.tenants) this.#events.dropped('spool_corrupt', t.name, t.records);
          this.#events.left(entry.meta.records);
          continue;
        }
        sender.enqueue(this.#batchOf(entry, records));
        loaded++;
        this.#loadedBytes += entry.length;
        this.replayedRecords.total += entry.meta.records;
      }
      this.#loaded.set(k, loaded);
    }
  }

  #batchOf(entry: SpoolEntry, records: Buffer): QueuedBatch {
    const m = entry.meta;
    const b = newBatch(m.topic, m.partition, BatchBuilder.fromRecords(records, m.messages, m.baseTimestamp, m.maxTimestamp), m.firstReceivedAt);
    for (const t of m.tenants) {
      b.tenants.push(t.name);
      b.tenantRecords.push(t.records);
    }
    b.records = m.records;
    b.bytes = 0; // not in the memory queue
    b.origin = { entry, parts: 1, settledRecords: 0 };
    return b;
  }
}
