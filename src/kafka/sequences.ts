// Idempotence (kafka.idempotent): a producer id and epoch from the broker, and per partition a
// sequence number stamped on each batch when it is first sent and kept for its retries, so the
// broker recognises a retry of a batch it already wrote and does not write it twice (as the Java
// client's TransactionManager does for an idempotent producer). Sequences are int32 and wrap.
import { NO_PRODUCER, type ProducerStamp } from './protocol/record-batch.js';
import type { QueuedBatch } from './queued-batch.js';

const SEQUENCE_LIMIT = 0x80000000;

/** One partition's numbering. */
export interface PartitionSequence {
  /** The sequence the next batch gets. */
  next: number;
  /** Sequence after the last batch the broker acknowledged: where renumbering starts. */
  acked: number;
}

/** A partition's numbering and its batches not yet acknowledged, in order. */
export interface SequencedPartition {
  readonly sequence: PartitionSequence;
  readonly batches: readonly QueuedBatch[];
}

export class Sequences {
  readonly enabled: boolean;
  #producerId = -1n;
  #producerEpoch = -1;
  #needProducerId: boolean;

  constructor(enabled: boolean) {
    this.enabled = enabled;
    this.#needProducerId = enabled;
  }

  /** Nothing may be sent before a producer id is obtained: a batch stamped without one would not be idempotent. */
  get needProducerId(): boolean {
    return this.#needProducerId;
  }

  /** Numbering for a partition seen for the first time. */
  partition(): PartitionSequence {
    return { next: 0, acked: 0 };
  }

  /** The stamp for `b`, giving it the partition's next sequences when it has none. */
  stamp(sequence: PartitionSequence, b: QueuedBatch): ProducerStamp {
    if (!this.enabled) return NO_PRODUCER;
    if (b.baseSequence < 0) {
      b.baseSequence = sequence.next;
      sequence.next = (sequence.next + b.builder.count) % SEQUENCE_LIMIT;
    }
    return { producerId: this.#producerId, producerEpoch: this.#producerEpoch, baseSequence: b.baseSequence };
  }

  /** The broker wrote `b` (or had written it: a duplicate). */
  acknowledged(sequence: PartitionSequence, b: QueuedBatch): void {
    if (b.baseSequence >= 0) sequence.acked = (b.baseSequence + b.builder.count) % SEQUENCE_LIMIT;
  }

  /**
   * Batches of the partition left it unwritten (dropped, split): the ones still queued (none of
   * them in flight) are numbered again from the first unacknowledged sequence.
   */
  renumber(p: SequencedPartition): void {
    if (!this.enabled) return;
    p.sequence.next = p.sequence.acked;
    for (const b of p.batches) b.baseSequence = -1;
  }

  /** The broker lost track of this producer (or its sequences): a new id before anything is sent again. */
  lost(): void {
    if (this.enabled) this.#needProducerId = true;
  }

  /** A new producer id: every partition's sequences start again at 0. */
  reset(id: { producerId: bigint; producerEpoch: number }, partitions: Iterable<SequencedPartition>): void {
    this.#producerId = id.producerId;
    this.#producerEpoch = id.producerEpoch;
    this.#needProducerId = false;
    for (const p of partitions) {
      p.sequence.next = 0;
      p.sequence.acked = 0;
      for (const b of p.batches) b.baseSequence = -1;
    }
  }
}
