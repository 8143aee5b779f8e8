// A sealed batch of one topic partition on its way to the broker: what the accumulator hands the
// sender (and, later, what a disk spool stores and gives back for replay). The one definition of
// what the producer knows about a batch besides its bytes.
import { BatchBuilder, recordViews } from './protocol/record-batch.js';
import type { Spool, SpoolEntry } from '../spool/spool.js';

/** Where a batch replayed from the disk spool came from: the entry leaves the spool when all its parts are acknowledged. */
export interface SpoolOrigin {
  readonly spool: Spool;
  /** The entries the batch was made of (consecutive entries of one partition, merged for replay). */
  readonly entries: readonly SpoolEntry[];
  /** Their frames' bytes and records, in all. */
  readonly bytes: number;
  readonly records: number;
  /** Batches the entries are sent as (more than one after a split) not acknowledged or dropped yet. */
  parts: number;
  /** Records of parts already acknowledged or dropped (the entry still counts them until it leaves). */
  settledRecords: number;
}

/**
 * The oldest input a batch holds records of (a decoder's datagram number, role decode): the raw
 * offset of that datagram is committed only once no batch holds records of it or older. Shared by
 * the parts of a split batch; the accumulator forgets it when `parts` reaches 0.
 */
export interface MarkRef {
  mark: number;
  parts: number;
}

export interface QueuedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The records, uncompressed (count, timestamps and the records section: what a spool keeps). */
  readonly builder: BatchBuilder;
  /** Flow records per tenant, in order of arrival: usually one tenant per topic. */
  readonly tenants: string[];
  readonly tenantRecords: number[];
  /** Flow records in the batch (a message holds several in NDJSON mode). */
  records: number;
  /** Queue bytes the batch holds (what admission counted for its messages). */
  bytes: number;
  /** Receive time of the first record (delivery latency is measured from it). */
  readonly firstReceivedAt: number;
  /** Header + records (compressed or not) once sealed for sending; kept for retries. */
  wire: Buffer | null;
  /** Sequence stamped on the wire batch (idempotence, sequences.ts); -1 when none is assigned. */
  baseSequence: number;
  /** Set for a batch replayed from the disk spool: its records are counted there, not in the memory queue. */
  origin: SpoolOrigin | null;
  /** With input marks tracked (accumulator.trackMarks): the oldest input it holds records of. */
  mark: MarkRef | null;
}

/** Why a batch left the producer unwritten (also a record drop reason, names.ts). */
export type BatchDropReason = 'kafka_rejected' | 'shutdown';

export function newBatch(topic: string, partition: number, builder: BatchBuilder, firstReceivedAt: number): QueuedBatch {
  return { topic, partition, builder, tenants: [], tenantRecords: [], records: 0, bytes: 0, firstReceivedAt, wire: null, baseSequence: -1, origin: null, mark: null };
}

/** Counts `records` flow records of `tenant` taking `bytes` of the queue into `b`. */
export function countRecords(b: QueuedBatch, tenant: string, records: number, bytes: number): void {
  const last = b.tenants.length - 1;
  if (last >= 0 && b.tenants[last] === tenant) b.tenantRecords[last]! += records;
  else {
    b.tenants.push(tenant);
    b.tenantRecords.push(records);
  }
  b.records += records;
  b.bytes += bytes;
}

/** Two batches holding `b`'s records (its first and second half), for a broker that found it too large. */
export function splitBatch(b: QueuedBatch): QueuedBatch[] {
  const views = recordViews(b.builder);
  const half = Math.ceil(views.length / 2);
  const parts = [views.slice(0, half), views.slice(half)];
  // Records per tenant cannot be told apart inside a batch; in NDJSON mode a message holds
  // several records, so the counts are split in proportion to the messages.
  const out: QueuedBatch[] = [];
  let assigned = 0;
  let assignedBytes = 0;
  for (let k = 0; k < 2; k++) {
    const builder = new BatchBuilder(b.builder.capacity, b.builder.length);
    for (const v of parts[k]!) {
      const headers = b.builder.buffer.subarray(v.headersStart, v.headersEnd);
      builder.append(b.builder.buffer, v.keyStart, v.keyLength, b.builder.buffer, v.valueStart, v.valueEnd, headers, b.builder.baseTimestamp + v.timestampDelta);
    }
    const part = newBatch(b.topic, b.partition, builder, b.firstReceivedAt);
    part.origin = b.origin;
    part.mark = b.mark;
    part.records = k === 0 ? Math.round((b.records * parts[0]!.length) / views.length) : b.records - assigned;
    part.bytes = k === 0 ? Math.round((b.bytes * parts[0]!.length) / views.length) : b.bytes - assignedBytes;
    assigned += part.records;
    assignedBytes += part.bytes;
    out.push(part);
  }
  // Tenants: in order, the first half takes records from the first tenants.
  let need = out[0]!.records;
  for (let i = 0; i < b.tenants.length; i++) {
    let n = b.tenantRecords[i]!;
    const first = Math.min(n, need);
    if (first > 0) {
      out[0]!.tenants.push(b.tenants[i]!);
      out[0]!.tenantRecords.push(first);
    }
    need -= first;
    n -= first;
    if (n > 0) {
      out[1]!.tenants.push(b.tenants[i]!);
      out[1]!.tenantRecords.push(n);
    }
  }
  const halves = out.filter((x) => x.builder.count > 0);
  if (b.origin) b.origin.parts += halves.length - 1;
  if (b.mark) b.mark.parts += halves.length - 1;
  return halves;
}
