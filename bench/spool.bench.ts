// The disk spool's figures (issue 9, "Benchmarks"): how fast it takes and gives back records, on
// its own and in a gateway, and what configuring it costs the live path.
//
//   npm run build && node dist/bench/spool.bench.js          all three phases, about 6 minutes
//   options: --only module,overhead,outage  --bootstrap HOST:PORT (the healthy broker of "overhead";
//            else the one on 127.0.0.1:9092, or the project's started for the run)
//            --module-mib N (1024)  --outage-rate R (100000)  --backlog-seconds S (60)
//            --live-rate R (default half the sustained rate found by "overhead", else half of
//            bench/results.json's pipeline_records_per_s)  --drain-timeout S (90: the replay's measure ends)  --overhead search|fixed (search)
//            --fixed-rate R (400000)  --seconds S (per search / fixed step: 5, 10 with --full)
//            --full (the pipeline's finer ladder, 2 bisections)  --rpp N (25)  --broker-port P (19392)
//
// Phases:
//   module    src/spool/spool.ts alone, in this process: 1 MiB RecordBatch records sections
//             (BatchBuilder) of the JSON records the decoder writes for the load generator's
//             packets (~300 B each), appended up to --module-mib with fsync_interval_ms 1000 and the
//             default segment size, synced; then read back (checksum checked) and acknowledged,
//             oldest first, round robin over 4 partitions as the spool gate replays. The reads come
//             from the page cache (the data was just written), as a replay after an outage would.
//   overhead  the gateway's highest lossless rate (bench/lib/lossless-search.ts, the pipeline's
//             ladder and rules) without a spool, then with spool.dir configured (defaults
//             otherwise), the broker healthy: the "within 5 %" of the issue. The search's
//             resolution is its bisection (25 % at best), so it also prints the gateway's CPU at
//             each rate both ran. --overhead fixed: instead, both at --fixed-rate for --seconds,
//             alternating, twice each: delivered records/s and CPU, lossless or not.
//   outage    a broker of its own (test/support/broker.ts, ports --broker-port and +1), a gateway
//             (one worker, spool.dir set, max_bytes 16 GiB so the backlog fits): warm-up, broker
//             stopped, the generator at --outage-rate for --backlog-seconds (every record must go
//             to the spool: the spooling rate, lossless or not); then the generator at --live-rate
//             while the broker is started again: the replay rate of the backlog
//             (flowgate_spool_replayed_records_total, gross) and how fast flowgate_spool_records
//             falls to 0 (net: live records of a partition with spooled batches go behind them,
//             into the spool), until 5 s after it is empty. Checked: no record dropped
//             (flowgate_records_dropped_total), every record sent is in Kafka (by count).
//
// Figures go to stdout (a table, then the command that reproduces it) and into bench/results.json
// (keys spool_*). Other work on the machine moves them: the load average is printed too.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBroker, startPrivateBroker } from '../test/support/broker.js';
import type { GatewayProcess } from '../test/support/gateway-process.js';
import { topicCounts } from '../test/support/kafka-topics.js';
import { total } from '../test/support/prometheus.js';
import { defaultConfig } from '../src/config/index.js';
import { SCHEMA_VERSION } from '../src/decoder/worker.js';
import { UNKNOWN_TENANT } from '../src/pipeline/stats.js';
import { BatchBuilder, encodeHeaders } from '../src/kafka/protocol/record-batch.js';
import { Spool } from '../src/spool/spool.js';
import { projectRoot } from '../src/paths.js';
import { benchTopic, deleteBenchTopics, counterDelta, gatewayConfig, gatewayLadder, runAt, settle, stopGateway, warmGateway, WARMUP_RECORDS, type Run } from './lib/gateway-step.js';
import { runLoadgen, type Sent } from './lib/loadgen.js';
import { isLossless, searchLosslessRate, sentRate } from './lib/lossless-search.js';
import { cpuSeconds } from './lib/proc.js';
import { decodedRecords } from './lib/record-size.js';
import { mergeResults, readResults } from './lib/results.js';
import { fixed, int, renderTable } from './lib/table.js';

const root = projectRoot();
const { values: opts } = parseArgs({
  options: {
    only: { type: 'string', default: 'module,overhead,outage' },
    bootstrap: { type: 'string' },
    'module-mib': { type: 'string', default: '1024' },
    'outage-rate': { type: 'string', default: '100000' },
    'backlog-seconds': { type: 'string', default: '60' },
    'live-rate': { type: 'string' },
    'drain-timeout': { type: 'string', default: '90' },
    overhead: { type: 'string', default: 'search' },
    'fixed-rate': { type: 'string', default: '400000' },
    seconds: { type: 'string' },
    full: { type: 'boolean', default: false },
    rpp: { type: 'string', default: '25' },
    'broker-port': { type: 'string', default: '19392' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write(`usage: node dist/bench/spool.bench.js [--only module,overhead,outage] [--bootstrap HOST:PORT] [--module-mib N]
         [--outage-rate R] [--backlog-seconds S] [--live-rate R] [--overhead search|fixed] [--fixed-rate R] [--seconds S]
         [--full] [--rpp N] [--broker-port P]
(see the header of bench/spool.bench.ts)
`);
  process.exit(0);
}
const phases = new Set(opts.only.split(','));
const seconds = Number(opts.seconds ?? (opts.full ? 10 : 5));
const rpp = opts.rpp;
const log = (m: string) => process.stderr.write(`[spool] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

const tempDir = (what: string) => mkdtempSync(join(tmpdir(), `flowgate-spool-bench-${what}-`));

// ---------------------------------------------------------------------------------------------
// module: the spool alone
// ---------------------------------------------------------------------------------------------

interface ModuleFigures {
  records: number;
  bytes: number;
  entries: number;
  recordBytes: number;
  writeRecordsPerS: number;
  writeMbPerS: number;
  writeCpuPct: number;
  readRecordsPerS: number;
  readMbPerS: number;
  readCpuPct: number;
}

function moduleRates(mib: number): ModuleFigures {
  const json = decodedRecords({ recordsPerPacket: [Number(rpp), Number(rpp)] });
  const exporter = '127.0.1.1';
  const headers = encodeHeaders({ schema: SCHEMA_VERSION, exporter });
  // 16 distinct batches of the default batch size, appended in turn: the data is not one buffer over and over.
  const batches: BatchBuilder[] = [];
  for (let i = 0, r = 0; i < 16; i++) {
    const b = new BatchBuilder(defaultConfig.kafka.batch_max_bytes);
    const now = Date.now();
    for (; b.count < defaultConfig.kafka.batch_max_records; r++) {
      const v = json[r % json.length]!;
      if (!b.append(null, 0, -1, v, 0, v.length, headers, now)) break;
    }
    batches.push(b);
  }
  const dir = tempDir('module');
  const target = mib * MiB;
  const partitions = 4;
  try {
    const spool = Spool.open(dir, { maxBytes: 2 * target + 64 * MiB, fsyncIntervalMs: 1000, segmentBytes: defaultConfig.spool.segment_bytes });
    let records = 0;
    let bytes = 0;
    let entries = 0;
    const cpuW = process.cpuUsage();
    const tW = performance.now();
    while (bytes < target) {
      const b = batches[entries % batches.length]!;
      const payload = b.records();
      const meta = {
        topic: 'bench.spool', partition: entries % partitions, records: b.count, messages: b.count, firstReceivedAt: Date.now(),
        baseTimestamp: b.baseTimestamp, maxTimestamp: b.maxTimestamp, tenants: [{ name: UNKNOWN_TENANT, records: b.count }],
      };
      if (spool.append(meta, payload) !== 'spooled') throw new Error('spool full: max_bytes too small for the module phase');
      records += b.count;
      bytes += payload.length;
      entries++;
    }
    spool.sync(); // everything on disk: part of the write's cost
    const writeS = (performance.now() - tW) / 1000;
    const writeCpu = process.cpuUsage(cpuW);
    // Read back and acknowledge, oldest first, one entry per partition in turn (as the gate's replay).
    let read = 0;
    const cpuR = process.cpuUsage();
    const tR = performance.now();
    while (spool.entries > 0) {
      for (const q of [...spool.partitions()]) {
        const e = q.entries[0]!;
        const payload = spool.read(e);
        if (!payload || payload.length === 0) throw new Error(`spool entry ${e.id} failed its checksum on read-back`);
        read += e.meta.records;
        spool.ack(e);
      }
    }
    spool.sync();
    const readS = (performance.now() - tR) / 1000;
    const readCpu = process.cpuUsage(cpuR);
    if (read !== records || spool.records !== 0) throw new Error(`read back ${read} of ${records} records; ${spool.records} left`);
    spool.close();
    const pct = (c: NodeJS.CpuUsage, s: number) => ((c.user + c.system) / 1e6 / s) * 100;
    return {
      records, bytes, entries, recordBytes: bytes / records,
      writeRecordsPerS: records / writeS, writeMbPerS: bytes / MiB / writeS, writeCpuPct: pct(writeCpu, writeS),
      readRecordsPerS: records / readS, readMbPerS: bytes / MiB / readS, readCpuPct: pct(readCpu, readS),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// overhead: the live path with and without spool.dir, the broker healthy
// ---------------------------------------------------------------------------------------------

const config = (brokers: string, spoolDir: string | null, spoolExtra = ''): string => gatewayConfig({
  brokers, sink: 'kafka', topic: benchTopic(), workers: 1, recordsPerMessage: 1,
  extraYaml: spoolDir === null ? '' : `spool:\n  dir: ${JSON.stringify(spoolDir)}\n${spoolExtra}`,
});

/** One step of the pipeline's measurement, on a fresh spool directory when `withSpool`. */
async function step(brokers: string, withSpool: boolean, rate: number): Promise<Run> {
  const dir = withSpool ? tempDir('live') : null;
  try {
    const r = await runAt(config(brokers, dir), rate, seconds, rpp);
    log(`${withSpool ? 'spool.dir set ' : 'no spool      '} offered ${int(rate)}/s: sent ${int(sentRate(r))}/s, delivered ${r.deliveredRecords}/${r.sentRecords}, `
      + `dropped ${r.dropped}, spooled ${r.spooled}, datagram drops ${r.datagramDrops}, kernel drops ${r.kernelDrops}, drained ${r.drainS.toFixed(1)} s after the send, cpu ${r.cpuPct.toFixed(0)} %`);
    return r;
  } finally {
    await deleteBenchTopics(brokers, log);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

interface Overhead {
  mode: 'search' | 'fixed';
  without: number;
  with: number;
  /** Per offered rate both ran: gateway CPU % without and with the spool, and whether each was lossless. */
  sameRate: { offered: number; cpuWithout: number; cpuWith: number; losslessWithout: boolean; losslessWith: boolean; spooled: number }[];
  /** fixed: delivered records/s per run. */
  runs?: { withSpool: boolean; deliveredPerS: number; cpuPct: number; dropped: number; spooled: number; lossless: boolean }[];
}

async function overheadSearch(brokers: string): Promise<Overhead> {
  const plan = { ladder: gatewayLadder(opts.full), bisections: opts.full ? 2 : 1 };
  const without = await searchLosslessRate(plan, (rate) => step(brokers, false, rate));
  const withSpool = await searchLosslessRate(plan, (rate) => step(brokers, true, rate));
  const sameRate = without.steps.flatMap((a) => {
    const b = withSpool.steps.find((s) => s.offered === a.offered);
    return b ? [{ offered: a.offered, cpuWithout: a.cpuPct, cpuWith: b.cpuPct, losslessWithout: isLossless(a), losslessWith: isLossless(b), spooled: b.spooled }] : [];
  });
  return { mode: 'search', without: sentRate(without.sustained), with: sentRate(withSpool.sustained), sameRate };
}

async function overheadFixed(brokers: string): Promise<Overhead> {
  const rate = Number(opts['fixed-rate']);
  const runs: NonNullable<Overhead['runs']> = [];
  const steps: { withSpool: boolean; r: Run }[] = [];
  for (const withSpool of [false, true, false, true]) {
    const r = await step(brokers, withSpool, rate);
    steps.push({ withSpool, r });
    runs.push({ withSpool, deliveredPerS: r.deliveredRecords / r.sentSeconds, cpuPct: r.cpuPct, dropped: r.dropped, spooled: r.spooled, lossless: isLossless(r) });
  }
  const mean = (w: boolean, f: (x: (typeof runs)[number]) => number) => {
    const xs = runs.filter((x) => x.withSpool === w).map(f);
    return xs.reduce((n, x) => n + x, 0) / xs.length;
  };
  const pick = (w: boolean) => steps.filter((s) => s.withSpool === w).map((s) => s.r);
  return {
    mode: 'fixed', without: mean(false, (x) => x.deliveredPerS), with: mean(true, (x) => x.deliveredPerS), runs,
    sameRate: [{ offered: rate, cpuWithout: mean(false, (x) => x.cpuPct), cpuWith: mean(true, (x) => x.cpuPct),
      losslessWithout: pick(false).every(isLossless), losslessWith: pick(true).every(isLossless), spooled: mean(true, (x) => x.spooled) }],
  };
}

// ---------------------------------------------------------------------------------------------
// outage: spool a backlog with the broker down, replay it under live traffic
// ---------------------------------------------------------------------------------------------

interface Outage {
  outageRate: number;
  backlogSeconds: number;
  sentDuringOutage: Sent;
  spooledDuringOutage: number;
  queuedAtOutageEnd: number;
  droppedDuringOutage: number;
  outageCpuPct: number;
  liveRate: number;
  sentDuringReplay: Sent;
  brokerStartS: number;
  reconnectS: number | null;
  backlog: number;
  emptied: boolean;
  /** Records still spooled when the replay was measured last (0 when emptied). */
  left: number;
  drainS: number | null;
  replayedRecords: number;
  replayCpuPct: number;
  dropped: number;
  kernelDrops: number;
  /** Datagrams the gateway dropped before decoding (ring full: a worker that fell behind); their records are never received. */
  datagramDrops: number;
  /** Records decoded, the warm-up's included. */
  received: number;
  sentTotal: number;
  inKafka: number;
  /** Records still spooled or queued when Kafka was counted (the settle after the replay timed out). */
  leftAtEnd: number;
  spoolPeakBytes: number;
}

const gauge = (m: Map<string, number>, name: string) => total(m, name);

async function outage(liveRate: number): Promise<Outage> {
  const port = Number(opts['broker-port']);
  const outageRate = Number(opts['outage-rate']);
  const backlogSeconds = Number(opts['backlog-seconds']);
  log(`outage: starting a broker of its own on 127.0.0.1:${port}`);
  const broker = await startPrivateBroker({ port, controllerPort: port + 1 });
  const spoolDir = tempDir('outage');
  let gw: GatewayProcess | undefined;
  const live = new AbortController();
  let liveSending: Promise<Sent> | undefined;
  try {
    const topic = benchTopic();
    const yaml = gatewayConfig({ brokers: broker.bootstrap, sink: 'kafka', topic, workers: 1, recordsPerMessage: 1,
      extraYaml: `spool:\n  dir: ${JSON.stringify(spoolDir)}\n  max_bytes: ${16 * 2 ** 30}\n` });
    const warm = await warmGateway(yaml, rpp);
    gw = warm.gw;
    const before = warm.before;
    log('outage: broker stopped');
    await broker.stop();
    // 1. The backlog: every record to the spool.
    let spoolPeakBytes = 0;
    const cpuA = cpuSeconds(gw.pid);
    const tA = performance.now();
    let sendingA = true;
    const sentA = runLoadgen(warm.udp, ['--rate', String(outageRate), '--duration', String(backlogSeconds), '--records-per-packet', rpp])
      .finally(() => (sendingA = false));
    while (sendingA) {
      await sleep(1000);
      const m = await gw.metrics();
      spoolPeakBytes = Math.max(spoolPeakBytes, gauge(m, 'flowgate_spool_bytes'));
    }
    const sentDuringOutage = await sentA;
    const outageCpuPct = ((cpuSeconds(gw.pid) - cpuA) / ((performance.now() - tA) / 1000)) * 100;
    const mA = await gw.metrics();
    const spooledDuringOutage = counterDelta(mA, before, 'flowgate_spool_written_records_total');
    const queuedAtOutageEnd = gauge(mA, 'flowgate_kafka_queue_records');
    const droppedDuringOutage = counterDelta(mA, before, 'flowgate_records_dropped_total');
    log(`outage: ${int(sentDuringOutage.records)} records sent in ${sentDuringOutage.seconds.toFixed(1)} s, ${int(spooledDuringOutage)} spooled, `
      + `${int(queuedAtOutageEnd)} in memory, ${int(droppedDuringOutage)} dropped; now ${int(liveRate)}/s live and the broker started`);

    // 2. Live traffic from now on; the broker back; the backlog replayed.
    liveSending = runLoadgen(warm.udp, ['--rate', String(liveRate), '--duration', '100000', '--records-per-packet', rpp], { signal: live.signal });
    const tStart = performance.now();
    await broker.start();
    const tUp = performance.now();
    const brokerStartS = (tUp - tStart) / 1000;
    const cpuB = cpuSeconds(gw.pid);
    let m = await gw.metrics();
    const replayedAtUp = counterDelta(m, before, 'flowgate_spool_replayed_records_total');
    let prev = { t: tUp, spooled: gauge(m, 'flowgate_spool_records') };
    let drainStart: { t: number; spooled: number; replayed: number } | undefined;
    let emptyAt: number | undefined;
    const deadline = tUp + Number(opts['drain-timeout']) * 1000;
    let nextReport = tUp + 5000;
    let lastT = tUp;
    let replayed = replayedAtUp;
    let spooled = prev.spooled;
    while (performance.now() < deadline) {
      await sleep(250);
      m = await gw.metrics();
      lastT = performance.now();
      spooled = gauge(m, 'flowgate_spool_records');
      replayed = counterDelta(m, before, 'flowgate_spool_replayed_records_total');
      spoolPeakBytes = Math.max(spoolPeakBytes, gauge(m, 'flowgate_spool_bytes'));
      if (!drainStart && replayed > replayedAtUp) drainStart = { t: prev.t, spooled: prev.spooled, replayed: replayedAtUp };
      if (drainStart && spooled === 0) {
        emptyAt = lastT;
        break;
      }
      if (lastT >= nextReport) {
        nextReport += 5000;
        log(`outage: ${((lastT - tUp) / 1000).toFixed(0)} s after the broker's start: ${int(spooled)} records spooled, ${int(replayed - replayedAtUp)} replayed, `
          + `${int(counterDelta(m, before, 'flowgate_records_delivered_total'))} delivered, ${int(gauge(m, 'flowgate_kafka_queue_records'))} in memory`);
      }
      prev = { t: lastT, spooled };
    }
    const replayCpuPct = ((cpuSeconds(gw.pid) - cpuB) / ((performance.now() - tUp) / 1000)) * 100;
    if (emptyAt === undefined) log(`outage: the spool did not empty within ${opts['drain-timeout']} s of the broker's start (${int(spooled)} records left); the gateway's last log records:\n${gw.tail(20)}`);
    else log(`outage: spool empty ${((emptyAt - tUp) / 1000).toFixed(1)} s after the broker was up; live traffic goes on for 5 s`);
    await sleep(5000);
    live.abort();
    const sentDuringReplay = await liveSending;
    // Whatever is still spooled goes out now without live traffic beside it (bounded: a spool
    // that could not drain may hold a lot), then Kafka is counted.
    const { m: end } = await settle(gw, 120_000);
    const leftAtEnd = gauge(end, 'flowgate_spool_records') + gauge(end, 'flowgate_kafka_queue_records');
    const sentTotal = WARMUP_RECORDS + sentDuringOutage.records + sentDuringReplay.records;
    // Offsets ever written: the project's broker keeps 1 GiB per partition (log.retention.bytes), less than this run writes.
    const inKafka = (await topicCounts([broker.bootstrap], [topic], 15_000, { written: true }))[topic] ?? 0;
    return {
      outageRate, backlogSeconds, sentDuringOutage, spooledDuringOutage, queuedAtOutageEnd, droppedDuringOutage, outageCpuPct,
      liveRate, sentDuringReplay, brokerStartS,
      reconnectS: drainStart ? (drainStart.t - tUp) / 1000 : null,
      backlog: drainStart?.spooled ?? prev.spooled,
      emptied: emptyAt !== undefined,
      left: spooled,
      // Up to the empty spool, or to the drain timeout (then the rates say how far it got).
      drainS: drainStart ? ((emptyAt ?? lastT) - drainStart.t) / 1000 : null,
      replayedRecords: drainStart ? replayed - drainStart.replayed : 0,
      replayCpuPct,
      dropped: counterDelta(end, before, 'flowgate_records_dropped_total'),
      kernelDrops: counterDelta(end, before, 'flowgate_udp_kernel_drops_total'),
      datagramDrops: counterDelta(end, before, 'flowgate_datagrams_dropped_total'),
      received: counterDelta(end, before, 'flowgate_records_received_total') + WARMUP_RECORDS,
      sentTotal, inKafka, leftAtEnd, spoolPeakBytes,
    };
  } finally {
    live.abort();
    await liveSending?.catch(() => undefined);
    if (gw) await stopGateway(gw);
    await broker.dispose();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = Date.now();
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const args = process.argv.slice(2).join(' ');
  const command = `cd ${root} && npm run build && node dist/bench/spool.bench.js ${args}`.trim();
  const load0 = loadavg();
  const rows: string[][] = [];
  const notes: string[] = [];
  const results: Record<string, unknown> = {};
  let sustained = 0;

  if (phases.has('module')) {
    log(`module: ${opts['module-mib']} MiB through src/spool/spool.ts`);
    const f = moduleRates(Number(opts['module-mib']));
    const what = `${int(f.entries)} entries of ~${fixed(f.bytes / f.entries / MiB, 2)} MiB, ${int(f.records)} records of ${fixed(f.recordBytes)} B framed`;
    rows.push(['spool alone: append, fsync <= 1 s apart', int(f.writeRecordsPerS), fixed(f.writeMbPerS), fixed(f.writeCpuPct), what]);
    rows.push(['spool alone: read back + ack', int(f.readRecordsPerS), fixed(f.readMbPerS), fixed(f.readCpuPct), 'page cache, checksums checked']);
    Object.assign(results, {
      spool_write_records_per_s: Math.round(f.writeRecordsPerS), spool_write_mb_per_s: Math.round(f.writeMbPerS),
      spool_read_ack_records_per_s: Math.round(f.readRecordsPerS), spool_read_ack_mb_per_s: Math.round(f.readMbPerS),
      spool_module_records: f.records, spool_module_record_bytes: Math.round(f.recordBytes),
    });
  }

  if (phases.has('overhead')) {
    const broker = opts.bootstrap ? { bootstrap: opts.bootstrap, release: async () => undefined } : await ensureBroker(undefined, log);
    try {
      log(`overhead: ${opts.overhead === 'fixed' ? `both at ${int(Number(opts['fixed-rate']))} records/s` : 'lossless-rate search'} without and with spool.dir, broker ${broker.bootstrap}`);
      const o = opts.overhead === 'fixed' ? await overheadFixed(broker.bootstrap) : await overheadSearch(broker.bootstrap);
      const ratio = o.without > 0 ? o.with / o.without : NaN;
      const label = o.mode === 'search' ? 'highest lossless rate' : `delivered at ${int(Number(opts['fixed-rate']))}/s offered (${seconds} s, mean of 2)`;
      const cpuAt = (w: boolean) => {
        const top = [...o.sameRate].filter((s) => (w ? s.losslessWith : s.losslessWithout)).pop() ?? o.sameRate.at(-1);
        return top ? (w ? top.cpuWith : top.cpuWithout) : NaN;
      };
      rows.push([`live path, no spool: ${label}`, int(o.without), '', fixed(cpuAt(false)), `broker ${broker.bootstrap} healthy`]);
      rows.push([`live path, spool.dir set: ${label}`, int(o.with), '', fixed(cpuAt(true)), `${fixed(ratio, 3)}x the rate without`]);
      notes.push(`overhead measured by ${o.mode === 'search' ? `the lossless-rate search (ladder ${gatewayLadder(opts.full).slice(0, 5).map(int).join(', ')}, ..., ${opts.full ? 2 : 1} bisection(s); its resolution is a rung, not 5 %)` : `a fixed-rate comparison at ${int(Number(opts['fixed-rate']))} records/s, ${seconds} s each, lossless or not`}`);
      notes.push(`gateway CPU (% of one core) at the same offered rate, without / with spool: ${o.sameRate.map((s) => `${int(s.offered)}/s ${fixed(s.cpuWithout)} / ${fixed(s.cpuWith)}${s.losslessWithout && s.losslessWith ? '' : ` (lossless ${s.losslessWithout ? 'yes' : 'no'} / ${s.losslessWith ? 'yes' : 'no'}${s.spooled ? `, ${int(s.spooled)} spooled` : ''})`}`).join('; ')}`);
      if (o.runs) notes.push(`fixed-rate runs (delivered/s, cpu %): ${o.runs.map((r) => `${r.withSpool ? 'spool' : 'none'} ${int(r.deliveredPerS)} ${fixed(r.cpuPct)} %${r.lossless ? '' : ` (dropped ${int(r.dropped)}, spooled ${int(r.spooled)})`}`).join('; ')}`);
      sustained = o.mode === 'search' ? o.without : 0;
      Object.assign(results, {
        spool_overhead_mode: o.mode,
        spool_overhead_without_records_per_s: Math.round(o.without), spool_overhead_with_records_per_s: Math.round(o.with),
        spool_overhead_ratio: Number.isFinite(ratio) ? Number(ratio.toFixed(3)) : null,
        spool_overhead_same_rate_cpu: o.sameRate.map((s) => ({ offered: s.offered, cpu_without: Math.round(s.cpuWithout), cpu_with: Math.round(s.cpuWith), lossless_without: s.losslessWithout, lossless_with: s.losslessWith })),
      });
    } finally {
      await broker.release();
    }
  }

  if (phases.has('outage')) {
    const fromResults = Number(readResults().pipeline_records_per_s) || 0;
    const liveRate = Number(opts['live-rate'] ?? 0) || Math.round((sustained || fromResults || 200_000) / 2);
    const o = await outage(liveRate);
    const spoolRate = o.sentDuringOutage.records / o.sentDuringOutage.seconds;
    const spoolLossless = o.droppedDuringOutage === 0 && o.spooledDuringOutage + o.queuedAtOutageEnd >= o.sentDuringOutage.records;
    const replayRate = o.drainS ? o.replayedRecords / o.drainS : NaN;
    const drainRate = o.drainS ? (o.backlog - o.left) / o.drainS : NaN;
    const liveSent = sentRate({ offered: liveRate, sentRecords: o.sentDuringReplay.records, sentSeconds: o.sentDuringReplay.seconds, deliveredRecords: 0, kernelDrops: 0, drainS: 0 });
    const missing = Math.max(0, o.sentTotal - o.inKafka - o.leftAtEnd);
    rows.push([`gateway, broker down: to the spool (${o.backlogSeconds} s offered at ${int(o.outageRate)}/s)`, int(spoolRate), '', fixed(o.outageCpuPct),
      `${spoolLossless ? 'lossless' : 'NOT lossless'}: ${int(o.spooledDuringOutage)} spooled + ${int(o.queuedAtOutageEnd)} in memory of ${int(o.sentDuringOutage.records)} sent`]);
    rows.push(['gateway, broker back: replay from the spool (gross)', int(replayRate), '', fixed(o.replayCpuPct),
      `${int(o.replayedRecords)} replayed in ${fixed(o.drainS, 1) || 'n/a'} s, live ${int(liveSent)}/s beside it`]);
    rows.push([`gateway, broker back: backlog drained (net of live${drainRate < 0 ? '; < 0: it grew' : ''})`, int(drainRate), '', '',
      `${int(o.backlog)} spooled -> ${o.emptied ? '0' : `${int(o.left)} (NOT emptied in ${opts['drain-timeout']} s)`}; dropped ${int(o.dropped)} records, ${int(o.datagramDrops)} datagrams; received ${int(o.received)}; Kafka holds ${int(o.inKafka)} of ${int(o.sentTotal)} sent${o.leftAtEnd ? `, ${int(o.leftAtEnd)} still in the gateway` : ''}${missing ? ` (${int(missing)} MISSING)` : ''}`]);
    notes.push(`outage: broker (127.0.0.1:${opts['broker-port']}, its own) started again in ${o.brokerStartS.toFixed(1)} s; replay began ${fixed(o.reconnectS, 1) || 'n/a'} s after that; `
      + `spool peak ${fixed(o.spoolPeakBytes / MiB)} MiB; kernel drops ${int(o.kernelDrops)}; duplicates in Kafka ${int(Math.max(0, o.inKafka - o.sentTotal))}`);
    notes.push('replay (gross) counts flowgate_spool_replayed_records_total: while a partition has spooled batches its live batches go behind them, through the spool; '
      + 'drained (net) is the backlog at the start of the replay over the time flowgate_spool_records took to reach 0');
    Object.assign(results, {
      spool_gateway_spooled_records_per_s: Math.round(spoolRate), spool_gateway_spool_lossless: spoolLossless, spool_gateway_outage_cpu_pct: Math.round(o.outageCpuPct),
      spool_backlog_records: o.backlog, spool_backlog_seconds: o.backlogSeconds, spool_outage_rate: o.outageRate,
      spool_replay_records_per_s: Number.isFinite(replayRate) ? Math.round(replayRate) : null,
      spool_drain_records_per_s: Number.isFinite(drainRate) ? Math.round(drainRate) : null,
      spool_drain_s: o.drainS === null ? null : Number(o.drainS.toFixed(1)), spool_drain_emptied: o.emptied,
      spool_replay_live_records_per_s: liveSent, spool_replay_cpu_pct: Math.round(o.replayCpuPct),
      spool_replay_dropped: o.dropped, spool_replay_datagram_drops: o.datagramDrops, spool_replay_kernel_drops: o.kernelDrops, spool_replay_received: o.received,
      spool_replay_sent: o.sentTotal, spool_replay_in_kafka: o.inKafka, spool_replay_left_in_gateway: o.leftAtEnd, spool_replay_missing: missing,
    });
  }

  const took = Math.round((Date.now() - t0) / 1000);
  Object.assign(results, { spool_bench_command: `node dist/bench/spool.bench.js ${args}`.trim(), spool_bench_seconds: took });
  mergeResults(results);
  out('');
  out(`FlowGate disk spool, ${new Date(t0).toISOString()}, ${cpus().length} x ${cpus()[0]?.model.trim() ?? '?'}, node ${process.version}; `
    + `load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  out(`load: bench/loadgen IPFIX, 16 exporters, ${rpp} records/datagram, one record per Kafka message, acks=-1, one worker`);
  out('');
  out(renderTable(['measure', 'records/s', 'MiB/s', 'CPU %', 'details'], rows, ['left', 'right', 'right', 'right', 'left']));
  out('');
  for (const n of notes) out(`- ${n}`);
  out('- CPU % is of one core: the gateway process (all threads), or this process for "spool alone"');
  out(`took ${took} s; figures merged into bench/results.json (spool_*)`);
  out(`reproduce: ${command}`);
}

await main();
