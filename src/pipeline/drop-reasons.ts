// Every reason FlowGate counts something as dropped or skipped, by the stage that drops it: the
// one definition the receiver, the router, the producer, the pool, the accounting layout and the
// metrics import. Plain data, no imports: the main thread loads it without kafkajs or the decoder.
//
// Adding a record drop reason is one line in its stage's list below; recordDropReasons (and so
// the accounting layout, pipeline/accounting.ts, and flowgate_records_dropped_total) follow.
// The layout changes with it: bump ACCOUNTING_LAYOUT_VERSION there.

/** Receiver (udp/receiver.ts): datagrams dropped before any worker saw them. */
export const receiverDropReasons = ['ring_full', 'too_large', 'not_allowed', 'rate_limited'] as const;
export type ReceiverDropReason = (typeof receiverDropReasons)[number];

// Decoder statuses are the decoder's own closed list (assembly/status.ts, read from the module's
// exports by decoder/wasm.ts: decodeStatuses(), and datagramStatuses() for those that reject a
// whole datagram). The one the host counts per record is named here, checked against the exports.
/**
 * Decoder statuses counted per record that never left the decoder (no room in its output region).
 * These records were never decoded, so they are outside the accounting identity (pipeline/accounting.ts).
 */
export const decoderRecordStatuses = ['output_full'] as const;

/** Router (decoder/worker.ts): no tenant owns the exporter and unknown_exporters is "drop". */
export const routerDropReasons = ['no_tenant'] as const;
/** Producer (kafka/): the queue was full, Kafka refused the batch, or the worker stopped with it queued. */
export const producerDropReasons = ['queue_full', 'kafka_rejected', 'shutdown'] as const;
export type ProducerDropReason = (typeof producerDropReasons)[number];
/**
 * Disk spool (kafka/spool-gate.ts): over spool.max_bytes; a disk error while no memory could keep
 * the batch (at shutdown); an entry damaged on disk since it was written.
 */
export const spoolDropReasons = ['spool_full', 'spool_error', 'spool_corrupt'] as const;
export type SpoolDropReason = (typeof spoolDropReasons)[number];
/** Pool (decoder/pool.ts): records a worker had taken in and not settled when it died. */
export const poolDropReasons = ['worker_failed'] as const;

/**
 * Reasons a decoded record did not reach Kafka, in accounting-slot order. The identity:
 *   records decoded + recovered = delivered + sum of dropped{reason} + queued + spooled
 */
export const recordDropReasons = [...routerDropReasons, ...producerDropReasons, ...spoolDropReasons, ...poolDropReasons] as const;
export type RecordDropReason = (typeof recordDropReasons)[number];

/** Live tap (tap/hub.ts, tap/forwarder.ts): records a tap client asked for and did not get. */
export const tapSkipReasons = ['slow_client', 'rate_limit', 'worker_cap', 'ingest_busy'] as const;
export type TapSkipReason = (typeof tapSkipReasons)[number];

/**
 * HTTP server (http/auth.ts): requests to a token-guarded endpoint (the APIs with
 * http.protect_api, the tap upgrade) refused without being served: bad_token, a missing or wrong
 * token (401; counted against the client's address); rate_limited, refused with 429 without the
 * token being checked, the address having failed too often within http.auth_failure_window_ms.
 */
export const httpAuthFailureReasons = ['bad_token', 'rate_limited'] as const;
export type HttpAuthFailureReason = (typeof httpAuthFailureReasons)[number];

/** HTTP server (http/server.ts): requests refused for their size (413 and the connection closed). */
export const httpRefuseReasons = ['body_too_large'] as const;
export type HttpRefuseReason = (typeof httpRefuseReasons)[number];

/**
 * Live tap (tap/hub.ts): upgrades refused for the client caps (tap.max_clients,
 * tap.max_clients_per_tenant), clients closed for a message over tap.max_message_bytes, filters
 * refused as invalid or as too broad (filter.ts says which).
 */
export const tapRefuseReasons = ['clients_full', 'tenant_clients_full', 'message_too_large', 'filter_invalid', 'filter_too_broad'] as const;
export type TapRefuseReason = (typeof tapRefuseReasons)[number];

/** A zero for every reason of a list: counters that exist from start-up. */
export function zeroCounts<R extends string>(reasons: readonly R[]): Record<R, number> {
  return Object.fromEntries(reasons.map((r) => [r, 0])) as Record<R, number>;
}
