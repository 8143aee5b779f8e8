// What each kafka.compression codec costs and saves on this machine:
//   1. codec alone, one thread: real records (every corpus capture decoded by `flowgate decode`,
//      repeated) in record-batch-sized sections (kafka.batch_max_bytes, 1 MiB): MB/s and CPU µs per
//      record to compress, and the ratio (uncompressed / compressed);
//   2. the gateway end to end (pipeline.bench's configuration, 1 worker, acks -1): the lossless rate
//      (the same search) and the gateway's CPU µs per record at one fixed rate, per codec.
// Needs the broker running (node scripts/kafka.js start) for part 2.
//
//   node dist/bench/compression.bench.js [--codecs none,gzip,snappy,lz4,zstd] [--rate 200000] [--seconds 5] [--skip-search] [--bootstrap HOST:PORT]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { capturePath, corpusCaptures } from '../test/support/corpus.js';
import { flowgateBin } from '../test/support/paths.js';
import { compress, compressionNames, type CompressionName } from '../src/kafka/protocol/compression.js';
import { measureVariant } from './lib/variant-step.js';
import { mergeResults } from './lib/results.js';
import { int } from './lib/table.js';

const { values: opts } = parseArgs({
  options: {
    codecs: { type: 'string', default: compressionNames.join(',') },
    rate: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '5' },
    'skip-search': { type: 'boolean', default: false },
    bootstrap: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const codecs = opts.codecs.split(',') as CompressionName[];
const log = (m: string) => process.stderr.write(`${m}\n`);
const SECTION_BYTES = 1 << 20;

/** Real records: every corpus capture decoded as FlowGate writes them to Kafka, one JSON value each. */
function corpusRecords(): Buffer[] {
  const values: Buffer[] = [];
  for (const capture of corpusCaptures) {
    const r = spawnSync(process.execPath, [flowgateBin(), 'decode', capturePath(capture)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`flowgate decode ${capture}: ${r.stderr}`);
    for (const line of r.stdout.split('\n')) if (line) values.push(Buffer.from(line));
  }
  return values;
}

/** Sections of about SECTION_BYTES, cycling through the records. */
function sections(values: Buffer[], count: number): { section: Buffer; records: number }[] {
  const out = [];
  let i = 0;
  for (let s = 0; s < count; s++) {
    const parts: Buffer[] = [];
    let bytes = 0;
    while (bytes < SECTION_BYTES) {
      const v = values[i++ % values.length]!;
      parts.push(v);
      bytes += v.length;
    }
    out.push({ section: Buffer.concat(parts), records: parts.length });
  }
  return out;
}

async function codecAlone(codec: CompressionName, input: { section: Buffer; records: number }[]) {
  if (codec === 'none') return { mbPerS: Infinity, usPerRecord: 0, ratio: 1 };
  await compress(codec, input[0]!.section); // load the codec (and instantiate its WebAssembly)
  let bytesIn = 0, bytesOut = 0, records = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    for (const { section, records: n } of input) {
      bytesOut += (await compress(codec, section)).length;
      bytesIn += section.length;
      records += n;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  return { mbPerS: bytesIn / seconds / 1e6, usPerRecord: (cpu.user + cpu.system) / records, ratio: bytesIn / bytesOut };
}

const values = corpusRecords();
const input = sections(values, 8);
const avg = values.reduce((n, v) => n + v.length, 0) / values.length;
console.log(`compression: ${values.length} real records from ${corpusCaptures.length} captures (${avg.toFixed(0)} B each), sections of ${SECTION_BYTES} B`);
const results: Record<string, unknown> = {};
const rows: string[] = [];
for (const codec of codecs) {
  const alone = await codecAlone(codec, input);
  let lossless = NaN;
  let gatewayUs = NaN;
  if (!opts['skip-search']) {
    ({ lossless, usPerRecord: gatewayUs } = await measureVariant(codec, { brokers: opts.bootstrap, sink: 'kafka', workers: 1, recordsPerMessage: 1, compression: codec },
      { rate: Number(opts.rate), seconds: Number(opts.seconds), adminBrokers: opts.bootstrap, log }));
  }
  results[`compression_${codec}`] = { mb_per_s: alone.mbPerS, us_per_record: alone.usPerRecord, ratio: alone.ratio, lossless, gateway_us_per_record_at_rate: gatewayUs, rate: Number(opts.rate) };
  rows.push(`| ${codec.padEnd(6)} | ${alone.ratio.toFixed(2).padStart(5)} | ${codec === 'none' ? '     -' : alone.mbPerS.toFixed(0).padStart(6)} | ${alone.usPerRecord.toFixed(3).padStart(6)} | ${Number.isNaN(lossless) ? 'n/a' : int(lossless)} | ${Number.isNaN(gatewayUs) ? 'n/a' : gatewayUs.toFixed(2)} |`);
}
console.log(`| codec  | ratio | MB/s   | µs/rec | gateway lossless records/s | gateway CPU µs/record at ${int(Number(opts.rate))}/s |`);
console.log('|:--|--:|--:|--:|--:|--:|');
for (const r of rows) console.log(r);
mergeResults(results);
console.log(`reproduce: npm run build && node dist/bench/compression.bench.js --codecs ${opts.codecs}`);
