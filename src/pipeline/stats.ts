// What each worker reports (by message, on request: never per packet) and how the main
// thread adds the reports up. The accounting identity the tests check:
//   records decoded = delivered + sum of dropped{reason} + still queued
import type { DecoderCounters } from '../decoder/wasm.js';
import { producerDropReasons } from '../kafka/names.js';

/** Reasons a decoded record did not reach Kafka: the router's, then the producer's. */
export const recordDropReasons = ['no_tenant', ...producerDropReasons, 'worker_failed'] as const;
export type RecordDropReason = (typeof recordDropReasons)[number];

/** Tenant label for exporters no tenant owns (routed to the default topic). */
export const UNKNOWN_TENANT = '_unknown';

export interface WorkerStats {
  worker: number;
  /** Tells one run of a worker from the next: counters restart when it changes. */
  incarnation: string;
  /** Datagrams taken from the ring and decoded. */
  datagrams: number;
  decoder: DecoderCounters;
  decodedByTenant: Record<string, number>;
  /** "tenant\ttopic" -> records acknowledged by Kafka. */
  delivered: Record<string, number>;
  dropped: Record<RecordDropReason, number>;
  droppedByTenant: Record<string, number>;
  queuedRecords: number;
  queuedBytes: number;
  kafkaConnected: boolean;
  kafkaErrors: Record<string, number>;
  /** Receive-to-ack latency samples in ms, one per acknowledged batch (the oldest record's). */
  latencyMs: number[];
  /** State files this worker set aside, by reason (state/file.ts). */
  stateFilesRejected: Record<string, number>;
}

export function emptyDropCounts(): Record<RecordDropReason, number> {
  return Object.fromEntries(recordDropReasons.map((r) => [r, 0])) as Record<RecordDropReason, number>;
}

export interface Totals {
  datagrams: number;
  recordsDecoded: number;
  delivered: number;
  dropped: Record<RecordDropReason, number>;
  queued: number;
}

/** Adds up worker reports (including those of workers that ended, kept by the pool). */
export function totals(reports: Iterable<WorkerStats>): Totals {
  const t: Totals = { datagrams: 0, recordsDecoded: 0, delivered: 0, dropped: emptyDropCounts(), queued: 0 };
  for (const r of reports) {
    t.datagrams += r.datagrams;
    t.recordsDecoded += r.decoder.records;
    for (const n of Object.values(r.delivered)) t.delivered += n;
    for (const reason of recordDropReasons) t.dropped[reason] += r.dropped[reason];
    t.queued += r.queuedRecords;
  }
  return t;
}

/**
 * Accounting slots per worker in a SharedArrayBuffer (Float64, one writer: the worker). The
 * pool reads them even after a worker died, so records it had taken in are still accounted
 * for: what it decoded and had not delivered or dropped counts as dropped "worker_failed".
 */
export const Acct = {
  datagrams: 0,
  decoded: 1,
  delivered: 2,
  no_tenant: 3,
  queue_full: 4,
  kafka_rejected: 5,
  shutdown: 6,
} as const;
export const ACCT_SLOTS = 8;

export function accountingView(buffer: SharedArrayBuffer, worker: number): Float64Array {
  return new Float64Array(buffer, worker * ACCT_SLOTS * 8, ACCT_SLOTS);
}

/** Records a worker accepted that are neither delivered nor dropped: queued, or lost with the worker. */
export function unaccounted(a: Float64Array): number {
  return a[Acct.decoded]! - a[Acct.delivered]! - a[Acct.no_tenant]! - a[Acct.queue_full]! - a[Acct.kafka_rejected]! - a[Acct.shutdown]!;
}

/** An exporter as /api/exporters shows it (one decoder session: exporter, port, domain). */
export interface ExporterView {
  exporter: string;
  port: number;
  domain: number;
  version: number;
  tenant: string | null;
  topic: string | null;
  worker: number;
  datagrams: number;
  records: number;
  last_seen: string;
  templates: number;
  sequence_lost_records: number;
  sampling: number | null;
}

export interface TemplateView {
  exporter: string;
  port: number;
  domain: number;
  id: number;
  kind: 'data' | 'options';
  scope_fields: number;
  fields: { id: number; enterprise: boolean; length: number }[];
  age_s: number;
}
