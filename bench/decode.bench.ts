// Is wasm worth it? Records/s of the wasm decoder (assembly/, through src/decoder/wasm.ts)
// on the corpus packets, against bench/ts-decoder.ts, a plain TypeScript DataView decoder
// writing the same JSON bytes (test/decoder/ts-decoder.test.ts proves they agree), measured in the
// same run, one thread each. A second line does the same on the load generator's packets
// (bench/loadgen/ipfix.ts), what bench/pipeline.bench.ts sends.
//
//   npm run build && node --expose-gc dist/bench/decode.bench.js [--seconds N] [--quick]
//
//   --seconds N   time budget per decoder per round (default 2; 3 rounds, median reported)
//   --quick       0.5 s per decoder per round
//   without --expose-gc the heap growth and allocated columns read n/a (GC counts remain)
//
// Every datagram of every corpus capture is loaded into memory once (payload, exporter
// address and port, capture time). A pass decodes them all, capture by capture in capture
// order, on one long-lived decoder of each kind, so after the warm-up pass templates are
// known and every pass decodes the same records (the out-of-order capture included). The
// corpus holds ~8.5k records, so passes repeat until the time budget is spent. Both decoders
// copy each datagram into their own input buffer and leave their JSON in their output
// buffer; nothing is copied out or sent anywhere.
//
// Load-generator packets: the datagrams one loadgen run would send (Schedule, 16 exporters,
// 20-30 records per packet, 30% IPv6, templates every 20 data packets, seed 1), built once
// with a fixed clock and decoded the same way. Only throughput is measured for them; the
// corpus figures stay the headline (decode_records_per_s, ts_decode_records_per_s).
//
// Heap growth: heapUsed (and rss) after gc() before and after decoding at least 1M records,
// per million records: what stays. Allocated: what is allocated and dropped, as Go's
// b.ReportAllocs() counts it: heapUsed before and after one capture's datagrams, a minor GC
// before each so none runs in between, summed over >= 200k records. GCs: collections V8 ran
// while the 1M records were decoded (counted without --expose-gc too). Records/s are wall
// clock; records per CPU-second are printed as well, because a busy machine moves the first.
// The figures are merged into bench/results.json (git-ignored).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { WasmDecoder } from '../src/decoder/wasm.js';
import { TsDecoder } from './ts-decoder.js';
import { loadCorpus } from './corpus-packets.js';
import { projectRoot } from '../src/paths.js';
import { buildPool, exporterAddress, Schedule } from './loadgen/ipfix.js';
import { addressBytes } from '../src/net/address.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const seconds = args.seconds !== undefined ? Number(args.seconds) : args.quick ? 0.5 : 2;
if (!(seconds > 0)) {
  process.stderr.write(`decode.bench: --seconds must be a positive number, got "${args.seconds}"\n`);
  process.exit(1);
}
const ROUNDS = 3;
const WARMUP_RECORDS = 20_000;
const WARMUP_SECONDS = args.quick ? 0.1 : 0.3;
const MEMORY_RECORDS = 1_000_000;
const ALLOCATION_RECORDS = 200_000;

// ---- The packets, flattened in capture order.

interface Packets {
  payloads: Uint8Array[];
  addresses: Uint8Array[];
  ports: number[];
  times: number[];
}

const captures = loadCorpus();
const corpus: Packets = { payloads: [], addresses: [], ports: [], times: [] };
/** Index of each capture's first datagram, and the end. */
const captureStarts: number[] = [];
for (const c of captures) {
  captureStarts.push(corpus.payloads.length);
  for (const d of c.datagrams) {
    corpus.payloads.push(d.payload);
    corpus.addresses.push(d.address);
    corpus.ports.push(d.port);
    corpus.times.push(d.timeMs);
  }
}
const datagramCount = corpus.payloads.length;
captureStarts.push(datagramCount);

// ---- Load-generator packets: one pass over the pool, exporters in turn, as a run sends them.

const LOADGEN_EXPORTERS = 16;
function loadgenPackets(): Packets {
  const genMs = Date.UTC(2026, 0, 1);
  const pool = buildPool({ recordsPerPacket: [20, 30], ipv6Share: 0.3, seed: 1, poolRecords: 20_000, genMs });
  const schedule = new Schedule(pool, LOADGEN_EXPORTERS, 20);
  const out: Packets = { payloads: [], addresses: [], ports: [], times: [] };
  const buffer = Buffer.alloc(65536);
  const addresses = Array.from({ length: LOADGEN_EXPORTERS }, (_, e) => addressBytes(exporterAddress(e)));
  let data = 0;
  for (let i = 0; data < pool.data.length; i++) {
    const e = i % LOADGEN_EXPORTERS;
    const d = schedule.next(e, buffer, genMs)!;
    if (!d.template) data++;
    out.payloads.push(Buffer.from(buffer.subarray(0, d.length))); // a copy (Buffer#slice is a view), a Buffer like the corpus payloads
    out.addresses.push(addresses[e]!);
    out.ports.push(40000 + e);
    out.times.push(genMs);
  }
  return out;
}
const loadgen = loadgenPackets();

// One function per decoder and packet set, so each decode() call site sees one class and
// one set of arrays (one function shared by both sets allocated 16 B per decode() call,
// which the allocated column then charged to the decoder).
function passWasm(d: WasmDecoder, from = 0, to = datagramCount): number {
  const p = corpus;
  let records = 0;
  for (let i = from; i < to; i++) {
    const n = d.decode(p.payloads[i]!, p.addresses[i]!, p.ports[i]!, p.times[i]!);
    if (n > 0) records += n;
  }
  return records;
}

function passTs(d: TsDecoder, from = 0, to = datagramCount): number {
  const p = corpus;
  let records = 0;
  for (let i = from; i < to; i++) {
    const n = d.decode(p.payloads[i]!, p.addresses[i]!, p.ports[i]!, p.times[i]!);
    if (n > 0) records += n;
  }
  return records;
}

function passLoadgenWasm(d: WasmDecoder): number {
  const p = loadgen;
  let records = 0;
  for (let i = 0; i < p.payloads.length; i++) {
    const n = d.decode(p.payloads[i]!, p.addresses[i]!, p.ports[i]!, p.times[i]!);
    if (n > 0) records += n;
  }
  return records;
}

function passLoadgenTs(d: TsDecoder): number {
  const p = loadgen;
  let records = 0;
  for (let i = 0; i < p.payloads.length; i++) {
    const n = d.decode(p.payloads[i]!, p.addresses[i]!, p.ports[i]!, p.times[i]!);
    if (n > 0) records += n;
  }
  return records;
}

const wasm = new WasmDecoder();
const ts = new TsDecoder();
type Pass = (from?: number, to?: number) => number;
const runWasm: Pass = (from, to) => passWasm(wasm, from, to);
const runTs: Pass = (from, to) => passTs(ts, from, to);
// Separate decoders for the loadgen packets, so neither set's templates or sessions change the other's work.
const loadgenWasm = new WasmDecoder();
const loadgenTs = new TsDecoder();
const runLoadgenWasm: Pass = () => passLoadgenWasm(loadgenWasm);
const runLoadgenTs: Pass = () => passLoadgenTs(loadgenTs);

interface Timed {
  records: number;
  ns: number;
  cpuUs: number;
}

/** Whole passes until `budgetSec` has elapsed. */
function timed(pass: Pass, budgetSec: number): Timed {
  const budget = BigInt(Math.round(budgetSec * 1e9));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let now = t0;
  let records = 0;
  do {
    records += pass();
    now = process.hrtime.bigint();
  } while (now - t0 < budget);
  const cpu = process.cpuUsage(cpu0);
  return { records, ns: Number(now - t0), cpuUs: cpu.user + cpu.system };
}

function warmUp(pass: Pass): void {
  const t0 = performance.now();
  let records = 0;
  while (records < WARMUP_RECORDS || performance.now() - t0 < WARMUP_SECONDS * 1000) {
    const n = pass();
    if (n === 0) {
      process.stderr.write('decode.bench: a pass decoded no records\n');
      process.exit(1);
    }
    records += n;
  }
}

// The first pass defines the templates (and, in the wasm decoder, holds and releases the
// out-of-order capture's early data); from the second on, every pass is the same work.
warmUp(runWasm);
warmUp(runTs);
const recordsPerPass = runWasm();
const tsRecordsPerPass = runTs();
if (recordsPerPass !== tsRecordsPerPass) {
  process.stderr.write(`decode.bench: the decoders disagree on the records per pass (wasm ${recordsPerPass}, ts ${tsRecordsPerPass}); run node --test dist/test/decoder/ts-decoder.test.js\n`);
  process.exit(1);
}

// ---- Throughput: rounds alternate which decoder goes first.

interface Rates {
  wasm: number[];
  ts: number[];
  wasmCpu: number[];
  tsCpu: number[];
}

function throughput(wasmPass: Pass, tsPass: Pass): Rates {
  const rates: Rates = { wasm: [], ts: [], wasmCpu: [], tsCpu: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Array<[Pass, number[], number[]]> = [[wasmPass, rates.wasm, rates.wasmCpu], [tsPass, rates.ts, rates.tsCpu]];
    if (r % 2 === 1) order.reverse();
    for (const [pass, wall, cpu] of order) {
      const t = timed(pass, seconds);
      wall.push(t.records / (t.ns / 1e9));
      cpu.push(t.records / (t.cpuUs / 1e6));
    }
  }
  return rates;
}

const corpusRates = throughput(runWasm, runTs);
const wasmRates = corpusRates.wasm;
const tsRates = corpusRates.ts;
const wasmCpuRates = corpusRates.wasmCpu;
const tsCpuRates = corpusRates.tsCpu;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

// ---- Memory: heap growth and collections over >= 1M records.

const gc = (globalThis as { gc?: (options?: { type: 'major' | 'minor' }) => void }).gc;
const gcEntries: PerformanceEntry[] = [];
const observer = new PerformanceObserver((list) => gcEntries.push(...list.getEntries()));
observer.observe({ entryTypes: ['gc'] });

interface MemoryResult {
  records: number;
  heapPerMillion: number | undefined;
  rssPerMillion: number | undefined;
  gcs: number;
  majorGcs: number;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

async function memory(pass: Pass): Promise<MemoryResult> {
  if (gc) { gc(); gc(); }
  await settle();
  const before = process.memoryUsage();
  const t0 = performance.now();
  let records = 0;
  while (records < MEMORY_RECORDS) records += pass();
  const t1 = performance.now();
  await settle(); // GC entries are delivered asynchronously
  const during = gcEntries.filter((e) => e.startTime >= t0 && e.startTime <= t1);
  // detail.kind: 1 minor (scavenge), 2 major (mark-compact), 4 incremental marking, 8 weak callbacks
  const majorGcs = during.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 2).length;
  let heapPerMillion: number | undefined;
  let rssPerMillion: number | undefined;
  if (gc) {
    gc(); gc();
    const after = process.memoryUsage();
    heapPerMillion = (after.heapUsed - before.heapUsed) / records * 1e6;
    rssPerMillion = (after.rss - before.rss) / records * 1e6;
  }
  return { records, heapPerMillion, rssPerMillion, gcs: during.length, majorGcs };
}

const wasmMemory = await memory(runWasm);
const tsMemory = await memory(runTs);
observer.disconnect();

/** What one heapUsed reading itself allocates (its result object), subtracted from each window. */
function readingCost(): number {
  if (!gc) return 0;
  let least = Infinity;
  for (let i = 0; i < 5; i++) {
    gc({ type: 'minor' });
    const before = process.memoryUsage().heapUsed;
    least = Math.min(least, process.memoryUsage().heapUsed - before);
  }
  return least;
}

/** Bytes allocated on the JS heap per million records, or undefined without --expose-gc. */
function allocated(pass: Pass): number | undefined {
  if (!gc) return undefined;
  const cost = readingCost();
  let bytes = 0;
  let records = 0;
  while (records < ALLOCATION_RECORDS) {
    for (let c = 0; c < captures.length; c++) {
      gc({ type: 'minor' });
      const before = process.memoryUsage().heapUsed;
      const n = pass(captureStarts[c], captureStarts[c + 1]);
      const after = process.memoryUsage().heapUsed;
      bytes += Math.max(0, after - before - cost);
      records += n;
    }
  }
  return bytes / records * 1e6;
}

const wasmAllocated = allocated(runWasm);
const tsAllocated = allocated(runTs);

// ---- Load-generator packets, after the corpus measurements: decoding them first made the
// corpus passes allocate (16 B per decode() call, JS side), which the allocated column
// would have charged to the decoder.

warmUp(runLoadgenWasm);
warmUp(runLoadgenTs);
const loadgenRecordsPerPass = runLoadgenWasm();
if (loadgenRecordsPerPass !== runLoadgenTs()) {
  process.stderr.write('decode.bench: the decoders disagree on the records per pass of the load-generator packets\n');
  process.exit(1);
}
const loadgenRates = throughput(runLoadgenWasm, runLoadgenTs);

// ---- Report.

const wasmRate = median(wasmRates);
const tsRate = median(tsRates);
const ratio = wasmRate / tsRate;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const bytes = (n: number | undefined): string => (n === undefined ? 'n/a (run with --expose-gc)' : `${n >= 0 ? '+' : ''}${int(n)} B`);

const gcs = (m: MemoryResult): string => `${(m.gcs / m.records * 1e6).toFixed(1)} (${m.majorGcs} major)`;
const rows = [
  ['name', 'records/s', 'ns/record', 'ratio vs TS', 'heap growth / 1M records', 'allocated / 1M records', 'GCs / 1M records'],
  ['wasm decoder (AssemblyScript)', int(wasmRate), (1e9 / wasmRate).toFixed(1), `${ratio.toFixed(2)}x`, bytes(wasmMemory.heapPerMillion),
    bytes(wasmAllocated), gcs(wasmMemory)],
  ['TypeScript decoder (DataView)', int(tsRate), (1e9 / tsRate).toFixed(1), '1.00x', bytes(tsMemory.heapPerMillion),
    bytes(tsAllocated), gcs(tsMemory)],
];
const loadgenWasmRate = median(loadgenRates.wasm);
const loadgenTsRate = median(loadgenRates.ts);
const loadgenRatio = loadgenWasmRate / loadgenTsRate;
const loadgenRows = [
  ['wasm decoder, load-generator packets', int(loadgenWasmRate), (1e9 / loadgenWasmRate).toFixed(1), `${loadgenRatio.toFixed(2)}x`, '', '', ''],
  ['TypeScript decoder, load-generator packets', int(loadgenTsRate), (1e9 / loadgenTsRate).toFixed(1), '1.00x', '', '', ''],
];
const widths = rows[0]!.map((_, c) => Math.max(...[...rows, ...loadgenRows].map((row) => row[c]!.length)));
const line = (row: string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');

const cpu = cpus();
const repoRoot = projectRoot();
const script = relative(repoRoot, process.argv[1]!);
const command = `cd ${repoRoot} && npm run build && node ${[...process.execArgv, script, ...process.argv.slice(2)].join(' ')}`;

console.log(`decode: ${captures.length} corpus captures, ${datagramCount} datagrams, ${recordsPerPass} records per pass, one thread`);
console.log(`node ${process.version} (V8 ${process.versions.v8}), ${cpu[0]?.model.trim() ?? 'unknown CPU'} x${cpu.length}`);
console.log(`${ROUNDS} rounds of ${seconds} s per decoder after a warm-up of >= ${int(WARMUP_RECORDS)} records and ${WARMUP_SECONDS} s each; median shown`);
console.log('');
console.log(line(rows[0]!));
console.log(line(widths.map((w) => '-'.repeat(w))));
console.log(line(rows[1]!));
console.log(line(rows[2]!));
console.log(line(loadgenRows[0]!));
console.log(line(loadgenRows[1]!));
console.log('');
const cpuRatio = median(wasmCpuRates) / median(tsCpuRates);
console.log(`rounds, records/s: wasm ${wasmRates.map(int).join(' / ')}; TS ${tsRates.map(int).join(' / ')}`);
console.log(`load-generator packets: ${loadgen.payloads.length} datagrams (${LOADGEN_EXPORTERS} exporters, 20-30 records each, 30% IPv6, templates every 20), ${loadgenRecordsPerPass} records per pass;`);
console.log(`  rounds, records/s: wasm ${loadgenRates.wasm.map(int).join(' / ')}; TS ${loadgenRates.ts.map(int).join(' / ')}`);
console.log(`rounds, records per CPU-second: wasm ${wasmCpuRates.map(int).join(' / ')}; TS ${tsCpuRates.map(int).join(' / ')} (ratio ${cpuRatio.toFixed(2)}x)`);
console.log(`rss growth / 1M records: wasm ${bytes(wasmMemory.rssPerMillion)}, TS ${bytes(tsMemory.rssPerMillion)}; heap growth and GCs over`);
console.log(`${int(wasmMemory.records)} records each. The wasm decoder's memory is one WebAssembly.Memory sized once by init(),`);
console.log('outside the JS heap (in rss from the start).');
console.log('');
console.log(`reproduce: ${command}`);

const resultsPath = join(repoRoot, 'bench', 'results.json');
let results: Record<string, unknown> = {};
if (existsSync(resultsPath)) {
  try {
    results = JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>;
  } catch {
    process.stderr.write(`decode.bench: ${resultsPath} is not JSON; starting it afresh\n`);
  }
}
const round = (n: number | undefined): number | null => (n === undefined ? null : Math.round(n));
Object.assign(results, {
  decode_records_per_s: Math.round(wasmRate),
  ts_decode_records_per_s: Math.round(tsRate),
  decode_heap_growth_bytes_per_million: round(wasmMemory.heapPerMillion),
  ts_decode_heap_growth_bytes_per_million: round(tsMemory.heapPerMillion),
  decode_allocated_bytes_per_million: round(wasmAllocated),
  ts_decode_allocated_bytes_per_million: round(tsAllocated),
  decode_wasm_vs_ts_ratio: Number(ratio.toFixed(2)),
  decode_loadgen_records_per_s: Math.round(loadgenWasmRate),
  ts_decode_loadgen_records_per_s: Math.round(loadgenTsRate),
  decode_loadgen_wasm_vs_ts_ratio: Number(loadgenRatio.toFixed(2)),
  decode_bench_command: command,
});
writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');
console.log(`figures merged into ${relative(process.cwd(), resultsPath) || resultsPath}`);
