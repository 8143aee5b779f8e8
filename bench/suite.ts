// The benchmark suite behind `npm run bench`: every benchmark and baseline in one run, against
// the same local broker, then one table with the ratios and bench/results.json.
//
//   npm run build && npm run bench                       quick (a few minutes on 2 cores)
//   npm run bench -- --full                              10 s steps, finer searches, 10 min soak
//   npm run bench -- --lock /tmp/flowgate-bench.lock     take this flock(1) lock around each step
//                                                         (machines shared with other benchmarks)
//   npm run bench -- --skip nfacctd,soak                 leave steps out (names below)
//
// Steps, each a process of its own (so one's heap, JIT and threads do not colour the next):
//   decode     dist/bench/decode.bench.js: wasm decoder vs the TypeScript decoder, corpus packets
//   receive    dist/bench/receive.bench.js: datagrams/s one process takes without kernel drops
//   pipeline   dist/bench/pipeline.bench.js --only ready,kafka: start-up time; lossless rate,
//              drops, p50/p99 at half rate, CPU, RSS, one record per Kafka message (the default)
//   datagram   the same with records_per_message: datagram (NDJSON, one message per datagram)
//   discard    the same pipeline into kafka.sink: discard (what Kafka costs)
//   ceiling    Kafka's ProducerPerformance (bench/baselines/producer-perf.ts): as many records as
//              the pipeline's sustained step sent, of the mean size of its JSON records, acks=-1
//              (after warm-up records, as the gateway gets its own warm-up); best of 2 (3 full);
//              batch.size 1 MiB and linger.ms 5, as FlowGate batches
//   nfacctd    pmacct's nfacctd + Kafka plugin (bench/baselines/nfacctd.ts), the same load
//              generator packets, the same lossless rate search
//   soak       the pipeline at half its sustained rate (30 s quick, 600 s full): RSS, heap
//   spool      dist/bench/spool.bench.js: the disk spool alone (append, read + ack), the lossless
//              rate with and without spool.dir, a 60 s backlog spooled with a broker of its own
//              stopped and replayed beside live traffic at half the sustained rate its search found
//   scale      dist/bench/scale.bench.js: the scale-out roles (role all vs receive + 1 or 2 decoders):
//              lossless rate each, CPU µs and broker bytes per record at one rate (the raw hop's
//              cost), a fresh decoder's start to its first record with templates from the template
//              topic, the pause while a second decoder joins the group
//   tap        dist/bench/tap-load.bench.js: the pipeline at half its sustained rate without and with
//              32 live tap clients connected: records delivered with / without (does the tap slow ingest?)
//   edge-spoof      dist/bench/edge-spoof.bench.js: a flood from forged sources in 127.0.0.0/8 beside five
//                   tenant-owned real exporters (quick: 10,000 sources, full: 100,000; needs root)
//   edge-templates  dist/bench/edge-templates.bench.js: forged exporters' templates (quick 1,000 x 64, full
//                   10,000 x 256, plus malformed ones) beside a real exporter at a fixed rate (needs root)
//   edge-noisy      dist/bench/edge-noisy.bench.js: an exporter at 10x its neighbours' rate on their worker,
//                   with and without admission.rate_limit
//
// The broker: the one answering on 127.0.0.1:9092, else the project's (scripts/kafka.js), stopped
// at the end only if this run started it. bench/results.json is started afresh for each run (so
// no figure in it comes from another run); a step that fails leaves its keys out, records
// <step>_error, and makes the exit code 1, while the other steps still run.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ensureBroker } from '../test/support/broker.js';
import { meanRecordBytes } from './lib/record-size.js';
import { mergeResults, readResults, resultsPath } from './lib/results.js';
import { SUMMARY_HEADER, summaryNotes, summaryRows } from './lib/summary.js';
import { renderTable } from './lib/table.js';
import { projectRoot } from '../src/paths.js';

const root = projectRoot();
const STEPS = ['decode', 'receive', 'pipeline', 'datagram', 'discard', 'ceiling', 'nfacctd', 'soak', 'spool', 'scale', 'tap', 'edge-spoof', 'edge-templates', 'edge-noisy'] as const;
type Step = (typeof STEPS)[number];

const { values: opts } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    lock: { type: 'string' },
    skip: { type: 'string', default: '' },
    only: { type: 'string' },
    rpp: { type: 'string', default: '25' },
    workers: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write(`usage: npm run bench -- [--full] [--lock FILE] [--skip STEPS] [--only STEPS] [--rpp N] [--workers N]
steps: decode, receive, pipeline, datagram, discard, ceiling, nfacctd, soak, spool, scale, tap, edge-spoof, edge-templates, edge-noisy
(see the header of bench/suite.ts)
`);
  process.exit(0);
}
const full = opts.full;
const chosen = new Set<Step>((opts.only ? opts.only.split(',') : STEPS).filter((s): s is Step => (STEPS as readonly string[]).includes(s)));
for (const s of opts.skip.split(',')) chosen.delete(s as Step);
const rpp = Number(opts.rpp);
const log = (m: string) => process.stderr.write(`[suite] ${m}\n`);

/** Runs one step's process (under flock when --lock); resolves with its exit code. */
function runStep(args: string[]): Promise<number> {
  const [cmd, ...rest] = opts.lock ? ['flock', opts.lock, process.execPath, ...args] : [process.execPath, ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd!, rest, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (err) => {
      log(`cannot run ${cmd}: ${err.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const command = `cd ${root} && npm run build && npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const broker = await ensureBroker(undefined, log);
  let failed = 0;
  try {
    const b = broker.bootstrap;
    writeFileSync(resultsPath, `${JSON.stringify({
      suite_started_at: new Date(t0).toISOString(), suite_mode: full ? 'full' : 'quick', suite_command: command,
      broker: b, machine: `${cpus().length} x ${cpus()[0]?.model.trim() ?? '?'}, node ${process.version}`,
    }, null, 2)}\n`);
    const recordBytes = Math.round(meanRecordBytes({ recordsPerPacket: [rpp, rpp] }));
    mergeResults({ record_bytes: recordBytes });
    const pipe = (extra: string[]) => ['dist/bench/pipeline.bench.js', '--bootstrap', b, '--rpp', String(rpp), '--workers', opts.workers, ...(full ? ['--full'] : []), ...extra];
    const ladder = full ? '25000,50000,100000,150000,200000,300000,400000,600000' : '50000,100000,200000,400000';
    const plan: Record<Step, () => string[]> = {
      decode: () => ['--expose-gc', 'dist/bench/decode.bench.js', ...(full ? [] : ['--quick'])],
      // Quick: 2 s steps, a finer ladder than receive.bench's own --quick (it does not bisect).
      receive: () => ['dist/bench/receive.bench.js', ...(full ? [] : ['--quick', '--rates', '50000,75000,100000,150000,200000'])],
      pipeline: () => pipe(['--only', 'ready,kafka']),
      datagram: () => pipe(['--only', 'kafka', '--records-per-message', 'datagram']),
      discard: () => pipe(['--only', 'discard', '--from', '200000']), // it keeps up with far more than Kafka: skip the low steps
      ceiling: () => {
        // The same records as the pipeline's sustained step (500k if it did not run), after warm-up.
        const records = Number(readResults().pipeline_records_sent) || 500_000;
        const warmup = Math.max(100_000, Math.round(records / 4));
        mergeResults({ broker_ceiling_record_size: recordBytes });
        return ['dist/bench/baselines/producer-perf.js', '--bootstrap', b, '--records', String(records + warmup),
          '--warmup-records', String(warmup), '--record-size', String(recordBytes), '--acks', '-1', '--merge', '--runs', full ? '3' : '2',
          // Batching as FlowGate's defaults (1 MiB batches, 5 ms linger): the tool's own 16 KiB batches
          // measured the client's settings, not the broker (about 4x fewer records/s here).
          '--prop', 'batch.size=1048576', '--prop', 'linger.ms=5', '--prop', 'buffer.memory=67108864'];
      },
      nfacctd: () => ['dist/bench/baselines/nfacctd.js', '--bootstrap', b, '--search', ladder, '--seconds', full ? '10' : '5',
        '--loadgen', `--exporters 16 --records-per-packet ${rpp}`, '--merge'],
      soak: () => {
        const sustained = Number(readResults().pipeline_records_per_s) || 0;
        return pipe(['--only', 'soak', '--soak-seconds', full ? '600' : '30', ...(sustained ? ['--soak-rate', String(Math.round(sustained / 2))] : ['--soak-rate', '25000'])]);
      },
      // Its own no-spool search is the comparison ("the same run, the same search"); its live rate is its own too.
      spool: () => ['dist/bench/spool.bench.js', '--bootstrap', b, '--rpp', String(rpp), ...(full ? ['--full'] : [])],
      scale: () => ['dist/bench/scale.bench.js', '--bootstrap', b, '--rpp', String(rpp), '--workers', opts.workers, full ? '--full' : '--quick'],
      // Half the sustained rate (as the soak): both runs should be lossless, so any shortfall with the tap is the tap's.
      tap: () => {
        const sustained = Number(readResults().pipeline_records_per_s) || 0;
        return ['dist/bench/tap-load.bench.js', '--bootstrap', b, '--rpp', String(rpp), '--workers', opts.workers,
          '--rate', String(sustained ? Math.round(sustained / 2) : 25000), '--seconds', full ? '10' : '5', '--clients', '32'];
      },
      // Full: the issue's sizes (the benches' defaults); quick: their --quick sizes.
      'edge-spoof': () => ['dist/bench/edge-spoof.bench.js', '--bootstrap', b, '--workers', opts.workers, ...(full ? [] : ['--quick'])],
      'edge-templates': () => ['dist/bench/edge-templates.bench.js', '--bootstrap', b, '--workers', opts.workers, ...(full ? [] : ['--quick'])],
      'edge-noisy': () => ['dist/bench/edge-noisy.bench.js', '--bootstrap', b, '--workers', opts.workers, ...(full ? [] : ['--quick'])],
    };
    for (const step of STEPS) {
      if (!chosen.has(step)) continue;
      const args = plan[step]();
      const s0 = Date.now();
      log(`${step}: node ${args.join(' ')}${opts.lock ? ` (under flock ${opts.lock})` : ''}`);
      const code = await runStep(args);
      const took = Math.round((Date.now() - s0) / 1000);
      // nfacctd exits 2 when it cannot be measured (not installed, no Kafka plugin), the floods when they
      // cannot be sent (no raw socket: not root): a figure of n/a, not a failure.
      if (code !== 0 && !((step === 'nfacctd' || step === 'edge-spoof' || step === 'edge-templates') && code === 2)) {
        failed++;
        mergeResults({ [`${step}_error`]: `exit ${code}` });
        log(`${step} FAILED (exit ${code}) after ${took} s`);
      } else log(`${step} done in ${took} s`);
      const r = readResults();
      mergeResults({ suite_step_seconds: { ...((r.suite_step_seconds as Record<string, number> | undefined) ?? {}), [step]: took } });
    }
  } finally {
    await broker.release();
  }
  const r = mergeResults({ suite_seconds: Math.round((Date.now() - t0) / 1000), suite_failed_steps: failed });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('');
  out(`FlowGate benchmark suite (${full ? 'full' : 'quick'}), ${new Date(t0).toISOString()}, ${String(r.machine)}, load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  out(`load: bench/loadgen IPFIX, 16 exporters on 127.0.1.x, ${rpp} records/datagram, 30 % IPv6; ${String(r.record_bytes)} B of JSON per record; broker ${String(r.broker)} on this machine`);
  out('');
  out(renderTable(SUMMARY_HEADER, summaryRows(r)));
  out('');
  for (const n of summaryNotes(r)) out(`- ${n}`);
  out('');
  out(`records/s = the highest offered rate delivered with no record lost anywhere (sent by the generator per second), except the broker ceiling (ProducerPerformance's`);
  out(`records/s over the same record count, unthrottled) and decode (one thread, corpus packets). Figures, not pass/fail: this machine is shared and noisy.`);
  out(`took ${String(r.suite_seconds)} s${failed ? `; ${failed} step(s) FAILED (see *_error in ${resultsPath})` : ''}; figures in ${resultsPath}`);
  out(`reproduce: ${command}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
