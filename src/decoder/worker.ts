// Worker thread entry: drains its ring, decodes each datagram with its own WasmDecoder,
// routes the records by exporter to a tenant topic, and hands them to its Kafka producer.
// Talks to the main thread only by message, and never per packet: reload, stats, stop.
import type { ElementDefinition } from './elements/definition.js';
import { parentPort, workerData } from 'node:worker_threads';
import { WasmDecoder, type DecoderOptions } from './wasm.js';
import { PacketRing } from '../ring/ring.js';
import { SLOT_FLAG_RELAY, SLOT_FLAG_SESSION_END } from '../ring/slots.js';
import { TenantRouter, type Route } from '../route/tenants.js';
import { AddressMap } from '../net/address-map.js';
import { SamplingRules } from '../route/sampling.js';
import { NO_SAMPLING, type SamplingRates } from './options.js';
import { optionsRecords } from './record-index.js';
import type { KafkaSettings } from '../kafka/producer.js';
import type { SpoolSettings } from '../kafka/spool-gate.js';
import { workerProducer, workerReport, failWorker } from './worker-producer.js';
import { runRing } from './ring-loop.js';
import { startReceiveWorker } from '../scale/receive-worker.js';
import { workerProgress, Cell } from '../scale/progress.js';
import { TemplatePublisher } from '../scale/template-publisher.js';
import { sessionSnapshots, splitSnapshot, TEMPLATE_SCHEMA } from '../scale/template-message.js';
import { encodeHeaders } from '../kafka/protocol/record-batch.js';
import { FlowKeyWriter } from '../kafka/flow-key.js';
import { createLogger, type LogLevel } from '../log.js';
import { addressText } from '../net/address.js';
import { TapForwarder, TAP_FLUSH_MS, type TapSpec, type TapBatch } from '../tap/forwarder.js';
import { UNKNOWN_TENANT, type WorkerStats, type ExporterView, type TemplateView } from '../pipeline/stats.js';
import { workerAccounting, Slot } from '../pipeline/accounting.js';
import type { Role } from '../scale/role.js';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { StateKeeper, type StateSettings } from '../state/keeper.js';
import { quarantine } from '../state/quarantine.js';

export interface WorkerInit {
  index: number;
  ring: SharedArrayBuffer;
  /** The accounting buffer of all workers (pipeline/accounting.ts); this worker writes its own block. */
  accounting: SharedArrayBuffer;
  /** The decoder module (null in role receive: no decoding there). */
  module: WebAssembly.Module | null;
  decoder: DecoderOptions;
  role: Role;
  /** Topics and identity of the scale-out roles (scale.*); templateTopic "" = templates not shared. */
  scale: { rawTopic: string; templateTopic: string; instanceId: string; processId: string; rawLingerMs: number };
  /** How far each worker got (scale/progress.ts): read by the raw-topic consumer in role decode. */
  progress: SharedArrayBuffer;
  kafka: KafkaSettings;
  routing: Config['routing'];
  output: { key: 'none' | 'dvc' | 'flow'; records_per_message: 1 | 'datagram' };
  /** The disk spool (kafka/spool-gate.ts): this worker's share of it, under `dir`/worker-<index>; null: none. */
  spool: (SpoolSettings & { dir: string }) | null;
  /** The live tap's subscription when the worker starts (null: none). */
  tap: TapSpec | null;
  logLevel: LogLevel;
  /** Where exporter state is kept, and how many workers share the exporters (state/keeper.ts). */
  state: StateSettings & { workers: number };
}

export type ToWorker =
  | { type: 'reload'; routing: Config['routing']; definitions?: readonly ElementDefinition[] | undefined }
  | { type: 'stats'; id: number; latency: boolean }
  | { type: 'stop'; flushTimeoutMs: number }
  | { type: 'tap'; spec: TapSpec | null }
  | { type: 'describe'; id: number }
  /** Messages of the template topic for exporters this worker owns: imported; tombstoned keys forgotten. */
  | { type: 'templates'; id: number; values: Uint8Array[]; tombstones: string[] };

export type FromWorker =
  | { type: 'ready'; index: number }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'stopped'; stats: WorkerStats }
  | { type: 'tap'; batch: TapBatch }
  | { type: 'describe'; id: number; exporters: ExporterView[]; templates: TemplateView[] }
  | { type: 'templates'; id: number; sessions: number; rejected: number };

/** Version of the record layout, sent in every message's headers. */
export const SCHEMA_VERSION = '1';
/** The schema header of a FlowMessage record (kafka.format protobuf): its Protobuf type, assembly/flow.proto. */
export const PROTOBUF_SCHEMA = 'flowpb.FlowMessage';
/** The schema header of an options record on routing.options_topic (JSON whatever kafka.format says; config.yaml documents it). */
export const OPTIONS_SCHEMA = 'flowgate-options/1';
/** Template changes are published at most this often (a snapshot of the decoder's state each time). */
const PUBLISH_EVERY_MS = 100;
/** A decoder's progress (what may be committed) is reported at least this often. */
const PROGRESS_EVERY_MS = 20;
/** The tenant label of template-topic messages in the accounting and metrics. */
export const TEMPLATES_TENANT = '_templates';

/** Runs this thread as decoder worker `init.index` (called by worker-boot.ts, or below when started with workerData). */
export function startWorker(init: WorkerInit): void {
  if (init.role === 'receive') return startReceiveWorker(init);
  const port = parentPort!;
  const log = createLogger(init.logLevel, { worker: init.index });
  const ring = PacketRing.attach(init.ring);
  // Role decode: the raw consumer pushes a fetch's datagrams at once; one notify per fetch, no polling between.
  if (init.role === 'decode') ring.lightPollMs = 0;
  const ringBytes = Buffer.from(init.ring);
  const decoder = new WasmDecoder(init.decoder, init.module!);
  const keeper = StateKeeper.open(init.state, init.index, init.state.workers, log);
  keeper.restore(decoder, Date.now()); // before the first datagram: restored exporters decode at once
  let router = new TenantRouter(init.routing);
  let sampling = new SamplingRules(init.routing.sampling);
  // Options records go to a topic of their own, when one is set (routing.options_topic).
  let optionsTopic = init.routing.options_topic;
  decoder.setOptionsOutput(optionsTopic !== '');
  const acct = workerAccounting(init.accounting, init.index);
  const stats: WorkerStats = {
    worker: init.index, incarnation: randomUUID(), decoder: decoder.counters(), decodedByTenant: {}, delivered: {},
    droppedByTenant: {}, queuedRecords: 0, queuedBytes: 0, kafkaConnected: false, kafkaConnectError: null,
    kafkaErrors: {}, latencyMs: [], spool: null, stateFilesRejected: keeper.rejected,
  };
  const tap = new TapForwarder(init.decoder.recordFormat);
  tap.configure(init.tap);
  const tapTimer = setInterval(() => {
    const batch = tap.flush();
    if (batch) port.postMessage({ type: 'tap', batch } satisfies FromWorker);
  }, TAP_FLUSH_MS);
  const producer = workerProducer(init, stats, acct, log);
  const templateTopic = init.scale.templateTopic;
  // The template topic is not loaded here: the main thread makes it (compacted) first.
  producer.start(routedTopics(init.routing));

  // Role decode: each datagram taken from the ring is numbered (its mark); the raw offset it came
  // from is committed once every record of it is settled (scale/progress.ts). Nothing of a
  // datagram is pending while its records are queued, its template changes unpublished, or data
  // sets it brought are held for a template.
  const decodeRole = init.role === 'decode';
  const progress = workerProgress(init.progress, init.index);
  progress[Cell.TAKEN] = 0;
  progress[Cell.SETTLED] = 0;
  if (decodeRole) producer.trackMarks();
  let taken = 0;
  /** Held data sets: marks of datagrams that may have brought one still held, oldest first (time, mark). */
  const heldSince: number[] = [];
  const heldMaxAgeMs = init.decoder.heldMaxAgeMs ?? 30_000;

  // The shared template topic: changes published from the decoder's snapshot, at most every
  // PUBLISH_EVERY_MS; the datagrams since the first unpublished change stay uncommitted till then.
  const templateHeaders = encodeHeaders({ schema: TEMPLATE_SCHEMA, instance: init.scale.instanceId, process: init.scale.processId });
  const publisher = templateTopic ? new TemplatePublisher(decoder.abi.state, init.decoder.templateLifetimeSec * 1000, {
    publish(key, value) {
      const k = Buffer.from(key);
      if (value) producer.append(templateTopic, TEMPLATES_TENANT, k, k.length, value, 0, value.length, templateHeaders, 1, Date.now());
      else producer.append(templateTopic, TEMPLATES_TENANT, k, k.length, k, 0, -1, templateHeaders, 1, Date.now());
    },
  }) : null;
  let publishedGeneration = decoder.stateGeneration();
  let unpublishedSince = Infinity;
  let lastPublish = 0;
  const publishTemplates = (now: number, force: boolean): void => {
    if (!publisher || unpublishedSince === Infinity || (!force && now - lastPublish < PUBLISH_EVERY_MS)) return;
    lastPublish = now;
    publishedGeneration = decoder.stateGeneration();
    producer.mark = unpublishedSince;
    const n = publisher.update(decoder.exportState());
    // Template messages go through the accounting as records of their own tenant.
    acct[Slot.decoded] += n;
    stats.decodedByTenant[TEMPLATES_TENANT] = (stats.decodedByTenant[TEMPLATES_TENANT] ?? 0) + n;
    unpublishedSince = Infinity;
  };
  const settledUpTo = (now: number): number => {
    let settled = Math.min(taken, producer.lowestMark() - 1, unpublishedSince - 1);
    if (heldSince.length > 0 && decoder.heldSets() === 0) heldSince.length = 0; // released or expired since
    if (heldSince.length > 0) {
      while (heldSince.length > 2 && now - heldSince[0]! > heldMaxAgeMs + 1000) heldSince.splice(0, 2);
      settled = Math.min(settled, heldSince[1]! - 1);
    }
    return settled;
  };

  const recordSchema = init.decoder.recordFormat === 'json' ? SCHEMA_VERSION : PROTOBUF_SCHEMA;
  // Per exporter, once: the record headers (schema version and exporter, encoded as Kafka
  // writes them), the dvc key, and its sampling rules (cleared on reload: the rules may change).
  interface ExporterFraming { text: string; headers: Buffer; optionsHeaders: Buffer; key: Buffer; sampling: SamplingRates }
  const exporters = new Map<string, ExporterFraming>();
  const exporterInfo = (addressOffset: number): ExporterFraming => {
    const text = addressText(ringBytes, addressOffset);
    let info = exporters.get(text);
    if (!info) {
      if (exporters.size > 100_000) exporters.clear();
      const rates = sampling.ratesFor(text, router.route(ringBytes, addressOffset).tenant);
      info = { text, headers: encodeHeaders({ schema: recordSchema, exporter: text }), optionsHeaders: encodeHeaders({ schema: OPTIONS_SCHEMA, exporter: text }),
        key: Buffer.from(text), sampling: rates };
      exporters.set(text, info);
    }
    return info;
  };
  // Exporters stated behind relays, found by their address bytes without allocating: framing and
  // route once per exporter (cleared on reload, as the routes may change).
  const statedExporters = new AddressMap<ExporterFraming & { route: Route }>();
  const statedInfo = (bytes: Buffer, offset: number): ExporterFraming & { route: Route } => {
    let info = statedExporters.get(bytes, offset);
    if (!info) {
      const text = addressText(bytes, offset);
      info = { text, headers: encodeHeaders({ schema: recordSchema, exporter: text }), optionsHeaders: encodeHeaders({ schema: OPTIONS_SCHEMA, exporter: text }),
        key: Buffer.from(text), sampling: NO_SAMPLING, route: router.route(bytes, offset) };
      statedExporters.set(bytes, offset, info);
    }
    return info;
  };
  // The exporter of the previous datagram: most datagrams in a row come from one exporter.
  const lastAddress = Buffer.alloc(16, 0xff);
  let last: ExporterFraming = { text: '', headers: Buffer.alloc(1), optionsHeaders: Buffer.alloc(1), key: Buffer.alloc(0), sampling: NO_SAMPLING };
  const flowKey = new FlowKeyWriter();
  const trapped = -decoder.abi.trapStatus; // counted by the decoder, in stats.decoder.statuses

  /** `latency`: hand over (and forget) the latency samples; only the metrics scrape takes them. */
  const snapshot = (latency = true): WorkerStats => {
    stats.decoder = decoder.counters();
    return workerReport(stats, producer, latency);
  };

  const handle = (slot: number): void => {
    const now = ring.timeMs(slot);
    const addressOffset = ring.addressOffset(slot);
    const flags = ring.flags(slot);
    // Not a message: the exporter's TCP connection closed after its last message (tcp/receiver.ts).
    if ((flags & SLOT_FLAG_SESSION_END) !== 0) {
      decoder.endTransportSession(ringBytes, addressOffset, ring.port(slot));
      return;
    }
    const mark = ++taken;
    if (decodeRole) producer.mark = mark;
    if (ringBytes.compare(lastAddress, 0, 16, addressOffset, addressOffset + 16) !== 0) {
      last = exporterInfo(addressOffset);
      ringBytes.copy(lastAddress, 0, addressOffset, addressOffset + 16);
    }
    const n = decoder.decodeFrom(ringBytes, ring.payloadOffset(slot), ring.payloadLength(slot), addressOffset, ring.port(slot), now, flags, last.sampling);
    acct[Slot.datagrams]++;
    if (publisher && unpublishedSince === Infinity && decoder.stateGeneration() !== publishedGeneration) unpublishedSince = mark;
    if (decodeRole) trackHeld(mark);
    if (n === trapped) recoverFromTrap(now);
    if (n <= 0) return;
    acct[Slot.decoded] += n;
    // Options records (routing.options_topic) come after the data records (record-index.ts).
    const options = optionsTopic !== '' ? optionsRecords(decoder.index, n) : 0;
    const records = n - options;
    if (records > 0) {
      if ((flags & SLOT_FLAG_RELAY) !== 0) deliverRelayed(records, addressOffset, now);
      else deliver(router.route(ringBytes, addressOffset), last, 0, records, now);
    }
    if (options > 0) deliverOptions(router.route(ringBytes, addressOffset), records, n, now);
  };

  /** Counts `count` records decoded for the route's tenant (returned), and dropped (no_tenant) when it has no topic. */
  const countDecoded = (route: Route, count: number): string => {
    const tenant = route.tenant ?? UNKNOWN_TENANT;
    stats.decodedByTenant[tenant] = (stats.decodedByTenant[tenant] ?? 0) + count;
    if (route.topic === null) {
      acct[Slot.no_tenant] += count;
      stats.droppedByTenant[tenant] = (stats.droppedByTenant[tenant] ?? 0) + count;
    }
    return tenant;
  };

  /**
   * Hands records [first, first + count) of the last decode to the route's topic, framed as
   * `exporter`'s (its headers and dvc key). The records are copied from the decoder's memory
   * straight into Kafka batches; its views are read per datagram: a trap replaces its memory.
   */
  const deliver = (route: Route, exporter: ExporterFraming, first: number, count: number, now: number): void => {
    const tenant = countDecoded(route, count);
    if (route.topic === null) return;
    const output = decoder.outputBuffer;
    const index = decoder.index;
    const { entries, stride, endAt, hashAt, gap } = index;
    if (tap.active) tap.offer(tenant, exporter.text, output, index, count, first);
    const keyMode = init.output.key;
    if (init.output.records_per_message === 'datagram') {
      const from = first === 0 ? 0 : entries[(first - 1) * stride + endAt]! + gap;
      const to = entries[(first + count - 1) * stride + endAt]! + gap;
      producer.append(route.topic, tenant, exporter.key, keyMode === 'dvc' ? exporter.key.length : -1, output, from, to, exporter.headers, count, now);
      return;
    }
    if (keyMode !== 'flow') {
      // One partition for the run's records: framed in one run, nothing allocated per record.
      producer.appendRecords(route.topic, tenant, exporter.key, keyMode === 'dvc' ? exporter.key.length : -1, output, index, count, exporter.headers, now, first);
      return;
    }
    // A key per record, so a partition per record.
    let start = first === 0 ? 0 : entries[(first - 1) * stride + endAt]! + gap;
    for (let i = first; i < first + count; i++) {
      const end = entries[i * stride + endAt]!;
      const keyLength = flowKey.write(entries[i * stride + hashAt]!);
      producer.append(route.topic, tenant, flowKey.bytes, keyLength, output, start, end, exporter.headers, 1, now);
      start = end + gap;
    }
  };

  /**
   * A relay's datagram (routing.relays): each record goes where the exporter it states goes (its
   * RouteAt word: 0, none stated, the relay's own route; k + 1, stated exporter k). Records in a
   * row with one route go as one run; usually the whole datagram is one.
   */
  const deliverRelayed = (n: number, addressOffset: number, now: number): void => {
    const { entries, stride, routeAt } = decoder.index;
    const mask = decoder.abi.stated.routeMask;
    const stated = decoder.statedExporters;
    const entryBytes = decoder.abi.stated.entryBytes;
    let first = 0;
    while (first < n) {
      const word = entries[first * stride + routeAt]! & mask;
      let end = first + 1;
      while (end < n && (entries[end * stride + routeAt]! & mask) === word) end++;
      if (word === 0) deliver(router.route(ringBytes, addressOffset), last, first, end - first, now);
      else {
        const framing = statedInfo(stated, (word - 1) * entryBytes);
        deliver(framing.route, framing, first, end - first, now);
      }
      first = end;
    }
  };

  /**
   * Options records [first, n) of the last decode: one message each on routing.options_topic,
   * keyed by the exporter so its options stay in order on one partition. An exporter without a
   * tenant topic has its options records dropped (no_tenant) like its data records.
   */
  const deliverOptions = (route: Route, first: number, n: number, now: number): void => {
    const tenant = countDecoded(route, n - first);
    if (route.topic === null) return;
    const output = decoder.outputBuffer;
    const { entries, stride, endAt, gap } = decoder.index;
    let start = first === 0 ? 0 : entries[(first - 1) * stride + endAt]! + gap;
    for (let i = first; i < n; i++) {
      const end = entries[i * stride + endAt]!;
      producer.append(optionsTopic, tenant, last.key, last.key.length, output, start, end, last.optionsHeaders, 1, now);
      start = end + gap;
    }
  };

  /** Role decode: while data sets are held, the datagrams that may have brought them stay uncommitted. */
  const trackHeld = (mark: number): void => {
    if (decoder.heldSets() === 0) {
      heldSince.length = 0;
      return;
    }
    const now = Date.now();
    const last = heldSince.length - 2;
    if (last < 0 || now - heldSince[last]! >= 250) heldSince.push(now, mark);
  };

  /** Template-topic messages for this worker's exporters: imported (a later definition wins), then not published back. */
  const importTemplates = (values: Uint8Array[], tombstones: string[]): { sessions: number; rejected: number } => {
    const buffers = values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    let sessions = 0;
    let rejected = 0;
    const now = Date.now();
    for (const snapshot of sessionSnapshots(buffers, decoder.abi.state)) {
      const r = decoder.importState(snapshot, now, true);
      if (r < 0) rejected++;
      else sessions += r;
    }
    if (publisher) {
      for (const b of buffers) publisher.received(splitSnapshot(sessionSnapshots([b], decoder.abi.state)[0]!, decoder.abi.state).values());
      for (const key of tombstones) publisher.forget(key);
      // What the import changed is known already: not a change to publish.
      publishedGeneration = decoder.stateGeneration();
    }
    return { sessions, rejected };
  };

  /**
   * The decoder trapped (a bug: counted as decoder_trap, its instance already re-created empty):
   * the datagram goes to the quarantine folder and the exporters' saved state is restored, so
   * their data decodes on without waiting for templates to be sent again.
   */
  const recoverFromTrap = (now: number): void => {
    const trap = decoder.lastTrap!;
    let file: string | null = null;
    try {
      file = quarantine(init.state.dir, trap);
    } catch (err) {
      log.sampled('error', 'quarantine', 'could not quarantine a datagram the decoder trapped on', { error: (err as Error).message });
    }
    const sessions = keeper.restore(decoder, now);
    log.sampled('error', 'decoder-trap', 'decoder trapped: instance re-created with the saved exporter state, datagram quarantined',
      { exporter: addressText(trap.address), port: trap.port, bytes: trap.bytes.length, error: trap.error, quarantined: file, sessionsRestored: sessions });
  };

  /** What /api/exporters and /api/templates show: read from the decoder, not kept per packet. */
  const describe = (id: number): FromWorker => {
    const now = Date.now();
    const sessions = decoder.sessions();
    const byIndex = new Map<number, { exporter: string; port: number; domain: number }>();
    const exportersView: ExporterView[] = sessions.map((s) => {
      const exporter = addressText(s.address);
      byIndex.set(s.index, { exporter, port: s.port, domain: s.domain });
      const route = router.route(s.address);
      return {
        exporter, port: s.port, domain: s.domain, version: s.version, tenant: route.tenant, topic: route.topic, worker: init.index,
        datagrams: s.datagrams, records: s.records, last_seen: new Date(s.lastSeenMs).toISOString(), templates: s.templates,
        sequence_lost_records: s.sequenceLostRecords, sampling: s.samplingRate || null,
      };
    });
    const templates: TemplateView[] = decoder.templates().map((t) => {
      const owner = byIndex.get(t.session) ?? { exporter: '?', port: 0, domain: 0 };
      return { ...owner, id: t.id, kind: t.kind, scope_fields: t.scopeFields, fields: t.fields, age_s: Math.max(0, Math.round((now - t.definedMs) / 1000)) };
    });
    return { type: 'describe', id, exporters: exportersView, templates };
  };

  /** Role decode: how far this worker got, for the raw consumer's commits (nobody reads it in the other roles). */
  const reportProgress = (): void => {
    if (!decodeRole) return;
    progress[Cell.TAKEN] = taken;
    progress[Cell.SETTLED] = settledUpTo(Date.now());
    progress[Cell.FILL] = Math.max(producer.queuedRecords / init.kafka.queue_max_records, producer.queuedBytes / init.kafka.queue_max_bytes);
  };
  // Acknowledgements and template changes come while the ring is idle too: role decode reports
  // its progress on a timer, and template changes are published on one. Role all without a
  // template topic needs neither.
  const progressTimer = decodeRole || publisher ? setInterval(() => {
    publishTemplates(Date.now(), false);
    reportProgress();
  }, decodeRole ? PROGRESS_EVERY_MS : PUBLISH_EVERY_MS) : undefined;

  let lastSweep = Date.now();
  let stopping: number | undefined;
  const run = async (): Promise<void> => {
    await runRing(ring, {
      handle,
      pauseReplay: (paused) => {
        producer.replayPaused = paused;
        if (tap.active) tap.backlog(paused); // ingest first: no tap copies while the ring has a backlog
      },
      afterBatch: () => {
        publishTemplates(Date.now(), false);
        reportProgress();
      },
      idle: (now) => {
        if (now - lastSweep < 1000) return;
        decoder.sweep(now);
        keeper.maybeSave(decoder, now);
        lastSweep = now;
      },
      stopping: () => stopping !== undefined,
    });
    publishTemplates(Date.now(), true);
    await keeper.save(decoder);
    clearInterval(tapTimer);
    clearInterval(progressTimer);
    await producer.close(stopping);
    reportProgress();
    port.postMessage({ type: 'stopped', stats: snapshot() } satisfies FromWorker);
    port.close();
  };

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'reload') {
      router = new TenantRouter(msg.routing);
      sampling = new SamplingRules(msg.routing.sampling);
      optionsTopic = msg.routing.options_topic;
      if (msg.definitions) decoder.setDefinitions(msg.definitions);
      decoder.setOptionsOutput(optionsTopic !== '');
      // Each exporter's sampling rules are found again on its next datagram.
      exporters.clear();
      statedExporters.clear();
      lastAddress.fill(0xff);
      log.info('routing reloaded');
    } else if (msg.type === 'stats') {
      port.postMessage({ type: 'stats', id: msg.id, stats: snapshot(msg.latency) } satisfies FromWorker);
    } else if (msg.type === 'stop') {
      stopping = msg.flushTimeoutMs;
    } else if (msg.type === 'tap') {
      tap.configure(msg.spec);
    } else if (msg.type === 'describe') {
      port.postMessage(describe(msg.id));
    } else if (msg.type === 'templates') {
      port.postMessage({ type: 'templates', id: msg.id, ...importTemplates(msg.values, msg.tombstones) } satisfies FromWorker);
    }
  });
  port.postMessage({ type: 'ready', index: init.index } satisfies FromWorker);
  run().catch((err: unknown) => failWorker(err, producer, log));
}

/** Topics the routing names, so their metadata is loaded before the first record. */
function routedTopics(routing: Config['routing']): string[] {
  const topics = new Set<string>();
  for (const t of routing.tenants) topics.add(t.topic);
  if (routing.unknown_exporters === 'default') topics.add(routing.default_topic);
  if (routing.options_topic !== '') topics.add(routing.options_topic);
  return [...topics];
}

if (parentPort && workerData) startWorker(workerData as WorkerInit);
