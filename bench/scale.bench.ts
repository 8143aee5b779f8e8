// The scale-out roles (flowgate serve --role all|receive|decode) against the same broker, in one
// run: what the raw hop (receiver -> raw topic -> decoder) costs compared with one process.
//
//   npm run build && node dist/bench/scale.bench.js [--quick]     quick (the default): 5 s steps
//   node dist/bench/scale.bench.js --full                          10 s steps, finer search, more runs
//   options: --bootstrap HOST:PORT (else the broker on 127.0.0.1:9092, or the project's, started)
//            --only search,cpu,breakdown,startup,rebalance   --topologies all,split1,split2   --workers N (1)
//            --rpp N (25)  --seconds S  --cpu-rate R  --cpu-runs N  --startup-runs N
//            --rebalance-runs N  --rebalance-rate R  --no-cleanup (keep the topics)
//            --root DIR (run another build's bin/flowgate.js, e.g. a commit to compare)
//            --raw-linger-ms N (kafka.linger_ms of role receive only; default FlowGate's, 5)
//            --warmup-s S (cpu and breakdown phases: S seconds at the measured rate before the
//              measured send, 5 by default, 0 as before 2026-12-07 turn 7: without it, a run measures
//              V8 still compiling the per-batch and per-request code, twice over for two processes)
//
// Topologies, each a fresh set of processes, topics and consumer group per step:
//   all     role all, 1 process, workers 1: pipeline.bench.ts's configuration
//   split1  role receive (workers 1) + 1 role decode (workers 1)
//   split2  role receive (workers 1) + 2 role decode (workers 1 each)
// On 2 cores (broker and load generator on the same cores) no speed-up is expected: the figures
// that matter are the overheads.
//
// Phases:
//   search     records/s end to end, lossless by bench/lib/lossless-search.ts's rule (every record
//              sent is on the tenant topic, no kernel drop, the last within 3 s of the generator's
//              stop), its ladder and bisection, per topology
//   cpu        every topology at one offered rate (--cpu-rate; default half the lowest lossless
//              rate the search found, rounded down to 10k): CPU µs per record delivered (user+sys
//              of every FlowGate process from /proc/<pid>/stat, from the generator's start to the
//              last delivery), the broker's too, p50/p99 receive -> tenant ack, and the bytes the
//              broker stores per record (raw topic and tenant topic log segments, read from its
//              log.dirs); runs interleaved, medians
//   startup    templates on the template topic (published by an earlier decoder, since stopped),
//              data-only datagrams waiting on the raw topic: a fresh decoder (no state.dir) from
//              spawn to its first record on the tenant topic (the broker's append time: the topic
//              is LogAppendTime); median of --startup-runs
//   breakdown  where the raw hop's CPU goes: role receive alone and role all, each with
//              kafka.sink kafka and discard, at the cpu phase's rate: CPU µs per datagram (what
//              Kafka costs each, what the UDP -> ring -> worker path costs); and, from the cpu
//              phase's runs, each process's main thread and other threads per record
//   rebalance  receive + decoder A at a steady --rebalance-rate; decoder B spawned: the longest
//              time without a record appended to the tenant topic after B's spawn (vs the longest
//              before it); median of --rebalance-runs
// Figures go to stdout (a table) and bench/results.json (keys scale_*).
import { parseArgs } from 'node:util';
import { ensureBroker } from '../test/support/broker.js';
import { total } from '../test/support/prometheus.js';
import { deliveredTo, Cluster, clusterNames, latencyMs, processCpu, roleConfig, settleCluster, spawnGateway, TOPOLOGY, type ClusterCounters, type Topology } from './lib/scale-cluster.js';
import { createAppendTimeTopic, deleteTopicsAndGroups, offsetAtTime, TopicTimes } from './lib/bench-topics.js';
import { findBrokerProcess, topicLogBytes } from './lib/broker-proc.js';
import { FixedExporters } from './lib/fixed-exporters.js';
import { gatewayLadder, WARMUP_RECORDS } from './lib/gateway-step.js';
import { runLoadgen, type Sent } from './lib/loadgen.js';
import { DRAIN_ALLOWANCE_S, isLossless, searchLosslessRate, sentRate, type StepOutcome } from './lib/lossless-search.js';
import { cpuSeconds } from './lib/proc.js';
import { mergeResults } from './lib/results.js';
import { fixed, int, renderTable } from './lib/table.js';
import { projectRoot } from '../src/paths.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    bootstrap: { type: 'string' },
    only: { type: 'string', default: 'search,cpu,breakdown,startup,rebalance' },
    topologies: { type: 'string', default: 'all,split1,split2' },
    workers: { type: 'string', default: '1' },
    rpp: { type: 'string', default: '25' },
    seconds: { type: 'string' },
    'cpu-rate': { type: 'string' },
    'cpu-runs': { type: 'string' },
    'startup-runs': { type: 'string' },
    'rebalance-runs': { type: 'string' },
    'rebalance-rate': { type: 'string', default: '50000' },
    'no-cleanup': { type: 'boolean', default: false },
    root: { type: 'string' },
    'raw-linger-ms': { type: 'string' },
    'warmup-s': { type: 'string', default: '5' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write(`usage: node dist/bench/scale.bench.js [--quick | --full] [--bootstrap HOST:PORT] [--only search,cpu,breakdown,startup,rebalance]
         [--topologies all,split1,split2] [--workers N] [--rpp N] [--seconds S] [--cpu-rate R] [--cpu-runs N]
         [--startup-runs N] [--rebalance-runs N] [--rebalance-rate R] [--no-cleanup] [--root DIR] [--raw-linger-ms N] [--warmup-s S]
(see the header of bench/scale.bench.ts)
`);
  process.exit(0);
}
const full = opts.full;
const seconds = Number(opts.seconds ?? (full ? 10 : 5));
const warmupS = Number(opts['warmup-s']);
const workers = Number(opts.workers);
const phases = new Set(opts.only.split(','));
const topologies = opts.topologies.split(',').filter((t): t is Topology => t in TOPOLOGY);
const cpuRuns = Number(opts['cpu-runs'] ?? (full ? 3 : 2));
const startupRuns = Number(opts['startup-runs'] ?? (full ? 7 : 5));
const rebalanceRuns = Number(opts['rebalance-runs'] ?? (full ? 5 : 3));
const rebalanceRate = Number(opts['rebalance-rate']);
const root = { ...(opts.root ? { root: opts.root } : {}), ...(opts['raw-linger-ms'] ? { rawLingerMs: Number(opts['raw-linger-ms']) } : {}) };
const log = (m: string) => process.stderr.write(`[scale] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

let brokers = '';
let brokerProcess: ReturnType<typeof findBrokerProcess>;
const brokerCpu = (): number => {
  if (!brokerProcess) return NaN;
  try {
    return cpuSeconds(brokerProcess.pid);
  } catch {
    return NaN;
  }
};

async function cleanup(topics: string[], groups: string[]): Promise<void> {
  if (opts['no-cleanup']) return;
  await deleteTopicsAndGroups(brokers, topics, groups).catch((err: unknown) => log(`clean-up of ${topics.join(', ')}: ${(err as Error).message}`));
}

// ---------------------------------------------------------------------------------------------
// One step: a fresh topology, warm-up, the offered rate for `seconds`, everything accounted for
// ---------------------------------------------------------------------------------------------

interface ScaleRun extends StepOutcome {
  topology: Topology;
  sent: Sent;
  dropped: number;
  datagramDrops: number;
  kernelDrops: number;
  p50: number | null;
  p99: number | null;
  /** From the generator's start to the last delivery. */
  elapsedS: number;
  /** CPU seconds per process (front first), and of its main thread. */
  cpuByProcess: { role: string; total: number; main: number }[];
  cpuS: number;
  cpuUsPerRecord: number;
  /** CPU seconds per second the processes took while idle (before the send; NaN when not measured). */
  idleCpuPerS: number;
  /** cpuUsPerRecord without the idle rate over the same time: what the records themselves cost. */
  marginalUsPerRecord: number;
  brokerUsPerRecord: number;
  /** Per record through the topic (warm-up included), as stored by the broker (log segments) and as raw message values. */
  rawBytesPerRecord: number | null;
  rawValueBytesPerRecord: number | null;
  tenantBytesPerRecord: number | null;
  /** Share of the tenant records each decoding process delivered. */
  shares: number[];
}

/** Seconds of idle CPU sampled before the send in the cpu phase (the processes' fixed cost: timers, polls, fetches). */
const IDLE_S = 2;

async function runStep(topology: Topology, offered: number, measureIdle = false): Promise<ScaleRun> {
  const names = clusterNames(topology);
  const decoders = TOPOLOGY[topology].decoders;
  const c = await Cluster.start({ brokers, names, workers, decoders, ...root });
  try {
    const warm = await runLoadgen(c.udp, ['--records', String(WARMUP_RECORDS), '--rate', '20000', '--records-per-packet', opts.rpp]);
    if (warmupS > 0) {
      const hot = await runLoadgen(c.udp, ['--rate', String(offered), '--duration', String(warmupS), '--records-per-packet', opts.rpp]);
      warm.records += hot.records;
    }
    const before = (await settleCluster(c, Date.now() + 60_000, brokerCpu)).k;
    let idleCpuPerS = NaN;
    if (measureIdle) {
      const i0 = c.cpu();
      const it = performance.now();
      await sleep(IDLE_S * 1000);
      const i1 = c.cpu();
      idleCpuPerS = i1.reduce((n, x, j) => n + x.total - i0[j]!.total, 0) / ((performance.now() - it) / 1000);
    }
    const cpu0 = c.cpu();
    const broker0 = brokerCpu();
    const t0 = Date.now();
    const sent = await runLoadgen(c.udp, ['--rate', String(offered), '--duration', String(seconds), '--records-per-packet', opts.rpp]);
    const sendEnd = Date.now();
    // Past the drain allowance (and a margin) the step is lossy whatever comes later: stop waiting.
    const s = await settleCluster(c, sendEnd + (DRAIN_ALLOWANCE_S + 7) * 1000, brokerCpu);
    const k = s.k;
    const delivered = k.tenantDelivered - before.tenantDelivered;
    const cpuByProcess = s.cpuAtProgress.map((x, i) => ({
      role: i === 0 ? (decoders ? 'receive' : 'all') : `decode ${i}`, total: x.total - cpu0[i]!.total, main: x.main - cpu0[i]!.main,
    }));
    const cpuS = cpuByProcess.reduce((n, p) => n + p.total, 0);
    const throughRaw = warm.records + sent.records;
    const rawLog = decoders ? topicLogBytes(brokerProcess, names.raw) : null;
    const tenantLog = topicLogBytes(brokerProcess, names.tenant);
    const perDecoder = k.perDecoder.map((n, i) => n - (before.perDecoder[i] ?? 0));
    return {
      topology, offered, sent, sentRecords: sent.records, sentSeconds: sent.seconds,
      deliveredRecords: delivered,
      kernelDrops: k.kernelDrops - before.kernelDrops,
      drainS: s.gaveUp ? Math.max(DRAIN_ALLOWANCE_S + 1, (Date.now() - sendEnd) / 1000) : Math.max(0, (s.lastProgressAt - sendEnd) / 1000),
      dropped: k.recordsDropped - before.recordsDropped,
      datagramDrops: k.datagramDrops - before.datagramDrops,
      p50: latencyMs(k, before, 0.5),
      p99: latencyMs(k, before, 0.99),
      elapsedS: (s.lastProgressAt - t0) / 1000,
      cpuByProcess, cpuS,
      cpuUsPerRecord: delivered > 0 ? (cpuS * 1e6) / delivered : NaN,
      idleCpuPerS,
      marginalUsPerRecord: delivered > 0 ? ((cpuS - idleCpuPerS * (s.lastProgressAt - t0) / 1000) * 1e6) / delivered : NaN,
      brokerUsPerRecord: delivered > 0 ? ((s.brokerCpuAtProgress - broker0) * 1e6) / delivered : NaN,
      rawBytesPerRecord: rawLog === null ? null : rawLog / throughRaw,
      rawValueBytesPerRecord: decoders ? k.rawBytesConsumed / throughRaw : null,
      tenantBytesPerRecord: tenantLog === null || k.tenantDelivered === 0 ? null : tenantLog / k.tenantDelivered,
      shares: perDecoder.map((n) => (delivered > 0 ? n / delivered : NaN)),
    };
  } finally {
    await c.stop();
    await cleanup([names.tenant, names.raw, names.templates], [names.group]);
  }
}

const describeRun = (r: ScaleRun): string =>
  `${TOPOLOGY[r.topology].label} offered ${int(r.offered)}/s: sent ${int(sentRate(r))}/s, delivered ${r.deliveredRecords}/${r.sentRecords}, dropped ${r.dropped}, `
  + `datagram drops ${r.datagramDrops}, kernel drops ${r.kernelDrops}, drained ${r.drainS.toFixed(1)} s after the send; `
  + `CPU ${r.cpuUsPerRecord.toFixed(2)} µs/record (${r.cpuByProcess.map((p) => `${p.role} ${p.total.toFixed(2)} s, main thread ${p.main.toFixed(2)}`).join('; ')}), `
  + `${Number.isFinite(r.idleCpuPerS) ? `idle ${(100 * r.idleCpuPerS).toFixed(1)} % of a core, ${r.marginalUsPerRecord.toFixed(2)} µs/record above it; ` : ''}`
  + `broker ${r.brokerUsPerRecord.toFixed(2)} µs/record; p50/p99 ${fixed(r.p50, 1)}/${fixed(r.p99, 1)} ms`
  + `${r.shares.length > 1 ? `; shares ${r.shares.map((x) => `${(100 * x).toFixed(0)} %`).join(' / ')}` : ''}`;

// ---------------------------------------------------------------------------------------------
// Breakdown: one process alone (role receive, role all), its sink Kafka or discard
// ---------------------------------------------------------------------------------------------

interface SoloRun {
  role: 'receive' | 'all';
  sink: 'kafka' | 'discard';
  datagrams: number;
  records: number;
  cpuS: number;
  mainS: number;
}

async function solo(role: 'receive' | 'all', sink: 'kafka' | 'discard', offered: number): Promise<SoloRun> {
  const names = clusterNames(`solo-${role}`);
  const gw = spawnGateway(roleConfig({ brokers, names, workers, decoders: 1 }, role, 'bench-solo'), opts.root, { FLOWGATE_KAFKA__SINK: sink });
  try {
    const udp = (await gw.ready()).udp.v4!;
    await runLoadgen(udp, ['--records', String(WARMUP_RECORDS), '--rate', '20000', '--records-per-packet', opts.rpp]);
    if (warmupS > 0) await runLoadgen(udp, ['--rate', String(offered), '--duration', String(warmupS), '--records-per-packet', opts.rpp]);
    await sleep(1000);
    const c0 = processCpu(gw.pid);
    const sent = await runLoadgen(udp, ['--rate', String(offered), '--duration', String(seconds), '--records-per-packet', opts.rpp]);
    // What was received is through by now at these rates (a lossless rate of both roles); the
    // same short wait for each, so the idle cost counted is the same.
    await sleep(500);
    const c1 = processCpu(gw.pid);
    return { role, sink, datagrams: sent.datagrams, records: sent.records, cpuS: c1.total - c0.total, mainS: c1.main - c0.main };
  } finally {
    await gw.stop('SIGTERM').catch(() => undefined);
    await gw.dispose();
    await cleanup([names.tenant, names.raw, names.templates], []);
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up of a decoder with the templates on the template topic
// ---------------------------------------------------------------------------------------------

interface StartupRun {
  firstRecordMs: number;
  /** From the decoder's log: spawn -> templates read, -> partitions assigned, -> ready (ms). */
  templatesLoadedMs: number;
  /** The template topic's read itself (the event's own ms). */
  catchUpMs: number;
  assignedMs: number;
  readyMs: number;
  sessionsRestored: number;
  /** Data sets the decoder found no template for (held): 0 when the template topic supplied them all. */
  unknownTemplateSets: number;
}

const eventMs = (gw: { events: { msg: string; time?: unknown }[] }, msg: string, since: number): number => {
  const e = gw.events.find((x) => x.msg === msg);
  return e && typeof e.time === 'string' ? Date.parse(e.time) - since : NaN;
};

async function startup(runs: number): Promise<StartupRun[]> {
  const names = clusterNames('start');
  await createAppendTimeTopic(brokers, names.tenant);
  const times = new TopicTimes(brokers, names.tenant);
  const c = await Cluster.start({ brokers, names, workers, decoders: 1, ...root });
  const exporters = await FixedExporters.open(16, Number(opts.rpp));
  const out: StartupRun[] = [];
  try {
    // Decoder A learns the templates (and publishes them), decodes some data, commits, leaves.
    await exporters.round(c.udp);
    await exporters.round(c.udp);
    const a = c.decoders[0]!;
    await waitFor('decoder A to deliver the first data and publish templates', async () => {
      const m = await a.metrics();
      return deliveredTo(m, names.tenant) >= exporters.records && deliveredTo(m, names.templates) > 0;
    });
    await settleCluster(c, Date.now() + 30_000, brokerCpu);
    await c.stopDecoder(a);
    for (let i = 0; i < runs; i++) {
      // Data only, waiting on the raw topic for the next decoder.
      const rawBefore = deliveredTo(await c.front.metrics(), names.raw);
      const recordsBefore = exporters.records;
      await exporters.round(c.udp);
      await exporters.round(c.udp);
      const datagrams = 2 * 16;
      await waitFor('the receiver to write the data-only datagrams to the raw topic', async () => deliveredTo(await c.front.metrics(), names.raw) >= rawBefore + datagrams);
      const records = exporters.records - recordsBefore;
      const end = await times.end();
      const spawnAt = Date.now();
      const d = c.spawnDecoder();
      let firstAt = NaN;
      const deadline = spawnAt + 60_000;
      while (Date.now() < deadline) {
        if ((await times.end()) > end) {
          firstAt = (await times.times(end, end + 1))[0]!;
          break;
        }
        if (!d.running) throw new Error(`decoder exited before its first record; last events:\n${d.tail()}`);
        await sleep(10);
      }
      if (!Number.isFinite(firstAt)) throw new Error(`no record on ${names.tenant} within 60 s of the decoder's spawn; last events:\n${d.tail()}`);
      await d.ready();
      await waitFor('the new decoder to deliver every waiting record', async () => deliveredTo(await d.metrics(), names.tenant) >= records);
      const m = await d.metrics();
      const run: StartupRun = {
        firstRecordMs: firstAt - spawnAt,
        templatesLoadedMs: eventMs(d, 'templates loaded from the template topic', spawnAt),
        catchUpMs: Number(d.events.find((e) => e.msg === 'templates loaded from the template topic')?.ms ?? NaN),
        assignedMs: eventMs(d, 'raw partitions assigned', spawnAt),
        readyMs: eventMs(d, 'ready', spawnAt),
        sessionsRestored: total(m, 'flowgate_template_sessions_restored_total'),
        unknownTemplateSets: m.get('flowgate_decoder_events_total{reason="unknown_template"}') ?? NaN,
      };
      out.push(run);
      log(`startup run ${i + 1}: first record ${run.firstRecordMs} ms after spawn (templates read at ${run.templatesLoadedMs} (the read itself ${run.catchUpMs} ms), partitions assigned at ${run.assignedMs}, `
        + `ready at ${run.readyMs} ms); ${run.sessionsRestored} sessions restored from the template topic, `
        + `${run.unknownTemplateSets} data sets without a template`);
      await c.stopDecoder(d); // commits: the next decoder starts after these datagrams
    }
  } finally {
    exporters.close();
    await times.close();
    await c.stop();
    await cleanup([names.tenant, names.raw, names.templates], [names.group]);
  }
  return out;
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Rebalance pause: decoder B joins while A decodes a steady stream
// ---------------------------------------------------------------------------------------------

interface RebalanceRun {
  /** Longest time without a record appended to the tenant topic after B's spawn (ms). */
  pauseMs: number;
  /** When that gap began, ms after B's spawn. */
  pauseStartMs: number;
  /** Longest gap in the 1.5 s before B's spawn: the steady stream's own. */
  baselineGapMs: number;
  /** B's spawn -> its partitions assigned, and -> A's partitions assigned again (their logs). */
  bAssignedMs: number;
  aReassignedMs: number;
  /** The longest gap ending within 2 s of A's new assignment: the pause the rebalance itself made. */
  pauseAtAssignmentMs: number;
  sent: number;
  delivered: number;
  uncommittedOnRevoke: number;
  lossless: boolean;
}

const PRE_S = 3;
const POST_S = full ? 9 : 7;

async function rebalance(runs: number): Promise<RebalanceRun[]> {
  const out: RebalanceRun[] = [];
  for (let i = 0; i < runs; i++) {
    const names = clusterNames('rebalance');
    await createAppendTimeTopic(brokers, names.tenant);
    const c = await Cluster.start({ brokers, names, workers, decoders: 1, ...root });
    try {
      await runLoadgen(c.udp, ['--records', String(WARMUP_RECORDS), '--rate', '20000', '--records-per-packet', opts.rpp]);
      const before: ClusterCounters = (await settleCluster(c, Date.now() + 60_000, brokerCpu)).k;
      const sending = runLoadgen(c.udp, ['--rate', String(rebalanceRate), '--duration', String(PRE_S + POST_S), '--records-per-packet', opts.rpp]);
      await sleep(PRE_S * 1000);
      const spawnAt = Date.now();
      const b = c.spawnDecoder();
      await c.started(b);
      await c.waitAssigned();
      const sent = await sending;
      const sendEnd = Date.now();
      const s = await settleCluster(c, sendEnd + 30_000, brokerCpu);
      const from = await offsetAtTime(brokers, names.tenant, spawnAt - 1500);
      const times = new TopicTimes(brokers, names.tenant);
      const ts = await times.times(from).finally(() => times.close());
      let pause = 0;
      let pauseStart = NaN;
      let baseline = 0;
      for (let j = 1; j < ts.length; j++) {
        const gap = ts[j]! - ts[j - 1]!;
        if (ts[j]! <= spawnAt) baseline = Math.max(baseline, gap);
        else if (ts[j - 1]! < sendEnd && gap > pause) {
          pause = gap;
          pauseStart = ts[j - 1]! - spawnAt;
        }
      }
      const a = c.decoders[0]!;
      const aAssigned = a.events.filter((e) => e.msg === 'raw partitions assigned').map((e) => Date.parse(String(e.time))).find((t) => t >= spawnAt) ?? NaN;
      let atAssignment = 0;
      for (let j = 1; j < ts.length; j++) if (Math.abs(ts[j]! - aAssigned) <= 2000) atAssignment = Math.max(atAssignment, ts[j]! - ts[j - 1]!);
      const delivered = s.k.tenantDelivered - before.tenantDelivered;
      const run: RebalanceRun = {
        pauseMs: pause, pauseStartMs: pauseStart, baselineGapMs: baseline, bAssignedMs: eventMs(b, 'raw partitions assigned', spawnAt),
        aReassignedMs: aAssigned - spawnAt, pauseAtAssignmentMs: atAssignment,
        sent: sent.records, delivered, uncommittedOnRevoke: s.k.uncommittedOnRevoke, lossless: delivered >= sent.records && !s.gaveUp,
      };
      out.push(run);
      log(`rebalance run ${i + 1}: no record for ${run.pauseMs} ms from ${run.pauseStartMs} ms after B's spawn (steady stream's longest gap ${run.baselineGapMs} ms); `
        + `B assigned at ${run.bAssignedMs} ms, A again at ${run.aReassignedMs} ms (longest gap within 2 s of it ${run.pauseAtAssignmentMs} ms); delivered ${delivered}/${sent.records} (${run.uncommittedOnRevoke} raw messages decoded again after the revoke)`);
    } finally {
      await c.stop();
      await cleanup([names.tenant, names.raw, names.templates], [names.group]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const broker = opts.bootstrap ? { bootstrap: opts.bootstrap, started: false, release: async () => undefined } : await ensureBroker(undefined, log);
  brokers = broker.bootstrap;
  brokerProcess = findBrokerProcess(Number(brokers.slice(brokers.lastIndexOf(':') + 1)));
  const results: Record<string, unknown> = {};
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const args = process.argv.slice(2).join(' ');
  const mode = full ? 'full' : 'quick';
  out(`scale: ${mode}, workers ${workers} per process, ${opts.rpp} records/datagram, ${seconds} s per step, broker ${brokers}`
    + `${brokerProcess ? ` (pid ${brokerProcess.pid}, log.dirs ${brokerProcess.logDirs.join(',')})` : ' (its process not found: no broker CPU or disk figures)'}`
    + `${opts.root ? `; FlowGate build ${opts.root}` : ''}${opts['raw-linger-ms'] ? `; role receive with kafka.linger_ms ${opts['raw-linger-ms']}` : ''}`);
  try {
    const sustained: Partial<Record<Topology, ScaleRun>> = {};
    const dropsAt: Partial<Record<Topology, ScaleRun>> = {};
    const searched: Partial<Record<Topology, ScaleRun[]>> = {};
    if (phases.has('search')) {
      for (const t of topologies) {
        const s = await searchLosslessRate({ ladder: gatewayLadder(full), bisections: full ? 2 : 1 }, async (rate) => {
          const r = await runStep(t, rate);
          log(describeRun(r));
          return r;
        });
        searched[t] = s.steps;
        if (s.sustained) sustained[t] = s.sustained;
        if (s.dropsAt) dropsAt[t] = s.dropsAt;
        out(`${TOPOLOGY[t].label}: highest lossless ${int(sentRate(s.sustained))} records/s; drops begin at ${s.dropsAt ? int(sentRate(s.dropsAt)) : 'n/a'}`);
        Object.assign(results, {
          [`scale_${t}_records_per_s`]: sentRate(s.sustained),
          [`scale_${t}_drops_begin_records_per_s`]: s.dropsAt ? sentRate(s.dropsAt) : null,
          [`scale_${t}_steps`]: s.steps.map((r) => ({ offered: r.offered, sent_per_s: sentRate(r), lossless: isLossless(r), drain_s: Number(r.drainS.toFixed(2)),
            dropped_records: r.dropped, dropped_datagrams: r.datagramDrops, kernel_drops: r.kernelDrops, cpu_us_per_record: Number(r.cpuUsPerRecord.toFixed(2)) })),
        });
      }
    }
    // The search's steps ran every topology at the same offered rates (the ladder): CPU per record at each.
    const ladderRates = [...new Set(Object.values(searched).flatMap((steps) => steps.map((r) => r.offered)))].sort((a, b) => a - b);
    const stepAt = (t: Topology, rate: number) => searched[t]?.find((r) => r.offered === rate);
    if (ladderRates.length) {
      results.scale_cpu_by_offered_rate = ladderRates.map((rate) => ({
        offered: rate,
        ...Object.fromEntries(topologies.map((t) => {
          const r = stepAt(t, rate);
          return [t, r ? { cpu_us_per_record: Number(r.cpuUsPerRecord.toFixed(2)), broker_cpu_us_per_record: Number(r.brokerUsPerRecord.toFixed(2)), lossless: isLossless(r) } : null];
        })),
      }));
    }
    const cpu: Partial<Record<Topology, ScaleRun[]>> = {};
    let cpuRate = Number(opts['cpu-rate'] ?? 0);
    if (phases.has('cpu')) {
      if (!cpuRate) {
        const found = topologies.map((t) => sentRate(sustained[t])).filter((x) => x > 0);
        cpuRate = found.length === topologies.length ? Math.max(10_000, Math.floor(Math.min(...found) / 2 / 10_000) * 10_000) : 50_000;
      }
      for (let i = 0; i < cpuRuns; i++) {
        for (const t of topologies) {
          const r = await runStep(t, cpuRate, true);
          log(`cpu run ${i + 1}: ${describeRun(r)}`);
          if (!isLossless(r)) log(`  NOT lossless at the comparison rate: its figures still count, but say so`);
          (cpu[t] ??= []).push(r);
        }
      }
      const m = (t: Topology, f: (r: ScaleRun) => number | null) => median((cpu[t] ?? []).map((r) => f(r) ?? NaN));
      for (const t of topologies) {
        Object.assign(results, {
          [`scale_${t}_cpu_us_per_record`]: Number(m(t, (r) => r.cpuUsPerRecord).toFixed(3)),
          [`scale_${t}_cpu_runs_us_per_record`]: (cpu[t] ?? []).map((r) => Number(r.cpuUsPerRecord.toFixed(3))),
          [`scale_${t}_broker_cpu_us_per_record`]: Number(m(t, (r) => r.brokerUsPerRecord).toFixed(3)),
          [`scale_${t}_idle_cpu_pct`]: Number((100 * m(t, (r) => r.idleCpuPerS)).toFixed(1)),
          [`scale_${t}_marginal_cpu_us_per_record`]: Number(m(t, (r) => r.marginalUsPerRecord).toFixed(3)),
          [`scale_${t}_cpu_lossless`]: (cpu[t] ?? []).every(isLossless),
          [`scale_${t}_p50_ms`]: Number(m(t, (r) => r.p50).toFixed(1)),
          [`scale_${t}_p99_ms`]: Number(m(t, (r) => r.p99).toFixed(1)),
          [`scale_${t}_tenant_bytes_per_record`]: Number(m(t, (r) => r.tenantBytesPerRecord).toFixed(1)),
          [`scale_${t}_cpu_by_process_s`]: (cpu[t] ?? []).map((r) => r.cpuByProcess.map((p) => ({ role: p.role, total: p.total, main_thread: p.main }))),
          ...(t === 'all' ? {} : {
            [`scale_${t}_raw_bytes_per_record`]: Number(m(t, (r) => r.rawBytesPerRecord).toFixed(1)),
            [`scale_${t}_raw_value_bytes_per_record`]: Number(m(t, (r) => r.rawValueBytesPerRecord).toFixed(1)),
          }),
        });
        if (t !== 'all' && cpu.all) {
          const ratio = m(t, (r) => r.cpuUsPerRecord) / m('all', (r) => r.cpuUsPerRecord);
          results[`scale_${t}_cpu_ratio`] = Number(ratio.toFixed(3));
          results[`scale_${t}_cpu_overhead_pct`] = Number(((ratio - 1) * 100).toFixed(1));
          const marginal = m(t, (r) => r.marginalUsPerRecord) / m('all', (r) => r.marginalUsPerRecord);
          results[`scale_${t}_marginal_cpu_overhead_pct`] = Number(((marginal - 1) * 100).toFixed(1));
        }
      }
      results.scale_cpu_rate_records_per_s = cpuRate;
    }
    const solos: SoloRun[] = [];
    if (phases.has('breakdown')) {
      const rate = cpuRate || Number(opts['cpu-rate'] ?? 100_000);
      for (let i = 0; i < cpuRuns; i++) {
        for (const [role, sink] of [['receive', 'kafka'], ['receive', 'discard'], ['all', 'kafka'], ['all', 'discard']] as const) {
          const r = await solo(role, sink, rate);
          log(`breakdown run ${i + 1}: role ${role} alone, sink ${sink}, ${int(rate)} records/s: ${r.datagrams} datagrams, CPU ${r.cpuS.toFixed(2)} s (main thread ${r.mainS.toFixed(2)}), `
            + `${((r.cpuS * 1e6) / r.datagrams).toFixed(1)} µs/datagram`);
          solos.push(r);
        }
      }
      const perDatagram = (role: string, sink: string) => median(solos.filter((x) => x.role === role && x.sink === sink).map((x) => (x.cpuS * 1e6) / x.datagrams));
      Object.assign(results, {
        scale_breakdown_rate_records_per_s: rate,
        scale_receive_kafka_cpu_us_per_datagram: Number(perDatagram('receive', 'kafka').toFixed(1)),
        scale_receive_discard_cpu_us_per_datagram: Number(perDatagram('receive', 'discard').toFixed(1)),
        scale_all_kafka_cpu_us_per_datagram: Number(perDatagram('all', 'kafka').toFixed(1)),
        scale_all_discard_cpu_us_per_datagram: Number(perDatagram('all', 'discard').toFixed(1)),
      });
    }
    // Per thread, from the cpu phase: each process's main thread and the rest (its decoder or raw worker, GC, libuv).
    const threadRows: string[][] = [];
    for (const t of topologies) {
      const runs = cpu[t] ?? [];
      if (!runs.length) continue;
      const roles = runs[0]!.cpuByProcess.map((p) => p.role);
      for (const [i, role] of roles.entries()) {
        const us = (f: (p: { total: number; main: number }) => number) => median(runs.map((r) => (f(r.cpuByProcess[i]!) * 1e6) / r.deliveredRecords));
        const main = us((p) => p.main);
        const other = us((p) => p.total - p.main);
        threadRows.push([TOPOLOGY[t].label, role, fixed(main, 2), fixed(other, 2), fixed(main + other, 2)]);
        results[`scale_${t}_${role.replace(' ', '')}_us_per_record`] = { main_thread: Number(main.toFixed(3)), other_threads: Number(other.toFixed(3)) };
      }
    }
    let starts: StartupRun[] = [];
    if (phases.has('startup')) {
      starts = await startup(startupRuns);
      Object.assign(results, {
        scale_decoder_first_record_ms: Math.round(median(starts.map((r) => r.firstRecordMs))),
        scale_decoder_first_record_runs_ms: starts.map((r) => Math.round(r.firstRecordMs)),
        scale_decoder_templates_loaded_ms: Math.round(median(starts.map((r) => r.templatesLoadedMs))),
        scale_decoder_template_read_ms: Math.round(median(starts.map((r) => r.catchUpMs))),
        scale_decoder_assigned_ms: Math.round(median(starts.map((r) => r.assignedMs))),
        scale_decoder_ready_ms: Math.round(median(starts.map((r) => r.readyMs))),
        scale_decoder_sets_without_template: starts.reduce((n, r) => n + r.unknownTemplateSets, 0),
      });
    }
    let rebalances: RebalanceRun[] = [];
    if (phases.has('rebalance')) {
      rebalances = await rebalance(rebalanceRuns);
      Object.assign(results, {
        scale_rebalance_rate_records_per_s: rebalanceRate,
        scale_rebalance_pause_ms: Math.round(median(rebalances.map((r) => r.pauseMs))),
        scale_rebalance_pause_runs_ms: rebalances.map((r) => r.pauseMs),
        scale_rebalance_baseline_gap_ms: Math.round(median(rebalances.map((r) => r.baselineGapMs))),
        scale_rebalance_b_assigned_ms: Math.round(median(rebalances.map((r) => r.bAssignedMs))),
        scale_rebalance_a_reassigned_ms: Math.round(median(rebalances.map((r) => r.aReassignedMs))),
        scale_rebalance_pause_at_assignment_ms: Math.round(median(rebalances.map((r) => r.pauseAtAssignmentMs))),
        scale_rebalance_lossless: rebalances.every((r) => r.lossless),
        scale_rebalance_redecoded_messages: rebalances.map((r) => r.uncommittedOnRevoke),
        scale_rebalance_duplicate_records: rebalances.map((r) => r.delivered - r.sent),
      });
    }
    results.scale_seconds = Math.round((Date.now() - started) / 1000);
    results.scale_bench_command = `node dist/bench/scale.bench.js ${args}`.trim();
    mergeResults(results);
    const r = results; // this run's figures only (bench/results.json may hold other runs' too)

    // The table.
    const n = (k: string): number | null => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null);
    const cell = (t: Topology, k: string, f: (x: number | null) => string) => (topologies.includes(t) ? f(n(`scale_${t}_${k}`)) : '');
    const row = (name: string, k: string, f: (x: number | null) => string) => [name, ...(['all', 'split1', 'split2'] as Topology[]).map((t) => cell(t, k, f))];
    const pct = (x: number | null) => (x === null ? '' : `${x >= 0 ? '+' : ''}${x.toFixed(0)} %`);
    out('');
    out(renderTable(['measure', TOPOLOGY.all.label, TOPOLOGY.split1.label, TOPOLOGY.split2.label], [
      row('records/s end to end, lossless (search)', 'records_per_s', int),
      row('drops (or a backlog > 3 s) begin at, records/s', 'drops_begin_records_per_s', int),
      row(`FlowGate CPU µs per record at ${int(cpuRate || null)}/s`, 'cpu_us_per_record', (x) => fixed(x, 2)),
      row('  vs role all', 'cpu_overhead_pct', pct),
      row('  idle CPU of the processes, % of a core', 'idle_cpu_pct', (x) => fixed(x, 1)),
      row('  per record with the idle rate taken out, µs', 'marginal_cpu_us_per_record', (x) => fixed(x, 2)),
      row('  vs role all', 'marginal_cpu_overhead_pct', pct),
      row(`broker CPU µs per record at ${int(cpuRate || null)}/s`, 'broker_cpu_us_per_record', (x) => fixed(x, 2)),
      row('p50 ms receive -> tenant ack', 'p50_ms', (x) => fixed(x, 1)),
      row('p99 ms receive -> tenant ack', 'p99_ms', (x) => fixed(x, 1)),
      row('raw topic: bytes on the broker per record', 'raw_bytes_per_record', (x) => fixed(x, 1)),
      row('raw topic: message value bytes per record', 'raw_value_bytes_per_record', (x) => fixed(x, 1)),
      row('tenant topic: bytes on the broker per record', 'tenant_bytes_per_record', (x) => fixed(x, 1)),
    ]));
    out('');
    if (ladderRates.length) {
      const cellAt = (t: Topology, rate: number) => {
        const x = stepAt(t, rate);
        return x ? `${x.cpuUsPerRecord.toFixed(2)} / ${x.brokerUsPerRecord.toFixed(2)}${isLossless(x) ? '' : ' (lossy)'}` : '';
      };
      out('CPU µs per record delivered, FlowGate processes / broker, at each offered rate of the search (one run each; lossy: records lost or a backlog):');
      out(renderTable(['offered records/s', ...(['all', 'split1', 'split2'] as Topology[]).map((t) => TOPOLOGY[t].label)],
        ladderRates.map((rate) => [int(rate), ...(['all', 'split1', 'split2'] as Topology[]).map((t) => cellAt(t, rate))])));
      out('');
    }
    if (threadRows.length) {
      out(`CPU µs per record by process and thread at ${int(cpuRate)}/s (cpu phase, medians): the main thread receives UDP (role all, receive) or consumes the raw topic (decode); the other threads are its worker (decode and produce, or frame and produce raw messages), GC and libuv:`);
      out(renderTable(['topology', 'process', 'main thread', 'other threads', 'process'], threadRows, ['left', 'left', 'right', 'right', 'right']));
      out('');
    }
    if (solos.length) {
      const pd = (k: string) => fixed(n(k), 1);
      out(`one process alone at ${int(n('scale_breakdown_rate_records_per_s'))} records/s, CPU µs per datagram (${opts.rpp} records each), kafka.sink kafka / discard: `
        + `role receive ${pd('scale_receive_kafka_cpu_us_per_datagram')} / ${pd('scale_receive_discard_cpu_us_per_datagram')}, `
        + `role all ${pd('scale_all_kafka_cpu_us_per_datagram')} / ${pd('scale_all_discard_cpu_us_per_datagram')} `
        + `(discard: UDP -> ring -> worker, and decoding for role all; kafka - discard: what producing costs)`);
      out('');
    }
    if (starts.length) {
      out(`decoder start -> first record on the tenant topic (templates from the template topic, data waiting on the raw topic, no state.dir): `
        + `median ${int(n('scale_decoder_first_record_ms'))} ms (runs ${starts.map((x) => int(x.firstRecordMs)).join(', ')}); `
        + `median spawn -> templates read ${int(n('scale_decoder_templates_loaded_ms'))} ms (the read itself ${int(n('scale_decoder_template_read_ms'))} ms), -> raw partitions assigned ${int(n('scale_decoder_assigned_ms'))} ms, -> ready ${int(n('scale_decoder_ready_ms'))} ms`);
    }
    if (rebalances.length) {
      out(`rebalance pause (decoder B joins receive + A at ${int(rebalanceRate)} records/s): median ${int(n('scale_rebalance_pause_ms'))} ms without a record on the tenant topic `
        + `(runs ${rebalances.map((x) => `${x.pauseMs} from +${int(x.pauseStartMs)}`).join(', ')} ms after B's spawn); the steady stream's own longest gap ${int(n('scale_rebalance_baseline_gap_ms'))} ms; `
        + `B assigned ${int(n('scale_rebalance_b_assigned_ms'))} ms after its spawn, A again at ${int(n('scale_rebalance_a_reassigned_ms'))} ms `
        + `(longest gap within 2 s of that: median ${int(n('scale_rebalance_pause_at_assignment_ms'))} ms); ${rebalances.every((x) => x.lossless) ? 'no record lost' : 'RECORDS LOST'}; `
        + `records delivered twice ${rebalances.map((x) => x.delivered - x.sent).join(', ')}`);
    }
    out(`took ${int(n('scale_seconds'))} s; figures in bench/results.json (scale_*)`);
    out(`reproduce: cd ${projectRoot()} && npm run build && node dist/bench/scale.bench.js ${args}`.trim());
  } finally {
    await broker.release();
  }
}

await main();
