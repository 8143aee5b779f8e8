// Every metric, defined once, with its label values (prom-client). Values are read at scrape
// time: the accounting identity's totals from gateway.accounting() (the workers' shared
// accounting, pipeline/accounting.ts: exact, survives worker restarts), the breakdowns and
// diagnostics from the workers' reports (asked for once per scrape, never per packet). Every
// labelled series with a closed set of label values (pipeline/drop-reasons.ts) exists at 0 from
// start-up.
import client from 'prom-client';
import { decodeStatuses, datagramStatuses, ABI_VERSION } from './decoder/wasm.js';
import {
  receiverDropReasons, decoderRecordStatuses, recordDropReasons, tapSkipReasons, tapRefuseReasons, httpAuthFailureReasons, httpRefuseReasons, zeroCounts,
  type TapSkipReason, type TapRefuseReason, type HttpAuthFailureReason, type HttpRefuseReason,
} from './pipeline/drop-reasons.js';
import { UNKNOWN_TENANT, type WorkerStats } from './pipeline/stats.js';
import { udpSocketStats } from './udp/proc-net-udp.js';
import type { Gateway } from './gateway.js';
import { stateFileRejectReasons } from './state/file.js';
import { rawSkipReasons } from './scale/raw-message.js';
import { templateSkipReasons } from './scale/template-message.js';
import { tcpConnectionOutcomes } from './tcp/receiver.js';

/** Per-exporter series are capped: the exporters with the most records keep their own series. */
export const MAX_EXPORTER_SERIES = 100;

export interface TapStats {
  clients(): number;
  sentRecords(): number;
  skippedRecords(): Record<TapSkipReason, number>;
  refused(): Record<TapRefuseReason, number>;
}

/** The HTTP server's defences (http/auth.ts, http/server.ts). */
export interface HttpStats {
  authFailures(): Record<HttpAuthFailureReason, number>;
  refused(): Record<HttpRefuseReason, number>;
  /** Client addresses (IPv6: /64s) with failed token attempts being counted. */
  authClients(): number;
  /** Of those, forgotten before their window ended to make room. */
  authEvictions(): number;
}

/** The decoder statuses the drop reasons name must be the decoder's own (its exports). */
function checkDecoderStatuses(): void {
  const missing = decoderRecordStatuses.filter((s) => !decodeStatuses().includes(s));
  if (missing.length) throw new Error(`the decoder exports no status ${missing.join(', ')} (pipeline/drop-reasons.ts names them; exported: ${decodeStatuses().join(', ')})`);
}

/** Counters mirrored from elsewhere: prom-client counters only go up, so collect() resets and sets. */
function mirror(counter: client.Counter<string>, values: Iterable<[Record<string, string>, number]>): void {
  counter.reset();
  for (const [labels, v] of values) counter.inc(labels, v);
}

/** Sums worker reports over worker restarts: a new incarnation starts from zero. */
class ReportTotals {
  readonly #last = new Map<number, WorkerStats>();
  readonly #retired: WorkerStats[] = [];

  update(reports: WorkerStats[]): void {
    for (const r of reports) {
      const prev = this.#last.get(r.worker);
      if (prev && prev.incarnation !== r.incarnation) this.#retired.push(prev);
      this.#last.set(r.worker, r);
    }
    // Keep the retired list short: fold it into one synthetic report.
    if (this.#retired.length > 16) this.#retired.splice(0, this.#retired.length, ...[this.#retired.reduce(merge)]);
  }

  all(): WorkerStats[] {
    return [...this.#retired, ...this.#last.values()];
  }

  live(): WorkerStats[] {
    return [...this.#last.values()];
  }
}

function addInto(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function merge(a: WorkerStats, b: WorkerStats): WorkerStats {
  return {
    ...a,
    decoder: { ...a.decoder, statuses: a.decoder.statuses.map((v, i) => v + (b.decoder.statuses[i] ?? 0)),
      sequenceLostRecords: a.decoder.sequenceLostRecords + b.decoder.sequenceLostRecords,
      exporterRestarts: a.decoder.exporterRestarts + b.decoder.exporterRestarts,
      sequenceOutOfWindow: a.decoder.sequenceOutOfWindow + b.decoder.sequenceOutOfWindow,
      sequenceResets: a.decoder.sequenceResets + b.decoder.sequenceResets,
      withdrawalsIgnored: a.decoder.withdrawalsIgnored + b.decoder.withdrawalsIgnored,
      withdrawalsApplied: a.decoder.withdrawalsApplied + b.decoder.withdrawalsApplied,
      sessionsEvicted: a.decoder.sessionsEvicted + b.decoder.sessionsEvicted,
      transportSessionsEnded: a.decoder.transportSessionsEnded + b.decoder.transportSessionsEnded,
      relayStated: a.decoder.relayStated + b.decoder.relayStated,
      relayNoStatedExporter: a.decoder.relayNoStatedExporter + b.decoder.relayNoStatedExporter,
      relayTableFull: a.decoder.relayTableFull + b.decoder.relayTableFull,
      namesLearnt: a.decoder.namesLearnt + b.decoder.namesLearnt,
      namesRefused: { exporter_limit: a.decoder.namesRefused.exporter_limit + b.decoder.namesRefused.exporter_limit,
        table_full: a.decoder.namesRefused.table_full + b.decoder.namesRefused.table_full } },
    decodedByTenant: addInto(a.decodedByTenant, b.decodedByTenant),
    delivered: addInto(a.delivered, b.delivered),
    kafkaErrors: addInto(a.kafkaErrors, b.kafkaErrors),
    stateFilesRejected: addInto(a.stateFilesRejected ?? {}, b.stateFilesRejected ?? {}),
  };
}

/** Why a name from options data was not kept (assembly/options-names.ts). */
const optionNameRefusals = ['exporter_limit', 'table_full'] as const;

export class Metrics {
  readonly registry = new client.Registry();
  readonly #gateway: Gateway;
  readonly #totals = new ReportTotals();
  #tap: TapStats | undefined;
  #http: HttpStats | undefined;
  #exporters: { exporter: string; records: number }[] = [];
  readonly #latency: client.Histogram<string>;

  constructor(gateway: Gateway, version: string) {
    checkDecoderStatuses();
    this.#gateway = gateway;
    const r = this.registry;
    client.collectDefaultMetrics({ register: r });
    const g = gateway;
    const totals = this.#totals;
    const tenants = () => [...g.config.routing.tenants.map((t) => t.name), UNKNOWN_TENANT];

    new client.Gauge({ name: 'flowgate_build_info', help: 'FlowGate build: version, Node.js version and decoder ABI', labelNames: ['version', 'node', 'abi'], registers: [r] })
      .set({ version, node: process.version, abi: String(ABI_VERSION) }, 1);

    new client.Counter({ name: 'flowgate_datagrams_received_total', help: 'UDP datagrams and TCP messages received', registers: [r],
      collect() { mirror(this, [[{}, g.accounting().datagrams.received]]); } });
    new client.Counter({ name: 'flowgate_datagrams_decoded_total', help: 'Datagrams taken from the rings by the decoder workers', registers: [r],
      collect() { mirror(this, [[{}, g.accounting().datagrams.decoded]]); } });
    new client.Counter({ name: 'flowgate_records_received_total', help: 'Flow records decoded from accepted datagrams (delivered + dropped + queued)', registers: [r],
      collect() { mirror(this, [[{}, g.accounting().records.decoded]]); } });
    new client.Counter({ name: 'flowgate_records_decoded_total', help: 'Flow records decoded, by tenant of the exporter (_unknown: no tenant)', labelNames: ['tenant'], registers: [r],
      collect() {
        const by: Record<string, number> = Object.fromEntries(tenants().map((t) => [t, 0]));
        for (const w of totals.all()) for (const [t, n] of Object.entries(w.decodedByTenant)) by[t] = (by[t] ?? 0) + n;
        mirror(this, Object.entries(by).map(([tenant, n]) => [{ tenant }, n]));
      } });
    new client.Counter({ name: 'flowgate_records_delivered_total', help: 'Flow records acknowledged by Kafka, by tenant and topic', labelNames: ['tenant', 'topic'], registers: [r],
      collect() {
        const by: Record<string, number> = {};
        for (const t of g.config.routing.tenants) by[`${t.name}\t${t.topic}`] = 0;
        if (g.config.routing.unknown_exporters === 'default') by[`${UNKNOWN_TENANT}\t${g.config.routing.default_topic}`] = 0;
        for (const w of totals.all()) for (const [k, n] of Object.entries(w.delivered)) by[k] = (by[k] ?? 0) + n;
        mirror(this, Object.entries(by).map(([k, n]) => {
          const [tenant, topic] = k.split('\t') as [string, string];
          return [{ tenant, topic }, n];
        }));
      } });
    new client.Counter({ name: 'flowgate_datagrams_dropped_total', help: 'Datagrams dropped whole, by reason (receiver and decoder)', labelNames: ['reason'], registers: [r],
      collect() {
        const dec = decoderStatusTotals(totals.all());
        const received = g.accounting().datagrams.dropped;
        const values: [Record<string, string>, number][] = [
          ...receiverDropReasons.map((reason): [Record<string, string>, number] => [{ reason }, received[reason]]),
          ...datagramStatuses().map((reason): [Record<string, string>, number] => [{ reason }, dec[reason] ?? 0]),
        ];
        mirror(this, values);
      } });
    new client.Counter({ name: 'flowgate_exporter_datagrams_rate_limited_total', help: 'Datagrams over their exporter\'s admission.rate_limit, by exporter address (the first 100 exporters limited; the rest as "other")', labelNames: ['exporter'], registers: [r],
      collect() { mirror(this, g.receiver.limitedByExporter.entries().map((c) => [{ exporter: c.exporter }, c.count])); } });
    new client.Counter({ name: 'flowgate_records_dropped_total', help: 'Flow records decoded but not delivered, by reason', labelNames: ['reason'], registers: [r],
      collect() {
        const a = g.accounting().records.dropped;
        const dec = decoderStatusTotals(totals.all());
        mirror(this, [...recordDropReasons.map((reason): [Record<string, string>, number] => [{ reason }, a[reason]]),
          ...decoderRecordStatuses.map((reason): [Record<string, string>, number] => [{ reason }, dec[reason] ?? 0])]);
      } });
    new client.Counter({ name: 'flowgate_decoder_events_total', help: 'Decoder outcomes other than ok, by reason: one per datagram, set, template record or record as the reason says (README)', labelNames: ['reason'], registers: [r],
      collect() {
        const dec = decoderStatusTotals(totals.all());
        mirror(this, decodeStatuses().filter((s) => s !== 'ok').map((reason) => [{ reason }, dec[reason] ?? 0]));
      } });
    new client.Gauge({ name: 'flowgate_templates', help: 'Templates known, all workers', registers: [r],
      collect() { this.set(totals.live().reduce((n, w) => n + w.decoder.templates, 0)); } });
    new client.Gauge({ name: 'flowgate_exporters', help: 'Exporter sessions (exporter, port, domain) known, all workers', registers: [r],
      collect() { this.set(totals.live().reduce((n, w) => n + w.decoder.sessions, 0)); } });
    new client.Gauge({ name: 'flowgate_held_sets', help: 'Data sets held until their template arrives', registers: [r],
      collect() { this.set(totals.live().reduce((n, w) => n + w.decoder.heldSets, 0)); } });
    new client.Gauge({ name: 'flowgate_held_bytes', help: 'Bytes of data sets held until their template arrives', registers: [r],
      collect() { this.set(totals.live().reduce((n, w) => n + w.decoder.heldBytes, 0)); } });
    new client.Counter({ name: 'flowgate_sequence_lost_records_total', help: 'Records the exporters sent that never arrived, estimated from sequence numbers', registers: [r],
      collect() { mirror(this, [[{}, totals.all().reduce((n, w) => n + w.decoder.sequenceLostRecords, 0)]]); } });
    new client.Counter({ name: 'flowgate_sessions_evicted_total', help: 'Exporter sessions of unprotected exporters (neither a tenant\'s nor on admission.allow) evicted, least recently used first, to make room for another exporter', registers: [r],
      collect() { mirror(this, [[{}, totals.all().reduce((n, w) => n + w.decoder.sessionsEvicted, 0)]]); } });
    new client.Counter({ name: 'flowgate_transport_sessions_ended_total', help: 'Exporter sessions freed, with their templates and held data, because their TCP connection closed (RFC 7011 section 8)', registers: [r],
      collect() { mirror(this, [[{}, totals.all().reduce((n, w) => n + w.decoder.transportSessionsEnded, 0)]]); } });
    new client.Counter({ name: 'flowgate_relay_records_total', help: 'Records of relays\' datagrams (routing.relays) by how they were routed: stated (by the exporter the record or its options data states, IE 130 / 131), no_stated_exporter (by the relay\'s own address: none stated), too_many_exporters (by the relay\'s address: more exporters in one datagram than the decoder\'s table holds)',
      labelNames: ['outcome'], registers: [r],
      collect() {
        mirror(this, [[{ outcome: 'stated' }, totals.all().reduce((n, w) => n + w.decoder.relayStated, 0)],
          [{ outcome: 'no_stated_exporter' }, totals.all().reduce((n, w) => n + w.decoder.relayNoStatedExporter, 0)],
          [{ outcome: 'too_many_exporters' }, totals.all().reduce((n, w) => n + w.decoder.relayTableFull, 0)]]);
      } });
    new client.Gauge({ name: 'flowgate_option_names', help: 'Interface, VRF and application names learnt from options data (interfaceName, VRFname, applicationName), all workers', registers: [r],
      collect() { this.set(totals.live().reduce((n, w) => n + w.decoder.names, 0)); } });
    new client.Counter({ name: 'flowgate_option_names_learnt_total', help: 'Names added or changed by options data', registers: [r],
      collect() { mirror(this, [[{}, totals.all().reduce((n, w) => n + w.decoder.namesLearnt, 0)]]); } });
    new client.Counter({ name: 'flowgate_option_names_refused_total', help: 'Names from options data not kept, by reason: exporter_limit (the exporter session has 8192), table_full (32768 in a worker, none an unprotected exporter\'s to give up)',
      labelNames: ['reason'], registers: [r],
      collect() {
        mirror(this, optionNameRefusals.map((reason) => [{ reason }, totals.all().reduce((n, w) => n + w.decoder.namesRefused[reason], 0)]));
      } });
    new client.Gauge({ name: 'flowgate_tcp_connections', help: 'IPFIX-over-TCP connections open (listen.tcp)', registers: [r],
      collect() { this.set(g.tcpReceiver.connections); } });
    new client.Counter({ name: 'flowgate_tcp_connections_total', help: 'IPFIX-over-TCP connections by outcome: accepted, refused_cap (listen.tcp_max_connections), not_allowed (admission)', labelNames: ['outcome'], registers: [r],
      collect() { mirror(this, tcpConnectionOutcomes.map((outcome) => [{ outcome }, g.tcpReceiver.stats.connections[outcome]])); } });
    new client.Counter({ name: 'flowgate_tcp_messages_total', help: 'IPFIX messages framed from TCP connections (also in flowgate_datagrams_received_total)', registers: [r],
      collect() { mirror(this, [[{}, g.tcpReceiver.stats.messages]]); } });
    new client.Counter({ name: 'flowgate_tcp_framing_errors_total', help: 'TCP connections closed because their stream stopped being IPFIX (bad version or length)', registers: [r],
      collect() { mirror(this, [[{}, g.tcpReceiver.stats.framingErrors]]); } });
    new client.Counter({ name: 'flowgate_tcp_backpressure_pauses_total', help: 'Times a TCP connection was paused because its decoder ring was full (flow control instead of loss)', registers: [r],
      collect() { mirror(this, [[{}, g.tcpReceiver.stats.backpressurePauses]]); } });
    new client.Counter({ name: 'flowgate_exporter_restarts_total', help: 'Exporter restarts seen in sequence numbers or uptime', registers: [r],
      collect() { mirror(this, [[{}, totals.all().reduce((n, w) => n + w.decoder.exporterRestarts, 0)]]); } });
    const sum = (pick: (d: WorkerStats['decoder']) => number) => totals.all().reduce((n, w) => n + pick(w.decoder), 0);
    new client.Counter({ name: 'flowgate_sequence_events_total', help: 'Datagrams whose sequence number jumped past decoder.sequence_window (out_of_window: left out of the lost-records estimate), and re-bases after two in a row agreed (reset)',
      labelNames: ['reason'], registers: [r],
      collect() { mirror(this, [[{ reason: 'out_of_window' }, sum((d) => d.sequenceOutOfWindow)], [{ reason: 'reset' }, sum((d) => d.sequenceResets)]]); } });
    new client.Counter({ name: 'flowgate_template_withdrawals_total', help: 'Template withdrawal records received, by what was done (ignored over UDP by default, RFC 7011 section 8.4; applied with decoder.udp_withdrawals: apply)',
      labelNames: ['action'], registers: [r],
      collect() { mirror(this, [[{ action: 'ignored' }, sum((d) => d.withdrawalsIgnored)], [{ action: 'applied' }, sum((d) => d.withdrawalsApplied)]]); } });
    this.#latency = new client.Histogram({ name: 'flowgate_kafka_produce_latency_seconds', help: 'UDP receive to Kafka acknowledgement, per batch (its oldest record)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10], registers: [r] });
    new client.Gauge({ name: 'flowgate_kafka_queue_records', help: 'Records waiting for Kafka, by worker', labelNames: ['worker'], registers: [r],
      collect() { this.reset(); for (const w of totals.live()) this.set({ worker: String(w.worker) }, w.queuedRecords); } });
    new client.Gauge({ name: 'flowgate_kafka_queue_bytes', help: 'Bytes waiting for Kafka, by worker', labelNames: ['worker'], registers: [r],
      collect() { this.reset(); for (const w of totals.live()) this.set({ worker: String(w.worker) }, w.queuedBytes); } });
    // The disk spool: its record count is the accounting's (exact); the rest from the workers' reports.
    const spools = (which: WorkerStats[]) => which.map((w) => w.spool).filter((x) => x !== null);
    new client.Gauge({ name: 'flowgate_spool_bytes', help: 'Bytes of the disk spool\'s files, all workers', registers: [r],
      collect() { this.set(spools(totals.live()).reduce((n, s) => n + s.bytes, 0)); } });
    new client.Gauge({ name: 'flowgate_spool_records', help: 'Flow records in the disk spool waiting for Kafka', registers: [r],
      collect() { this.set(g.accounting().records.spooled); } });
    new client.Gauge({ name: 'flowgate_spool_oldest_record_age_seconds', help: 'Age of the oldest record in the disk spool (0 when empty)', registers: [r],
      collect() {
        const oldest = Math.min(...spools(totals.live()).map((s) => s.oldestReceivedAt ?? Infinity));
        this.set(oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      } });
    new client.Counter({ name: 'flowgate_spool_written_records_total', help: 'Flow records written to the disk spool', registers: [r],
      collect() { mirror(this, [[{}, spools(totals.all()).reduce((n, s) => n + s.written, 0)]]); } });
    new client.Counter({ name: 'flowgate_spool_replayed_records_total', help: 'Flow records read back from the disk spool and sent to Kafka', registers: [r],
      collect() { mirror(this, [[{}, spools(totals.all()).reduce((n, s) => n + s.replayed, 0)]]); } });
    new client.Counter({ name: 'flowgate_spool_recovered_records_total', help: 'Flow records found in the disk spool at start (taken in by an earlier run)', registers: [r],
      collect() { mirror(this, [[{}, g.accounting().records.recovered]]); } });
    new client.Counter({ name: 'flowgate_spool_corrupt_entries_total', help: 'Spool entries found damaged on disk and cut off (records counted in records_dropped_total{reason="spool_corrupt"} when known)', registers: [r],
      collect() { mirror(this, [[{}, spools(totals.all()).reduce((n, s) => n + s.corruptEntries, 0)]]); } });
    new client.Gauge({ name: 'flowgate_kafka_connected', help: '1 when the worker\'s producer is connected', labelNames: ['worker'], registers: [r],
      collect() { this.reset(); for (const w of totals.live()) this.set({ worker: String(w.worker) }, w.kafkaConnected ? 1 : 0); } });
    new client.Counter({ name: 'flowgate_kafka_errors_total', help: 'Kafka client errors, by code (kafkajs error type)', labelNames: ['code'], registers: [r],
      collect() {
        let by: Record<string, number> = {};
        for (const w of totals.all()) by = addInto(by, w.kafkaErrors);
        mirror(this, Object.entries(by).map(([code, n]) => [{ code }, n]));
      } });
    new client.Gauge({ name: 'flowgate_ring_fill_ratio', help: 'Datagrams waiting in a worker\'s ring over its slots', labelNames: ['worker'], registers: [r],
      collect() { for (let i = 0; i < g.pool.size; i++) { const ring = g.pool.ring(i); this.set({ worker: String(i) }, ring.length / ring.slots); } } });
    new client.Counter({ name: 'flowgate_worker_restarts_total', help: 'Decoder workers restarted after they died', registers: [r],
      collect() { mirror(this, [[{}, g.pool.restarts]]); } });
    new client.Counter({ name: 'flowgate_state_files_rejected_total', help: 'Exporter state files set aside at start-up (corrupt, torn or incompatible), by reason', labelNames: ['reason'], registers: [r],
      collect() {
        let by: Record<string, number> = Object.fromEntries(stateFileRejectReasons.map((reason) => [reason, 0]));
        for (const w of totals.all()) by = addInto(by, w.stateFilesRejected ?? {});
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
    new client.Gauge({ name: 'flowgate_udp_receive_queue_bytes', help: 'Bytes waiting in the kernel receive queue of our UDP sockets (/proc/net/udp, Linux only)', labelNames: ['socket'], registers: [r],
      collect() { this.reset(); for (const s of udpSocketStats(g.receiver.boundPorts())) this.set({ socket: s.socket }, s.rxQueue); } });
    new client.Counter({ name: 'flowgate_udp_kernel_drops_total', help: 'Datagrams the kernel dropped for our UDP sockets (/proc/net/udp, Linux only)', labelNames: ['socket'], registers: [r],
      collect() { mirror(this, udpSocketStats(g.receiver.boundPorts()).map((s) => [{ socket: s.socket }, s.drops])); } });
    const tap = () => this.#tap;
    new client.Gauge({ name: 'flowgate_tap_clients', help: 'Live tap WebSocket clients', registers: [r],
      collect() { this.set(tap()?.clients() ?? 0); } });
    new client.Counter({ name: 'flowgate_tap_records_sent_total', help: 'Records sent to live tap clients', registers: [r],
      collect() { mirror(this, [[{}, tap()?.sentRecords() ?? 0]]); } });
    new client.Counter({ name: 'flowgate_tap_records_skipped_total', help: 'Records a tap client asked for but did not get, by reason', labelNames: ['reason'], registers: [r],
      collect() {
        const by = { ...zeroCounts(tapSkipReasons), ...(tap()?.skippedRecords() ?? {}) };
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
    new client.Counter({ name: 'flowgate_tap_refused_total', help: 'Tap connections, messages and filters refused, by reason', labelNames: ['reason'], registers: [r],
      collect() {
        const by = { ...zeroCounts(tapRefuseReasons), ...(tap()?.refused() ?? {}) };
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
    const http = () => this.#http;
    new client.Counter({ name: 'flowgate_http_auth_failures_total', help: 'Requests to token-guarded endpoints (APIs, tap) refused, by reason: a bad token, or an address over its failed attempts', labelNames: ['reason'], registers: [r],
      collect() {
        const by = { ...zeroCounts(httpAuthFailureReasons), ...(http()?.authFailures() ?? {}) };
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
    new client.Counter({ name: 'flowgate_http_requests_refused_total', help: 'HTTP requests refused by the server for their size, by reason', labelNames: ['reason'], registers: [r],
      collect() {
        const by = { ...zeroCounts(httpRefuseReasons), ...(http()?.refused() ?? {}) };
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
    new client.Gauge({ name: 'flowgate_http_auth_failure_clients', help: 'Client addresses (IPv6: /64 prefixes) whose failed token attempts are being counted', registers: [r],
      collect() { this.set(http()?.authClients() ?? 0); } });
    new client.Counter({ name: 'flowgate_http_auth_failure_evictions_total', help: 'Client addresses forgotten before their window ended, the table being full (http.auth_failure_addresses)', registers: [r],
      collect() { mirror(this, [[{}, http()?.authEvictions() ?? 0]]); } });
    const exporters = () => this.#exporters;
    new client.Counter({ name: 'flowgate_exporter_records_total', help: `Records decoded per exporter, for the ${MAX_EXPORTER_SERIES} exporters with the most`, labelNames: ['exporter'], registers: [r],
      collect() { mirror(this, exporters().map((e) => [{ exporter: e.exporter }, e.records])); } });
    this.#scaleMetrics(r);
  }

  /**
   * The scale-out roles (docs/scaling.md). Role receive: raw datagrams in are
   * flowgate_datagrams_received_total, out flowgate_records_delivered_total{tenant="_raw"}.
   * Role decode: the raw topic's consumer below. Template messages published:
   * flowgate_records_delivered_total{tenant="_templates"}; read: flowgate_template_*.
   */
  #scaleMetrics(r: client.Registry): void {
    const scale = this.#gateway.scale;
    const consumer = () => scale.consumer?.counters;
    const templates = () => scale.templates?.counters;
    new client.Gauge({ name: 'flowgate_role_info', help: 'This instance\'s role (all, receive or decode) and id', labelNames: ['role', 'instance'], registers: [r] })
      .set({ role: scale.role, instance: scale.instanceId }, 1);
    const counter = (name: string, help: string, value: () => number | undefined) =>
      new client.Counter({ name, help, registers: [r], collect() { mirror(this, [[{}, value() ?? 0]]); } });
    counter('flowgate_raw_messages_consumed_total', 'Raw messages a decoder read from the raw topic (each one or more datagrams of one exporter)', () => consumer()?.messages);
    counter('flowgate_raw_datagrams_consumed_total', 'Datagrams of raw messages a decoder handed to its workers', () => consumer()?.datagrams);
    counter('flowgate_raw_bytes_consumed_total', 'Bytes of the raw messages taken', () => consumer()?.bytes);
    new client.Counter({ name: 'flowgate_raw_messages_skipped_total', help: 'Raw topic messages (raw_*) or datagrams (too_large) not decoded, by reason', labelNames: ['reason'], registers: [r],
      collect() {
        const by = consumer()?.skipped ?? Object.fromEntries([...rawSkipReasons, 'too_large'].map((k) => [k, 0]));
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
    counter('flowgate_raw_messages_refetched_total', 'Raw messages fetched again that were already taken (after a rebalance or a retried fetch): not decoded twice', () => consumer()?.refetched);
    counter('flowgate_raw_fetch_errors_total', 'Raw topic fetches that failed (connection, timeout) and partitions a fetch answered with an error (a leader moving, an offset out of range): fetched again', () => consumer()?.fetchErrors);
    new client.Counter({ name: 'flowgate_raw_fetches_total', help: 'Raw topic fetch requests, by how they wait: gathering (256 KB or 20 ms) while data comes, idle (the first byte, or 100 ms) after a fetch that brought nothing',
      labelNames: ['mode'], registers: [r],
      collect() {
        const f = consumer()?.fetches ?? { gathering: 0, idle: 0 };
        mirror(this, [[{ mode: 'gathering' }, f.gathering], [{ mode: 'idle' }, f.idle]]);
      } });
    counter('flowgate_raw_rebalances_total', 'Consumer group assignments this decoder received (the first one included)', () => consumer()?.rebalances);
    counter('flowgate_raw_commits_total', 'Raw offset commits the broker took', () => consumer()?.commits);
    counter('flowgate_raw_commit_errors_total', 'Raw offset commits refused (a rebalance under way, a partition taken away)', () => consumer()?.commitErrors);
    counter('flowgate_raw_uncommitted_on_revoke_total', 'Raw messages of partitions taken away before their offset was committed: their next owner decodes them again (duplicates where they were delivered here)',
      () => consumer()?.uncommittedOnRevoke);
    counter('flowgate_raw_push_wait_seconds_total', 'Time the raw consumer waited for a worker (Kafka queue past half full, or ring full)', () => (consumer()?.waitedMs ?? 0) / 1000);
    new client.Gauge({ name: 'flowgate_raw_messages_in_flight', help: 'Raw messages taken and not yet settled (records not all acknowledged)', registers: [r],
      collect() { this.set(scale.consumer?.inFlight ?? 0); } });
    new client.Gauge({ name: 'flowgate_raw_partitions_assigned', help: 'Raw topic partitions assigned to this decoder', registers: [r],
      collect() { this.set(scale.consumer?.assigned.length ?? 0); } });
    new client.Gauge({ name: 'flowgate_raw_consumer_lag', help: 'Raw messages behind the partition\'s end, at the last fetch, by partition', labelNames: ['partition'], registers: [r],
      collect() {
        this.reset();
        for (const [p, lag] of scale.consumer?.lag ?? []) this.set({ partition: String(p) }, lag);
      } });
    counter('flowgate_template_messages_loaded_total', 'Template topic messages read and handed to the workers', () => templates()?.loaded);
    counter('flowgate_template_tombstones_read_total', 'Template topic tombstones read', () => templates()?.tombstones);
    counter('flowgate_template_sessions_restored_total', 'Exporter sessions the workers restored from the template topic', () => templates()?.sessionsRestored);
    counter('flowgate_template_catch_ups_total', 'Reads of the template topic to its end offsets', () => templates()?.catchUps);
    counter('flowgate_template_read_errors_total', 'Reads of the template topic that failed (tried again)', () => templates()?.errors);
    new client.Gauge({ name: 'flowgate_template_catch_up_seconds', help: 'Duration of the last read of the template topic to its end', registers: [r],
      collect() { this.set((templates()?.lastCatchUpMs ?? 0) / 1000); } });
    new client.Counter({ name: 'flowgate_template_messages_skipped_total', help: 'Template topic messages skipped, by reason', labelNames: ['reason'], registers: [r],
      collect() {
        const by = templates()?.skipped ?? Object.fromEntries(templateSkipReasons.map((k) => [k, 0]));
        mirror(this, Object.entries(by).map(([reason, n]) => [{ reason }, n]));
      } });
  }

  setTap(tap: TapStats): void {
    this.#tap = tap;
  }

  setHttp(http: HttpStats): void {
    this.#http = http;
  }

  /** Gathers the workers' reports and exporters, then renders the text exposition format. */
  async render(): Promise<string> {
    const reports = await this.#gateway.pool.reports(1_000, true);
    this.#totals.update(reports);
    for (const w of reports) for (const ms of w.latencyMs) this.#latency.observe(ms / 1000);
    const { exporters } = await this.#gateway.pool.describe();
    const byExporter = new Map<string, number>();
    for (const e of exporters) byExporter.set(e.exporter, (byExporter.get(e.exporter) ?? 0) + e.records);
    this.#exporters = [...byExporter].map(([exporter, records]) => ({ exporter, records }))
      .sort((a, b) => b.records - a.records).slice(0, MAX_EXPORTER_SERIES);
    return this.registry.metrics();
  }
}

function decoderStatusTotals(reports: WorkerStats[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of reports) decodeStatuses().forEach((name, code) => (out[name] = (out[name] ?? 0) + (w.decoder.statuses[code] ?? 0)));
  return out;
}
