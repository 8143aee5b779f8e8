// The gateway end to end, against the local broker: UDP in (bench/loadgen, its own process) ->
// records acknowledged by Kafka (acks=-1). Finds the highest offered rate delivered with no
// drops, the rate where drops begin, p50 / p99 receive-to-ack at half that rate, CPU and RSS;
// the same pipeline into the discard sink (what Kafka costs); start-up time; optionally a soak.
//
//   npm run build && node dist/bench/pipeline.bench.js            quick (a few minutes)
//   node dist/bench/pipeline.bench.js --full                       finer rate search + 10 min soak
//   options: --workers N (1)  --rpp N (records per packet, 25)  --records-per-message 1|datagram
//
// Figures go to stdout as a table and into bench/results.json (pipeline_records_per_s,
// noop_sink_records_per_s, p99_ms, ready_ms, soak_rss_growth_mb, ...).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mergeResults } from './lib/results.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    rpp: { type: 'string', default: '25' },
    'records-per-message': { type: 'string', default: '1' },
    seconds: { type: 'string' },
  },
});
const seconds = Number(opts.seconds ?? (opts.full ? 10 : 5));

interface KafkaScript {
  startKafka(o?: object): Promise<{ bootstrap: string; alreadyRunning: boolean }>;
  stopKafka(o?: object): Promise<unknown>;
}

/** Prometheus text -> "name{labels}" -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function sumOf(m: Map<string, number>, prefix: string): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith(prefix)) n += v;
  return n;
}

/** A quantile from a Prometheus histogram's cumulative buckets (linear within a bucket), in ms. */
function quantileMs(m: Map<string, number>, name: string, q: number): number | null {
  const buckets = [...m].filter(([k]) => k.startsWith(`${name}_bucket{`)).map(([k, v]) => {
    const le = /le="([^"]+)"/.exec(k)![1]!;
    return { le: le === '+Inf' ? Infinity : Number(le), count: v };
  }).sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0, prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe * 1000;
      return (prevLe + ((rank - prevCount) / Math.max(1, b.count - prevCount)) * (b.le - prevLe)) * 1000;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return null;
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (100 Hz)
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

class Gateway {
  readonly child: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'flowgate-bench-'));
  readonly startedAt = performance.now();
  udp = 0;
  http = 0;
  readyMs = NaN;
  #lines: string[] = [];

  constructor(brokers: string, sink: 'kafka' | 'discard', topic: string) {
    const file = join(this.dir, 'config.yaml');
    writeFileSync(file, `listen: { udp: ["127.0.0.1:0"], receive_buffer_bytes: 33554432 }
http: { listen: "127.0.0.1:0" }
workers: ${Number(opts.workers)}
kafka:
  brokers: ["${brokers}"]
  sink: ${sink}
  records_per_message: ${opts['records-per-message'] === 'datagram' ? '"datagram"' : 1}
routing: { default_topic: ${topic} }
log: { level: info }
stats: { log_interval_s: 0 }
`);
    this.child = spawn(process.execPath, [join(root, 'bin', 'flowgate.js'), 'serve', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => this.#lines.push(...c.split('\n')));
  }

  /** Waits for the ready line, then for /readyz 200 (listening and connected to Kafka). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.http && Date.now() < deadline) {
      const line = this.#lines.find((l) => l.includes('"msg":"ready"'));
      if (line) {
        const j = JSON.parse(line) as { udp: string[]; http: number };
        this.udp = Number(j.udp[0]!.split(':').at(-1));
        this.http = j.http;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    if (!this.http) throw new Error(`gateway not ready: ${this.#lines.slice(-10).join('\n')}`);
    while (Date.now() < deadline) {
      const r = await fetch(`http://127.0.0.1:${this.http}/readyz`).catch(() => undefined);
      if (r?.status === 200) {
        this.readyMs = performance.now() - this.startedAt;
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('gateway never became ready (Kafka connected)');
  }

  async metrics(): Promise<Map<string, number>> {
    return parseMetrics(await (await fetch(`http://127.0.0.1:${this.http}/metrics`)).text());
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await new Promise((r) => this.child.once('exit', r));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Sent { records: number; datagrams: number; seconds: number }

function loadgen(port: number, args: string[]): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'bench', 'loadgen', 'main.js'), '--target', `127.0.0.1:${port}`, '--json', ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`loadgen exited ${code}: ${out}`));
      else resolve(JSON.parse(last) as Sent);
    });
  });
}

/**
 * Waits until the received count has stopped moving for a second (datagrams lost on the way
 * never arrive) and every record received is delivered or dropped; returns the metrics then.
 */
async function settle(gw: Gateway, timeoutMs = 60_000): Promise<Map<string, number>> {
  let m = await gw.metrics();
  let lastReceived = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const received = m.get('flowgate_records_received_total') ?? 0;
    if (received !== lastReceived) {
      lastReceived = received;
      stableSince = Date.now();
    }
    const settled = sumOf(m, 'flowgate_records_delivered_total{') + sumOf(m, 'flowgate_records_dropped_total{') >= received;
    if (settled && Date.now() - stableSince >= 1000) break;
    await new Promise((r) => setTimeout(r, 100));
    m = await gw.metrics();
  }
  return m;
}

interface Run {
  offered: number;
  sent: Sent;
  received: number;
  delivered: number;
  dropped: number;
  datagramDrops: number;
  kernelDrops: number;
  deliveredPerS: number;
  p50: number | null;
  p99: number | null;
  cpuPct: number;
  rssMb: number;
}

/** One run at an offered rate (records/s): send for `seconds`, wait until everything is accounted for. */
async function run(brokers: string, sink: 'kafka' | 'discard', offered: number | 'max'): Promise<Run> {
  const gw = new Gateway(brokers, sink, `bench.${Date.now().toString(36)}`);
  try {
    await gw.ready();
    const pid = gw.child.pid!;
    // Templates first, so the run measures records, not template learning.
    await loadgen(gw.udp, ['--records', '2000', '--rate', '20000', '--records-per-packet', opts.rpp]);
    const before = await settle(gw);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const sent = await loadgen(gw.udp, [...(offered === 'max' ? ['--max'] : ['--rate', String(offered)]), '--duration', String(seconds), '--records-per-packet', opts.rpp]);
    const m = await settle(gw);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const delivered = sumOf(m, 'flowgate_records_delivered_total{') - sumOf(before, 'flowgate_records_delivered_total{');
    const result: Run = {
      offered: offered === 'max' ? sent.records / sent.seconds : offered,
      sent,
      received: (m.get('flowgate_records_received_total') ?? 0) - (before.get('flowgate_records_received_total') ?? 0),
      delivered,
      dropped: sumOf(m, 'flowgate_records_dropped_total{') - sumOf(before, 'flowgate_records_dropped_total{'),
      datagramDrops: sumOf(m, 'flowgate_datagrams_dropped_total{') - sumOf(before, 'flowgate_datagrams_dropped_total{'),
      kernelDrops: sumOf(m, 'flowgate_udp_kernel_drops_total{') - sumOf(before, 'flowgate_udp_kernel_drops_total{'),
      deliveredPerS: delivered / elapsed,
      p50: quantileMs(m, 'flowgate_kafka_produce_latency_seconds', 0.5),
      p99: quantileMs(m, 'flowgate_kafka_produce_latency_seconds', 0.99),
      cpuPct: (cpu / elapsed) * 100,
      rssMb: rssMb(pid),
    };
    return result;
  } finally {
    await gw.stop();
  }
}

function lossless(r: Run): boolean {
  return r.dropped === 0 && r.datagramDrops === 0 && r.kernelDrops === 0 && r.delivered === r.sent.records;
}

async function search(brokers: string, sink: 'kafka' | 'discard'): Promise<{ sustained: Run | undefined; dropsAt: Run | undefined; runs: Run[] }> {
  const rates = opts.full ? [50e3, 100e3, 150e3, 200e3, 300e3, 400e3, 600e3, 800e3, 1.2e6] : [50e3, 100e3, 200e3, 400e3, 800e3];
  const runs: Run[] = [];
  let sustained: Run | undefined;
  for (const rate of rates) {
    const r = await run(brokers, sink, rate);
    runs.push(r);
    process.stderr.write(`${sink} offered ${rate}/s: sent ${r.sent.records} (${Math.round(r.sent.records / r.sent.seconds)}/s), delivered ${r.delivered}, dropped ${r.dropped}, datagram drops ${r.datagramDrops}, kernel drops ${r.kernelDrops}, cpu ${r.cpuPct.toFixed(0)}%\n`);
    // The generator may not reach the rate: what it actually sent is what was offered.
    if (!lossless(r)) return { sustained, dropsAt: r, runs };
    sustained = r;
    if (r.sent.records / r.sent.seconds < rate * 0.9) break; // the generator's own ceiling
  }
  return { sustained, dropsAt: undefined, runs };
}

async function main(): Promise<void> {
  const kafka = (await import(new URL('../../scripts/kafka.js', import.meta.url).href)) as KafkaScript;
  const broker = await kafka.startKafka({ log: () => undefined });
  try {
    const brokers = broker.bootstrap;
    // Start-up: spawn to listening and connected (broker up).
    const readies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const gw = new Gateway(brokers, 'kafka', 'bench.ready');
      await gw.ready();
      readies.push(gw.readyMs);
      await gw.stop();
    }
    readies.sort((a, b) => a - b);
    const readyMs = readies[1]!;

    const kafkaSearch = await search(brokers, 'kafka');
    const noop = await search(brokers, 'discard');
    const sustained = kafkaSearch.sustained;
    const half = sustained ? await run(brokers, 'kafka', Math.round(sustained.offered / 2)) : undefined;
    const rate = (r: Run | undefined) => (r ? Math.round(r.sent.records / r.sent.seconds) : 0);
    const rows = [
      ['pipeline, Kafka acks=-1 (highest lossless)', rate(sustained), sustained?.cpuPct, sustained?.rssMb],
      ['  drops begin at', kafkaSearch.dropsAt ? rate(kafkaSearch.dropsAt) : null, kafkaSearch.dropsAt?.cpuPct, kafkaSearch.dropsAt?.rssMb],
      ['pipeline, discard sink (highest lossless)', rate(noop.sustained), noop.sustained?.cpuPct, noop.sustained?.rssMb],
    ] as const;
    process.stdout.write(`\npipeline: workers ${opts.workers}, ${opts.rpp} records/datagram, records per message ${opts['records-per-message']}, ${seconds} s per step\n`);
    process.stdout.write(`${'name'.padEnd(46)}${'records/s'.padStart(12)}${'cpu %'.padStart(8)}${'rss MB'.padStart(9)}\n`);
    for (const [name, rps, cpu, rss] of rows) {
      process.stdout.write(`${name.padEnd(46)}${(rps === null ? 'n/a' : rps.toLocaleString('en')).padStart(12)}${(cpu === undefined ? '' : cpu.toFixed(0)).padStart(8)}${(rss === undefined ? '' : rss.toFixed(0)).padStart(9)}\n`);
    }
    if (half) process.stdout.write(`latency at half the sustained rate (${rate(half)}/s): p50 ${half.p50?.toFixed(1)} ms, p99 ${half.p99?.toFixed(1)} ms (per batch, its oldest record)\n`);
    process.stdout.write(`ready after start (broker up): ${readyMs.toFixed(0)} ms (median of 3)\n`);
    process.stdout.write(`kafka vs discard sink: ${noop.sustained && sustained ? (rate(sustained) / rate(noop.sustained)).toFixed(2) : 'n/a'}x\n`);
    process.stdout.write(`reproduce: cd ${root} && npm run build && node dist/bench/pipeline.bench.js ${process.argv.slice(2).join(' ')}\n`);
    mergeResults({
      pipeline_records_per_s: rate(sustained),
      pipeline_drops_begin_records_per_s: kafkaSearch.dropsAt ? rate(kafkaSearch.dropsAt) : null,
      noop_sink_records_per_s: rate(noop.sustained),
      p50_ms: half?.p50 ?? null,
      p99_ms: half?.p99 ?? null,
      pipeline_cpu_pct: sustained?.cpuPct ?? null,
      pipeline_rss_mb: sustained?.rssMb ?? null,
      ready_ms: Math.round(readyMs),
      pipeline_bench_command: `node dist/bench/pipeline.bench.js ${process.argv.slice(2).join(' ')}`.trim(),
    });
  } finally {
    if (!broker.alreadyRunning) await kafka.stopKafka({ log: () => undefined });
  }
}

await main();
