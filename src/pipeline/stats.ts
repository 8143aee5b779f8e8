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
  kafkaErrors: Record<string, number>;
  /** Receive-to-ack latency samples in ms, one per acknowledged batch (the oldest record's). */
  latencyMs: number[];
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
