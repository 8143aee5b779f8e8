// The broker's ceiling: Kafka's own producer benchmark (org.apache.kafka.tools.ProducerPerformance, what
// bin/kafka-producer-perf-test.sh runs) from the same Maven Central release as the local broker (4.3.1),
// against a fresh topic. This is what one Java KafkaProducer can push into this broker on this machine,
// with no decoding at all: the upper bound for any gateway that writes through a single producer.
//
//   npx tsc -p tsconfig.json
//   node dist/bench/baselines/producer-perf.js [--bootstrap 127.0.0.1:9092] [--records 1000000]
//        [--record-size 280] [--acks -1] [--topic NAME] [--partitions 1] [--warmup-records N]
//        [--prop key=value ...] [--merge] [--runs N]
//
// --runs N: N runs one after another (fresh topics); the best counts (contention only slows a run).
// --merge: also merge broker_ceiling_* into bench/results.json (the steady-state figures when
// --warmup-records is given). The tool's own output goes to stderr, the JSON to stdout.
//
// Prints one JSON object. Classpath: org.apache.kafka:kafka-tools:<KAFKA_VERSION, 4.3.1> and its runtime
// deps, fetched once with `mvn dependency:copy-dependencies` (tools/kafka/pom-tools.xml) into
// .kafka/tools-lib-<version>/. The broker must already run (node scripts/kafka.js start).
//
// Producer settings: the tool's, i.e. KafkaProducer 4.x defaults (batch.size=16384, linger.ms=5,
// compression.type=none, enable.idempotence=true, max.in.flight.requests.per.connection=5,
// buffer.memory=32 MiB), plus acks as asked (-1 = all). Extra --prop key=value pairs are passed with
// --command-property (the non-deprecated form of --producer-props). JVM flags are those of
// bin/kafka-producer-perf-test.sh + kafka-run-class.sh: -Xmx512M, G1 with MaxGCPauseMillis=20.
//
// Records are random bytes of --record-size (the tool's payload); latencies are per record, send() to
// acknowledgement, measured by the tool. With --throughput -1 the producer is unthrottled, so the
// latency figures are those of a saturated producer (records wait in the 32 MiB buffer), not of a
// lightly loaded one.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import { isMainModule } from '../lib/main-module.js';
import { rssMb } from '../lib/proc.js';
import { mergeResults } from '../lib/results.js';
import { repoRoot } from '../../test/support/paths.js';
import { createFreshTopic, loopbackBrokers, topicMessageCount } from './kafka-util.js';
import { ensureToolsJars, javaBin, kafkaVersion } from '../../test/support/kafka-tools.js';

export interface BrokerCeilingOptions {
  bootstrap: string;
  records: number;
  recordSize: number;
  /** acks for the producer: '-1' / 'all' (default), '1' or '0'. */
  acks?: string;
  /** Fresh topic name (created before the run, must not exist); default baseline.perf.<random>. */
  topic?: string;
  /** Partitions of the fresh topic (default 1). */
  partitions?: number;
  /** Records excluded from the steady-state line (--warmup-records); the main figures include all. */
  warmupRecords?: number;
  /** Extra producer properties (linger.ms, batch.size, compression.type, ...). */
  producerProps?: Record<string, string>;
  /** Java heap for the tool (default -Xmx512M, as bin/kafka-producer-perf-test.sh). */
  heap?: string;
  timeoutMs?: number;
}

export interface PerfSummary {
  records: number;
  records_per_s: number;
  mb_per_s: number;
  avg_latency_ms: number;
  max_latency_ms: number;
  p50_ms?: number;
  p95_ms?: number;
  p99_ms?: number;
  p999_ms?: number;
}

export interface BrokerCeilingResult extends PerfSummary {
  raw: string;
  /** Present when warmupRecords > 0: the tool's "steady state" line. */
  steady_state?: PerfSummary;
  topic: string;
  records_in_topic: number;
  kafka_version: string;
  producer_props: Record<string, string>;
  command: string;
  /** Highest resident set size of the JVM seen while it ran (sampled every 200 ms), MB. */
  peak_rss_mb: number | null;
}

const NUM = String.raw`(-?[\d.]+(?:[eE][-+]?\d+)?)`;
// "1000000 records sent, 123456.7 records/sec (32.97 MB/sec), 612.3 ms avg latency, 1020.0 ms max latency,
//  601 ms 50th, 950 ms 95th, 1003 ms 99th, 1015 ms 99.9th."   (ProducerPerformance.Stats.printTotal)
const SUMMARY = new RegExp(
  String.raw`^(\d+) (steady state )?records sent, ${NUM} records/sec \(${NUM} MB/sec\), ${NUM} ms avg latency, ${NUM} ms max latency` +
    String.raw`(?:, ${NUM} ms 50th, ${NUM} ms 95th, ${NUM} ms 99th, ${NUM} ms 99\.9th)?\.?\s*$`,
);

/** Parses the tool's final summary lines (total, and steady state when warm-up was asked for). */
export function parseProducerPerf(stdout: string): { total?: PerfSummary; steady?: PerfSummary } {
  const res: { total?: PerfSummary; steady?: PerfSummary } = {};
  for (const line of stdout.split('\n')) {
    const m = SUMMARY.exec(line.trim());
    if (!m) continue;
    const s: PerfSummary = {
      records: Number(m[1]),
      records_per_s: Number(m[3]),
      mb_per_s: Number(m[4]),
      avg_latency_ms: Number(m[5]),
      max_latency_ms: Number(m[6]),
    };
    if (m[7] !== undefined) {
      s.p50_ms = Number(m[7]);
      s.p95_ms = Number(m[8]);
      s.p99_ms = Number(m[9]);
      s.p999_ms = Number(m[10]);
    }
    if (m[2]) res.steady = s;
    else res.total = s; // the last total line wins (progress lines have no "records sent," prefix)
  }
  return res;
}

export async function brokerCeiling(opts: BrokerCeilingOptions): Promise<BrokerCeilingResult> {
  loopbackBrokers(opts.bootstrap);
  if (!(opts.records > 0) || !(opts.recordSize > 0)) throw new Error('records and recordSize must be > 0');
  const version = kafkaVersion();
  const libDir = ensureToolsJars(version);
  const topic = opts.topic ?? `baseline.perf.${randomBytes(4).toString('hex')}`;
  await createFreshTopic(opts.bootstrap, topic, { partitions: opts.partitions ?? 1 });

  const acks = opts.acks ?? '-1';
  const props: Record<string, string> = { acks, ...(opts.producerProps ?? {}) };
  const log4j = path.join(repoRoot, 'tools', 'kafka', 'log4j2.properties');
  const tmpDir = path.join(repoRoot, '.kafka', 'run', 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });
  const args = [
    opts.heap ?? '-Xmx512M',
    '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15', '-Djava.awt.headless=true',
    `-Djava.io.tmpdir=${tmpDir}`,
    `-Dlog4j2.configurationFile=${log4j}`, '-Dflowgate.kafka.log.level=WARN',
    '-cp', path.join(libDir, '*'),
    'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server', opts.bootstrap,
    '--topic', topic,
    '--num-records', String(opts.records),
    '--record-size', String(opts.recordSize),
    '--throughput', '-1',
    ...(opts.warmupRecords ? ['--warmup-records', String(opts.warmupRecords)] : []),
    '--command-property', ...Object.entries(props).map(([k, v]) => `${k}=${v}`),
  ];
  const command = `${javaBin()} ${args.map((a) => (/[\s*]/.test(a) ? `'${a}'` : a)).join(' ')}`;

  let peakRss: number | null = null;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(javaBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const sampler = setInterval(() => {
      const rss = child.pid ? rssMb(child.pid) : NaN;
      if (Number.isFinite(rss)) peakRss = Math.max(peakRss ?? 0, rss);
    }, 200);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(sampler);
      reject(e);
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ code: c, stdout: out, stderr: err });
    });
  });
  const raw = stdout + (stderr ? `\n[stderr]\n${stderr}` : '');
  const parsed = parseProducerPerf(stdout);
  if (code !== 0 || !parsed.total) {
    throw new Error(`ProducerPerformance failed (exit ${code}); output:\n${raw.slice(-4000)}`);
  }
  const inTopic = await topicMessageCount(opts.bootstrap, topic);
  return {
    ...parsed.total,
    ...(parsed.steady ? { steady_state: parsed.steady } : {}),
    raw,
    topic,
    records_in_topic: inTopic,
    kafka_version: version,
    producer_props: props,
    command,
    peak_rss_mb: peakRss === null ? null : Math.round(peakRss),
  };
}

// ---------------------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv: string[]): BrokerCeilingOptions & { merge: boolean; runs: number } {
  const o: BrokerCeilingOptions & { merge: boolean; runs: number } = { merge: false, runs: 1, bootstrap: '127.0.0.1:9092', records: 1_000_000, recordSize: 280, acks: '-1' };
  const props: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--help':
        process.stdout.write('usage: node dist/bench/baselines/producer-perf.js [--bootstrap 127.0.0.1:9092] [--records N] [--record-size B] [--acks -1]\n'
          + '       [--topic NAME] [--partitions N] [--warmup-records N] [--prop key=value ...] [--heap -XmxNM] [--merge] [--runs N]\n');
        process.exit(0);
      case '--bootstrap': o.bootstrap = v(); break;
      case '--records': o.records = Number(v()); break;
      case '--record-size': o.recordSize = Number(v()); break;
      case '--acks': o.acks = v(); break;
      case '--topic': o.topic = v(); break;
      case '--partitions': o.partitions = Number(v()); break;
      case '--warmup-records': o.warmupRecords = Number(v()); break;
      case '--heap': o.heap = v(); break;
      case '--merge': o.merge = true; break;
      case '--runs': o.runs = Math.max(1, Number(v())); break;
      case '--prop': {
        const kv = v();
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new Error(`--prop wants key=value, got ${kv}`);
        props[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (Object.keys(props).length) o.producerProps = props;
  return o;
}

/**
 * The figures bench/results.json keeps. With warm-up records the steady-state line is the one
 * that covers the asked-for records (the JVM's JIT warm-up excluded, as the gateway's is).
 */
export function ceilingResults(r: BrokerCeilingResult): Record<string, unknown> {
  const s = r.steady_state ?? r;
  return {
    broker_ceiling_records_per_s: Math.round(s.records_per_s),
    broker_ceiling_records: s.records,
    broker_ceiling_warmup_records: r.steady_state ? r.records - r.steady_state.records : 0,
    broker_ceiling_mb_per_s: s.mb_per_s,
    broker_ceiling_p50_ms: s.p50_ms ?? null,
    broker_ceiling_p99_ms: s.p99_ms ?? null,
    broker_ceiling_rss_mb: r.peak_rss_mb,
    broker_ceiling_records_in_topic: r.records_in_topic,
    broker_ceiling_producer_props: r.producer_props,
    broker_ceiling_command: r.command,
  };
}

if (isMainModule(import.meta.url)) {
  const o = parseArgs(process.argv.slice(2));
  // Other work on the cores only ever slows a run down: the best of several is the ceiling.
  const runs = async () => {
    const all: BrokerCeilingResult[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await brokerCeiling({ ...o, topic: o.topic && o.runs > 1 ? `${o.topic}.${i}` : o.topic });
      const { raw, ...rest } = r;
      process.stderr.write(`${raw.trim()}\n`);
      process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
      all.push(r);
    }
    const rate = (r: BrokerCeilingResult) => (r.steady_state ?? r).records_per_s;
    const best = all.reduce((a, b) => (rate(b) > rate(a) ? b : a));
    if (o.merge) mergeResults({ ...ceilingResults(best), broker_ceiling_runs_records_per_s: all.map((r) => Math.round(rate(r))) });
  };
  runs().then(
    () => undefined,
    (err: Error) => {
      process.stderr.write(`producer-perf: ${err.message}\n`);
      process.exit(1);
    },
  );
}
