// kafka.format protobuf against json: records/s of the WebAssembly decoder writing goflow2
// FlowMessages (length-prefixed) and writing JSON, on the same corpus packets, one thread, in the
// same run (rounds alternate which goes first; medians), and the bytes each record takes.
//
//   npm run build && node dist/bench/protobuf.bench.js [--seconds 2] [--rounds 5]
import { parseArgs } from 'node:util';
import { WasmDecoder } from '../src/decoder/wasm.js';
import type { RecordFormat } from '../src/decoder/abi.js';
import { loadCorpus } from './corpus-packets.js';
import { mergeResults } from './lib/results.js';
import { int } from './lib/table.js';

const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '5' } } });
const datagrams = loadCorpus().flatMap((c) => c.datagrams);

/** One pass over every datagram: records decoded and bytes of values written (separators excluded). */
function pass(decoder: WasmDecoder): { records: number; bytes: number } {
  let records = 0, bytes = 0;
  for (const d of datagrams) {
    const n = decoder.decode(d.payload, d.address, d.port, d.timeMs);
    if (n > 0) {
      records += n;
      bytes += decoder.outputLength() - n * decoder.index.gap;
    }
  }
  return { records, bytes };
}

function measure(decoder: WasmDecoder): { perSecond: number; perCpuSecond: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let records = 0;
  while (performance.now() - t0 < Number(opts.seconds) * 1000) records += pass(decoder).records;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: records / ((performance.now() - t0) / 1000), perCpuSecond: records / ((cpu.user + cpu.system) / 1e6) };
}

const formats: RecordFormat[] = ['json', 'protobuf'];
const decoders = new Map(formats.map((f) => [f, new WasmDecoder({ recordFormat: f })]));
const sizes = new Map(formats.map((f) => {
  const d = decoders.get(f)!;
  pass(d); // templates learnt
  const { records, bytes } = pass(d);
  return [f, { records, bytesPerRecord: bytes / records }];
}));
const runs = new Map<RecordFormat, number[]>(formats.map((f) => [f, []]));
const cpuRuns = new Map<RecordFormat, number[]>(formats.map((f) => [f, []]));
for (let r = 0; r < Number(opts.rounds); r++) {
  for (const f of r % 2 ? [...formats].reverse() : formats) {
    const m = measure(decoders.get(f)!);
    runs.get(f)!.push(m.perSecond);
    cpuRuns.get(f)!.push(m.perCpuSecond);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const results: Record<string, number> = {};
console.log(`decode + encode, one thread, ${sizes.get('json')!.records} corpus records per pass, ${opts.rounds} rounds of ${opts.seconds} s (medians):`);
for (const f of formats) {
  const s = sizes.get(f)!;
  console.log(`  ${f.padEnd(8)} ${int(median(runs.get(f)!))} records/s (${int(median(cpuRuns.get(f)!))} per CPU-second), ${s.bytesPerRecord.toFixed(1)} bytes per record`);
  results[`format_${f}_records_per_s`] = Math.round(median(runs.get(f)!));
  results[`format_${f}_bytes_per_record`] = Number(s.bytesPerRecord.toFixed(1));
}
console.log(`  protobuf / json: ${(median(runs.get('protobuf')!) / median(runs.get('json')!)).toFixed(2)}x the records/s, ${(sizes.get('protobuf')!.bytesPerRecord / sizes.get('json')!.bytesPerRecord).toFixed(2)}x the bytes`);
mergeResults(results);
