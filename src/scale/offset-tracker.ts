// Which raw offsets a decoder may commit (role decode). Each raw message goes to one worker's
// ring; the worker reports how many of the datagrams it took are settled (scale/progress.ts:
// every record acknowledged or counted as dropped, template changes published, nothing held).
// A partition's offset can be committed up to its first message that is not settled yet, since
// its messages go to several workers and settle out of order (and a message holds one or more
// datagrams: one entry each, all of its offset). Pure bookkeeping: no Kafka here.

interface Entry {
  offset: number;
  settled: boolean;
}

interface PartitionTrack {
  partition: number;
  /** Entries in offset order, from `head`. */
  entries: Entry[];
  head: number;
  /** Highest offset taken (a message at or below it, fetched again, is already on its way). */
  lastTaken: number;
  /** Offset to commit (the next one to read); -1 before anything settled. */
  commitOffset: number;
  committed: number;
}

export class OffsetTracker {
  readonly #partitions = new Map<number, PartitionTrack>();
  /** Per worker: entries in push order, and the count pushed so far (its datagram numbers). */
  readonly #queues: Entry[][];
  readonly #heads: number[];
  readonly #pushed: number[];

  constructor(workers: number) {
    this.#queues = Array.from({ length: workers }, () => []);
    this.#heads = new Array<number>(workers).fill(0);
    this.#pushed = new Array<number>(workers).fill(0);
  }

  #track(partition: number): PartitionTrack {
    let t = this.#partitions.get(partition);
    if (!t) {
      t = { partition, entries: [], head: 0, lastTaken: -1, commitOffset: -1, committed: -1 };
      this.#partitions.set(partition, t);
    }
    return t;
  }

  /** Whether a message at `offset` of `partition` is new (not taken already since the partition was assigned). */
  isNew(partition: number, offset: number): boolean {
    return offset > this.#track(partition).lastTaken;
  }

  /** A message went to worker `worker`'s ring: it settles with that worker's datagram number. */
  pushed(partition: number, offset: number, worker: number): void {
    const t = this.#track(partition);
    const e: Entry = { offset, settled: false };
    t.entries.push(e);
    t.lastTaken = offset;
    this.#queues[worker]!.push(e);
    this.#pushed[worker]!++;
  }

  /** A message that needs no decoding (skipped, counted): settled at once. */
  skipped(partition: number, offset: number): void {
    const t = this.#track(partition);
    t.entries.push({ offset, settled: true });
    t.lastTaken = offset;
  }

  /** Datagrams worker `worker` has pushed and not yet settled. */
  unsettled(worker: number): number {
    return this.#queues[worker]!.length - this.#heads[worker]!;
  }

  /** Messages pushed, by all workers, not yet settled. */
  get inFlight(): number {
    let n = 0;
    for (let w = 0; w < this.#queues.length; w++) n += this.unsettled(w);
    return n;
  }

  /** Worker `worker` reports its first `settledCount` datagrams settled. */
  settle(worker: number, settledCount: number): void {
    const queue = this.#queues[worker]!;
    let head = this.#heads[worker]!;
    // Datagram k (1-based) of the worker is queue entry k - 1.
    const upTo = Math.min(settledCount, this.#pushed[worker]!) - (this.#pushed[worker]! - queue.length);
    while (head < upTo) queue[head++]!.settled = true;
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.#heads[worker] = head;
  }

  /** Partitions whose commit offset moved since the last call: [partition, offset to commit]. */
  commits(): [number, number][] {
    const out: [number, number][] = [];
    for (const t of this.#partitions.values()) {
      let head = t.head;
      while (head < t.entries.length && t.entries[head]!.settled) head++;
      // A message holds several datagrams (entries of one offset): the offset is done only when
      // all are, so the commit stops at the first open entry's offset (that message is read again).
      if (head > t.head) {
        const next = head < t.entries.length ? t.entries[head]!.offset : t.entries[head - 1]!.offset + 1;
        if (next > t.commitOffset) t.commitOffset = next;
      }
      if (head > 4096 && head * 2 > t.entries.length) {
        t.entries.splice(0, head);
        head = 0;
      }
      t.head = head;
      if (t.commitOffset > t.committed) out.push([t.partition, t.commitOffset]);
    }
    return out;
  }

  /** The broker took the commit of `offset` for `partition`. */
  committed(partition: number, offset: number): void {
    const t = this.#partitions.get(partition);
    if (t && offset > t.committed) t.committed = offset;
  }

  /**
   * The partitions now assigned: the others are forgotten (entries of theirs still in worker
   * queues settle into nothing; one assigned again starts anew from its committed offset). Returns the messages taken from the forgotten partitions and not
   * committed: the next owner decodes them again (delivered twice where they were delivered here).
   */
  assigned(partitions: readonly number[]): number {
    const keep = new Set(partitions);
    let uncommitted = 0;
    for (const [p, t] of this.#partitions) {
      if (keep.has(p)) continue;
      for (const e of t.entries) if (e.offset >= t.committed) uncommitted++;
      this.#partitions.delete(p);
    }
    return uncommitted;
  }
}
