// The gateway end to end, against the local broker: UDP in (bench/loadgen, its own process) ->
// records acknowledged by Kafka (acks=-1). Finds the highest offered rate delivered with no
// drops, the rate where drops begin, p50 / p99 receive-to-ack at half that rate, CPU and RSS;
// the same pipeline into the discard sink (what Kafka costs); start-up time; a soak at a rate.
//
//   npm run build && node dist/bench/pipeline.bench.js            quick (ready, kafka, discard)
//   node dist/bench/pipeline.bench.js --full                       finer rate search, 10 s steps, + 10 min soak
//   options: --workers N (1)  --rpp N (records per packet, 25)  --records-per-message 1|datagram
//            --seconds S (per step)  --bootstrap HOST:PORT (use this broker; else find or start one)
//            --only ready,kafka,discard,soak  --from R (start the rate ladder at R records/s)  --soak-seconds S (600 full, 30 quick)  --soak-rate R
//            (records/s; default half the sustained rate found in this run or in bench/results.json)
//
// A step: a fresh gateway and topic, templates first (2,000 records), then the offered rate for
// --seconds, then wait until every received record is delivered or dropped. Lossless and the
// search (a ladder from 50k/s, then bisection) are bench/lib/lossless-search.ts, the same for the
// baselines.
//
// Figures go to stdout and into bench/results.json; with --records-per-message datagram the keys
// are pipeline_datagram_* instead of pipeline_* (and p50_ms / p99_ms are left alone).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ensureBroker } from '../test/support/broker.js';
import { benchTopic, deleteBenchTopics, gatewayConfig, gatewayLadder, runAt, settle, startGateway, stopGateway, summarize, warmGateway, type Run } from './lib/gateway-step.js';
import { runLoadgen } from './lib/loadgen.js';
import { isLossless, searchLosslessRate, sentRate } from './lib/lossless-search.js';
import { cpuSeconds, rssMb } from './lib/proc.js';
import { mergeResults, readResults } from './lib/results.js';
import { int } from './lib/table.js';
import { projectRoot } from '../src/paths.js';

const root = projectRoot();
const { values: opts } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    rpp: { type: 'string', default: '25' },
    'records-per-message': { type: 'string', default: '1' },
    seconds: { type: 'string' },
    bootstrap: { type: 'string' },
    only: { type: 'string' },
    'soak-seconds': { type: 'string' },
    'soak-rate': { type: 'string' },
    from: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write(`usage: node dist/bench/pipeline.bench.js [--full] [--workers N] [--rpp N] [--records-per-message 1|datagram] [--seconds S]
         [--bootstrap HOST:PORT] [--only ready,kafka,discard,soak] [--from R] [--soak-seconds S] [--soak-rate R]
(see the header of bench/pipeline.bench.ts)
`);
  process.exit(0);
}
const seconds = Number(opts.seconds ?? (opts.full ? 10 : 5));
const rpm: 1 | 'datagram' = opts['records-per-message'] === 'datagram' ? 'datagram' : 1;
const workers = Number(opts.workers);
const phases = new Set((opts.only ?? (opts.full ? 'ready,kafka,discard,soak' : 'ready,kafka,discard')).split(','));
const prefix = rpm === 'datagram' ? 'pipeline_datagram_' : 'pipeline_';
const log = (m: string) => process.stderr.write(`${m}\n`);

const config = (brokers: string, sink: 'kafka' | 'discard'): string =>
  gatewayConfig({ brokers, sink, topic: benchTopic(), workers, recordsPerMessage: rpm });

/** One run at an offered rate (records/s): send for `seconds`, wait until everything is accounted for. */
const run = async (brokers: string, sink: 'kafka' | 'discard', offered: number): Promise<Run> => {
  try {
    return await runAt(config(brokers, sink), offered, seconds, opts.rpp);
  } finally {
    await deleteBenchTopics(brokers, log);
  }
};

async function search(brokers: string, sink: 'kafka' | 'discard') {
  const from = Number(opts.from ?? 0);
  const ladder = gatewayLadder(opts.full).filter((r) => r >= from);
  return searchLosslessRate({ ladder, bisections: opts.full ? 2 : 1 }, async (rate) => {
    const r = await run(brokers, sink, rate);
    log(`${sink}${sink === 'kafka' ? ` (records per message ${rpm})` : ''} offered ${int(rate)}/s: sent ${int(sentRate(r))}/s, delivered ${r.deliveredRecords}/${r.sentRecords}, `
      + `dropped ${r.dropped}, datagram drops ${r.datagramDrops}, kernel drops ${r.kernelDrops}, drained ${r.drainS.toFixed(1)} s after the send, cpu ${r.cpuPct.toFixed(0)} %`);
    return r;
  });
}

/** Spawn to listening and connected (broker up), median of 3. */
async function readyTime(brokers: string): Promise<{ median: number; runs: number[] }> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { gw } = await startGateway(gatewayConfig({ brokers, sink: 'kafka', topic: 'bench.ready', workers, recordsPerMessage: rpm }));
    runs.push(gw.readyMs);
    await stopGateway(gw);
  }
  return { median: [...runs].sort((a, b) => a - b)[1]!, runs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

/**
 * Soak: one gateway at `rate` for `soakSeconds`, sampling RSS (all threads) and the main
 * thread's V8 heap (nodejs_heap_size_used_bytes). Growth = median of the last 3 samples minus
 * median of the first 3 after a warm-up of a fifth of the run: what a flat process keeps near 0.
 */
async function soak(brokers: string, rate: number, soakSeconds: number) {
  const { gw, udp, before } = await warmGateway(config(brokers, 'kafka'), opts.rpp);
  try {
    const interval = Math.max(1, Math.min(10, soakSeconds / 15)) * 1000;
    const samples: { t: number; rss: number; heap: number }[] = [];
    const t0 = performance.now();
    const cpu0 = cpuSeconds(gw.pid);
    let done = false;
    const sending = runLoadgen(udp, ['--rate', String(rate), '--duration', String(soakSeconds), '--records-per-packet', opts.rpp])
      .finally(() => (done = true));
    while (!done) {
      await new Promise((r) => setTimeout(r, interval));
      if (done) break;
      const m = await gw.metrics();
      samples.push({ t: (performance.now() - t0) / 1000, rss: rssMb(gw.pid), heap: (m.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20 });
    }
    const sent = await sending;
    const sendEnd = Date.now();
    const { m, lastProgressAt } = await settle(gw);
    const r = summarize(rate, sent, m, before, cpuSeconds(gw.pid) - cpu0, (performance.now() - t0) / 1000, gw.pid, Math.max(0, (lastProgressAt - sendEnd) / 1000));
    const warm = samples.filter((s) => s.t >= soakSeconds / 5);
    const growth = (key: 'rss' | 'heap') => (warm.length >= 2
      ? median(warm.slice(-3).map((s) => s[key])) - median(warm.slice(0, 3).map((s) => s[key])) : NaN);
    return { run: r, samples, rssGrowth: growth('rss'), heapGrowth: growth('heap') };
  } finally {
    await stopGateway(gw);
    await deleteBenchTopics(brokers, log);
  }
}

async function main(): Promise<void> {
  const broker = opts.bootstrap ? { bootstrap: opts.bootstrap, started: false, release: async () => undefined } : await ensureBroker(undefined, log);
  const results: Record<string, unknown> = {};
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const args = process.argv.slice(2).join(' ');
  try {
    const brokers = broker.bootstrap;
    out(`pipeline: workers ${workers}, ${opts.rpp} records/datagram, records per message ${rpm}, ${seconds} s per step, broker ${brokers}`);
    if (phases.has('ready')) {
      const ready = await readyTime(brokers);
      out(`ready after start (broker up): ${ready.median.toFixed(0)} ms (median of ${ready.runs.map((x) => x.toFixed(0)).join(', ')})`);
      Object.assign(results, { ready_ms: Math.round(ready.median), ready_runs_ms: ready.runs.map(Math.round) });
    }
    if (phases.has('kafka')) {
      const s = await search(brokers, 'kafka');
      const half = s.sustained ? await run(brokers, 'kafka', Math.round(sentRate(s.sustained) / 2)) : undefined;
      out(`Kafka acks=-1, highest lossless: ${int(sentRate(s.sustained))} records/s (cpu ${s.sustained?.cpuPct.toFixed(0)} %, rss ${s.sustained?.rssMb.toFixed(0)} MB); `
        + `drops begin at ${s.dropsAt ? `${int(sentRate(s.dropsAt))} records/s` : 'n/a (not reached)'}`);
      if (half) out(`latency at half that rate (${int(sentRate(half))}/s${isLossless(half) ? '' : ', NOT lossless'}): p50 ${half.p50?.toFixed(1)} ms, p99 ${half.p99?.toFixed(1)} ms (receive to ack, per batch, its oldest record)`);
      Object.assign(results, {
        [`${prefix}records_per_s`]: sentRate(s.sustained),
        [`${prefix}records_sent`]: s.sustained?.sentRecords ?? 0,
        [`${prefix}drops_begin_records_per_s`]: s.dropsAt ? sentRate(s.dropsAt) : null,
        [`${prefix}cpu_pct`]: s.sustained ? Math.round(s.sustained.cpuPct) : null,
        [`${prefix}rss_mb`]: s.sustained ? Math.round(s.sustained.rssMb) : null,
        [`${prefix}half_rate_records_per_s`]: half ? sentRate(half) : null,
        [`${prefix}half_rate_lossless`]: half ? isLossless(half) : null,
        [`${prefix}p50_ms`]: half?.p50 ?? null,
        [`${prefix}p99_ms`]: half?.p99 ?? null,
        [`${prefix}steps`]: s.steps.map((r) => ({ offered: r.offered, sent_per_s: sentRate(r), lossless: isLossless(r), drain_s: Number(r.drainS.toFixed(2)), dropped_records: r.dropped, dropped_datagrams: r.datagramDrops, kernel_drops: r.kernelDrops })),
        ...(rpm === 1 ? { p50_ms: half?.p50 ?? null, p99_ms: half?.p99 ?? null } : {}),
      });
    }
    if (phases.has('discard')) {
      const s = await search(brokers, 'discard');
      out(`discard sink, highest lossless: ${int(sentRate(s.sustained))} records/s (cpu ${s.sustained?.cpuPct.toFixed(0)} %, rss ${s.sustained?.rssMb.toFixed(0)} MB); `
        + `drops begin at ${s.dropsAt ? int(sentRate(s.dropsAt)) : 'n/a (the generator\'s ceiling came first)'}`);
      Object.assign(results, {
        noop_sink_records_per_s: sentRate(s.sustained),
        noop_sink_drops_begin_records_per_s: s.dropsAt ? sentRate(s.dropsAt) : null,
        noop_sink_cpu_pct: s.sustained ? Math.round(s.sustained.cpuPct) : null,
        noop_sink_rss_mb: s.sustained ? Math.round(s.sustained.rssMb) : null,
      });
    }
    if (phases.has('soak')) {
      const soakSeconds = Number(opts['soak-seconds'] ?? (opts.full ? 600 : 30));
      const sustained = Number(results[`${prefix}records_per_s`] ?? readResults()[`${prefix}records_per_s`] ?? 0);
      const rate = Number(opts['soak-rate'] ?? Math.round(sustained / 2));
      if (!(rate > 0)) throw new Error('soak: no rate (pass --soak-rate, or run the kafka phase first)');
      const s = await soak(brokers, rate, soakSeconds);
      out(`soak ${soakSeconds} s at ${int(rate)} records/s${isLossless(s.run) ? ' (lossless)' : ` (NOT lossless: ${s.run.deliveredRecords}/${s.run.sentRecords} delivered)`}: `
        + `rss growth ${s.rssGrowth.toFixed(1)} MB, main-thread heap growth ${s.heapGrowth.toFixed(1)} MB, rss at end ${s.run.rssMb.toFixed(0)} MB`);
      out(`  samples (s: rss MB / heap MB): ${s.samples.map((x) => `${x.t.toFixed(0)}: ${x.rss.toFixed(0)}/${x.heap.toFixed(0)}`).join(', ')}`);
      Object.assign(results, {
        soak_rss_growth_mb: Number(s.rssGrowth.toFixed(1)),
        soak_heap_growth_mb: Number(s.heapGrowth.toFixed(1)),
        soak_seconds: soakSeconds,
        soak_records_per_s: sentRate(s.run),
        soak_lossless: isLossless(s.run),
        soak_rss_end_mb: Math.round(s.run.rssMb),
        soak_p99_ms: s.run.p99,
      });
    }
    if (phases.has('kafka')) results[`${prefix}bench_command`] = `node dist/bench/pipeline.bench.js ${args}`.trim();
    mergeResults(results);
    out(`reproduce: cd ${root} && npm run build && node dist/bench/pipeline.bench.js ${args}`);
  } finally {
    await broker.release();
  }
}

await main();
