// What each worker reports by message, on request (never per packet): diagnostics, not the
// accounting identity. The identity's counters (datagrams, decoded, delivered, dropped by reason)
// travel in shared memory only (pipeline/accounting.ts); these reports add the breakdowns the
// metrics and APIs show: per tenant and per topic, decoder counters, Kafka state and errors,
// latency samples.
import type { DecoderCounters } from '../decoder/wasm.js';

/** Tenant label for exporters no tenant owns (routed to the default topic). */
export const UNKNOWN_TENANT = '_unknown';

export interface WorkerStats {
  worker: number;
  /** Tells one run of a worker from the next: counters restart when it changes. */
  incarnation: string;
  decoder: DecoderCounters;
  decodedByTenant: Record<string, number>;
  /** "tenant\ttopic" -> records acknowledged by Kafka. */
  delivered: Record<string, number>;
  /** Records dropped, any reason, by tenant. */
  droppedByTenant: Record<string, number>;
  queuedRecords: number;
  queuedBytes: number;
  kafkaConnected: boolean;
  /** While not connected: why the last attempt failed (null: none yet). */
  kafkaConnectError: string | null;
  kafkaErrors: Record<string, number>;
  /** Receive-to-ack latency samples in ms, one per acknowledged batch (the oldest record's). */
  latencyMs: number[];
  /** State files this worker set aside, by reason (state/file.ts). */
  stateFilesRejected: Record<string, number>;
  /** This worker's disk spool (its records are in the accounting too), or null without one. */
  spool: SpoolReport | null;
}

export interface SpoolReport {
  bytes: number;
  records: number;
  /** Receive time of the oldest record spooled, ms since epoch; undefined when empty. */
  oldestReceivedAt: number | undefined;
  /** Records written to the spool and replayed from it since the worker started. */
  written: number;
  replayed: number;
  /** Entries found damaged (at open or when read back) and cut off. */
  corruptEntries: number;
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
