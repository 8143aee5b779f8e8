// The suite's summary from bench/results.json: one table (name, records/s, ratio to each
// baseline, p99, RSS) and the lines that do not fit in records/s (datagrams/s, ms, MB growth).
import { fixed, int, ratio } from './table.js';

type Results = Record<string, unknown>;

const num = (r: Results, k: string): number | null => {
  const v = r[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

export const SUMMARY_HEADER = ['name', 'records/s', 'x broker ceiling', 'x nfacctd', 'x discard sink', 'x TS decoder', 'p99 ms', 'RSS MB'];

export function summaryRows(r: Results): string[][] {
  const ceiling = num(r, 'broker_ceiling_records_per_s');
  const nfacctd = num(r, 'nfacctd_records_per_s');
  const noop = num(r, 'noop_sink_records_per_s');
  const tsDecode = num(r, 'ts_decode_records_per_s');
  const e2e = (name: string, v: number | null, p99: number | null, rss: number | null, self?: 'ceiling' | 'nfacctd' | 'noop') => [
    name, int(v),
    self === 'ceiling' ? '1.00x' : ratio(v, ceiling),
    self === 'nfacctd' ? '1.00x' : ratio(v, nfacctd),
    self === 'noop' ? '1.00x' : ratio(v, noop),
    '', fixed(p99, 1), fixed(rss),
  ];
  return [
    e2e('FlowGate -> Kafka, 1 record/message (acks=-1, lossless)', num(r, 'pipeline_records_per_s'), num(r, 'pipeline_p99_ms') ?? num(r, 'p99_ms'), num(r, 'pipeline_rss_mb')),
    e2e('FlowGate -> Kafka, 1 message/datagram (NDJSON)', num(r, 'pipeline_datagram_records_per_s'), num(r, 'pipeline_datagram_p99_ms'), num(r, 'pipeline_datagram_rss_mb')),
    e2e('baseline: FlowGate -> discard sink (no Kafka)', noop, null, num(r, 'noop_sink_rss_mb'), 'noop'),
    e2e(`baseline: Kafka ProducerPerformance (broker ceiling${num(r, 'broker_ceiling_record_size') ? `, ${int(num(r, 'broker_ceiling_record_size'))} B records` : ''})`,
      ceiling, num(r, 'broker_ceiling_p99_ms'), num(r, 'broker_ceiling_rss_mb'), 'ceiling'),
    e2e(`baseline: nfacctd${typeof r.nfacctd_version === 'string' ? ` ${r.nfacctd_version}` : ''} + Kafka plugin`, nfacctd, null, num(r, 'nfacctd_rss_mb'), 'nfacctd'),
    ['decode: wasm, JSON out (1 thread)', int(num(r, 'decode_records_per_s')), '', '', '', ratio(num(r, 'decode_records_per_s'), tsDecode), '', ''],
    ['baseline: decode, TypeScript (1 thread)', int(tsDecode), '', '', '', tsDecode ? '1.00x' : '', '', ''],
  ];
}

/** What the table cannot hold, one line each; missing figures say n/a. */
export function summaryNotes(r: Results): string[] {
  const n = (k: string) => num(r, k);
  const notes = [
    `drops (or a backlog > 3 s) begin at: FlowGate 1 record/message ${int(n('pipeline_drops_begin_records_per_s'))}, NDJSON ${int(n('pipeline_datagram_drops_begin_records_per_s'))}, `
      + `discard sink ${int(n('noop_sink_drops_begin_records_per_s'))}, nfacctd ${int(n('nfacctd_drops_begin_records_per_s'))} records/s (n/a: not reached or not run)`,
    `latency receive -> ack at half the sustained rate: 1 record/message p50 ${fixed(n('pipeline_p50_ms'), 1) || 'n/a'} / p99 ${fixed(n('pipeline_p99_ms'), 1) || 'n/a'} ms `
      + `(${int(n('pipeline_half_rate_records_per_s'))}/s); NDJSON p50 ${fixed(n('pipeline_datagram_p50_ms'), 1) || 'n/a'} / p99 ${fixed(n('pipeline_datagram_p99_ms'), 1) || 'n/a'} ms `
      + `(${int(n('pipeline_datagram_half_rate_records_per_s'))}/s); broker ceiling's p99 is of a saturated producer`,
    `gateway CPU at the sustained rate: 1 record/message ${fixed(n('pipeline_cpu_pct')) || 'n/a'} %, NDJSON ${fixed(n('pipeline_datagram_cpu_pct')) || 'n/a'} %, discard ${fixed(n('noop_sink_cpu_pct')) || 'n/a'} % (of one core)`,
    `receive only: ${int(n('receive_datagrams_per_s'))} datagrams/s without kernel drops (${int(n('receive_datagram_bytes'))} B datagrams), one process`,
    `ready after start (broker up): ${int(n('ready_ms'))} ms`,
    `broker ceiling runs: ${Array.isArray(r.broker_ceiling_runs_records_per_s) ? (r.broker_ceiling_runs_records_per_s as number[]).map(int).join(', ') : 'n/a'} records/s `
      + `(best counts), ${int(n('broker_ceiling_records'))} records of ${int(n('broker_ceiling_record_size'))} B after ${int(n('broker_ceiling_warmup_records'))} warm-up records`,
    `soak: ${int(n('soak_seconds'))} s at ${int(n('soak_records_per_s'))} records/s, ${r.soak_lossless === true ? 'lossless' : r.soak_lossless === false ? 'NOT lossless' : 'n/a'}: `
      + `RSS growth ${fixed(n('soak_rss_growth_mb'), 1) || 'n/a'} MB, main-thread heap growth ${fixed(n('soak_heap_growth_mb'), 1) || 'n/a'} MB`,
    `disk spool: alone ${int(n('spool_write_records_per_s'))} records/s appended, ${int(n('spool_read_ack_records_per_s'))} read + acked; in the gateway, broker down: `
      + `${int(n('spool_gateway_spooled_records_per_s'))} records/s spooled (${r.spool_gateway_spool_lossless === true ? 'lossless' : r.spool_gateway_spool_lossless === false ? 'NOT lossless' : 'n/a'}); `
      + `broker back: ${int(n('spool_replay_records_per_s'))} replayed/s, backlog ${int(n('spool_backlog_records'))} drained at ${int(n('spool_drain_records_per_s'))}/s net `
      + `(${r.spool_drain_emptied === true ? 'emptied' : r.spool_drain_emptied === false ? 'NOT emptied' : 'n/a'}) beside ${int(n('spool_replay_live_records_per_s'))}/s live, `
      + `${int(n('spool_replay_dropped'))} records and ${int(n('spool_replay_datagram_drops'))} datagrams dropped; lossless rate with spool.dir ${int(n('spool_overhead_with_records_per_s'))} vs ${int(n('spool_overhead_without_records_per_s'))} without`,
    scaleNote(r),
    `live tap: ${int(n('tap_load_clients'))} clients at ${int(n('tap_load_offered_records_per_s'))} records/s: delivered with / without ${fixed(n('tap_load_ratio'), 3) || 'n/a'}, `
      + `gateway CPU ${fixed(n('tap_load_cpu_with_pct')) || 'n/a'} % with vs ${fixed(n('tap_load_cpu_without_pct')) || 'n/a'} % without, ${int(n('tap_load_tap_records'))} records to the clients`,
    edgeNote(r),
  ];
  return notes;
}

/** The scale-out roles (bench/scale.bench.ts) in one line. */
function scaleNote(r: Results): string {
  const n = (k: string) => num(r, k);
  const pct = (k: string) => (n(k) === null ? 'n/a' : `${n(k)! >= 0 ? '+' : ''}${fixed(n(k), 0)} %`);
  const us = (k: string) => fixed(n(k), 2) || 'n/a';
  return `scale-out roles: lossless ${int(n('scale_all_records_per_s'))} (role all) / ${int(n('scale_split1_records_per_s'))} (receive + 1 decoder) / `
    + `${int(n('scale_split2_records_per_s'))} (receive + 2 decoders) records/s; FlowGate CPU per record at ${int(n('scale_cpu_rate_records_per_s'))}/s `
    + `${us('scale_all_cpu_us_per_record')} / ${us('scale_split1_cpu_us_per_record')} (${pct('scale_split1_cpu_overhead_pct')}) / `
    + `${us('scale_split2_cpu_us_per_record')} (${pct('scale_split2_cpu_overhead_pct')}) µs, broker ${us('scale_all_broker_cpu_us_per_record')} / `
    + `${us('scale_split1_broker_cpu_us_per_record')} / ${us('scale_split2_broker_cpu_us_per_record')} µs; raw topic ${fixed(n('scale_split1_raw_bytes_per_record'), 1) || 'n/a'} B/record `
    + `on the broker (tenant topic ${fixed(n('scale_all_tenant_bytes_per_record'), 1) || 'n/a'}); a new decoder's first record ${int(n('scale_decoder_first_record_ms'))} ms after its start `
    + `(templates from the template topic); rebalance pause ${int(n('scale_rebalance_pause_ms'))} ms when a second decoder joins`;
}

/** The edge benchmarks (bench/edge-*.bench.ts) in one line. */
function edgeNote(r: Results): string {
  const n = (k: string) => num(r, k);
  const yes = (k: string) => (r[k] === true ? 'holds' : r[k] === false ? 'DOES NOT HOLD' : 'n/a');
  const rl = (k: string) => int(n(`edge_noisy_${k}`));
  return `edge: spoofed flood of ${int(n('edge_spoof_sources'))} sources at ${int(n('edge_spoof_sender_datagrams_per_s'))} datagrams/s: real exporters delivered `
    + `${int(n('edge_spoof_real_delivered'))} of ${int(n('edge_spoof_real_expected'))} records, sessions evicted ${int(n('edge_spoof_sessions_evicted'))}, `
    + `RSS peak ${int(n('edge_spoof_rss_peak_mb'))} MB, identity ${yes('edge_spoof_identity_holds')}; template flood (${int(n('edge_templates_exporters'))} x `
    + `${int(n('edge_templates_per_exporter'))}): the real exporter's rate ${fixed(n('edge_templates_real_ratio'), 2) ? `${fixed(n('edge_templates_real_ratio'), 2)}x` : 'n/a'} of without, RSS `
    + `${int(n('edge_templates_rss_without_mb'))} -> ${int(n('edge_templates_rss_flood_mb'))} MB; noisy exporter (${int(n('edge_noisy_factor'))}x): neighbours delivered `
    + `${rl('limited_neighbours_delivered')} of ${rl('limited_neighbours_sent')} with the rate limit (noisy: ${rl('limited_noisy_rate_limited')} datagrams rate_limited), `
    + `${rl('unlimited_neighbours_delivered')} of ${rl('unlimited_neighbours_sent')} without`;
}
