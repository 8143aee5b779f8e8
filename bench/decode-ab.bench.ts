// Did a change make the decoder slower? This build's WebAssembly decoder against another build's
// (a worktree of an earlier commit, built), on the load generator's packets (what
// bench/pipeline.bench.ts sends), in one process: 1 s rounds alternating between the two, records
// per CPU-second of each round, medians and their ratio. Alternating rounds in one process keep
// the machine's noise (other processes, frequency) out of the ratio far better than two runs.
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci && npm run build)
//   npm run build && node dist/bench/decode-ab.bench.js /tmp/before [--rounds N]
import { parseArgs } from 'node:util';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WasmDecoder } from '../src/decoder/wasm.js';
import { addressBytes } from '../src/net/address.js';
import { buildPool, exporterAddress, Schedule } from './loadgen/ipfix.js';

interface Decoder { decode(payload: Uint8Array, address: Uint8Array, port: number, nowMs: number): number }
type DecoderClass = new () => Decoder;

const { positionals, values } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '10' } } });
if (positionals.length !== 1) {
  console.error('usage: node dist/bench/decode-ab.bench.js OTHER_BUILD_DIR [--rounds N]');
  process.exit(2);
}
const otherDir = path.resolve(positionals[0]!);
const rounds = Number(values.rounds);
const other = (await import(pathToFileURL(path.join(otherDir, 'dist', 'src', 'decoder', 'wasm.js')).href)) as { WasmDecoder: DecoderClass };

const EXPORTERS = 16;
const genMs = Date.UTC(2026, 0, 1);
const pool = buildPool({ recordsPerPacket: [20, 30], ipv6Share: 0.3, seed: 1, poolRecords: 20_000, genMs });
const schedule = new Schedule(pool, EXPORTERS, 20);
const buffer = Buffer.alloc(65536);
const addresses = Array.from({ length: EXPORTERS }, (_, e) => addressBytes(exporterAddress(e)));
const payloads: Buffer[] = [];
const senders: number[] = [];
for (let i = 0, data = 0; data < pool.data.length; i++) {
  const e = i % EXPORTERS;
  const d = schedule.next(e, buffer, genMs)!;
  if (!d.template) data++;
  payloads.push(Buffer.from(buffer.subarray(0, d.length)));
  senders.push(e);
}

function pass(d: Decoder): number {
  let records = 0;
  for (let i = 0; i < payloads.length; i++) {
    const e = senders[i]!;
    const n = d.decode(payloads[i]!, addresses[e]!, 40000 + e, genMs);
    if (n > 0) records += n;
  }
  return records;
}

/** Records per CPU-second of one 1 s round. */
function round(d: Decoder): number {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let records = 0;
  while (performance.now() - t0 < 1000) records += pass(d);
  const used = process.cpuUsage(cpu);
  return records / ((used.user + used.system) / 1e6);
}

const decoders: [string, Decoder][] = [['this build', new WasmDecoder()], [otherDir, new other.WasmDecoder()]];
for (const [, d] of decoders) pass(d); // templates learnt, code warm
const results = decoders.map((): number[] => []);
for (let r = 0; r < rounds; r++) decoders.forEach(([, d], k) => results[k]!.push(round(d)));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const [mine, theirs] = results.map(median) as [number, number];
for (const [k, [name]] of decoders.entries()) {
  console.log(`${name}: median ${(median(results[k]!) / 1e6).toFixed(2)} M records per CPU-second (rounds: ${results[k]!.map((x) => (x / 1e6).toFixed(2)).join(' ')})`);
}
console.log(`this build / other: ${(mine / theirs).toFixed(3)}x (${rounds} rounds of 1 s each, alternating)`);
