// What does output by name cost? Records/s of the wasm decoder on the corpus packets with
// decoder.fields all (every information element by name, IANA's and the shipped dictionaries'
// definitions) against the default field set, on the same packets in the same run, one thread,
// rounds alternating between the two so a busy machine slows both alike.
//
//   npm run build && node dist/bench/fields.bench.js [--seconds N] [--rounds N]
//
//   --seconds N   time budget per decoder per round (default 1)
//   --rounds N    rounds, median reported (default 5)
//
// Every datagram of every corpus capture is loaded once; a pass decodes them all in capture
// order on one long-lived decoder of each kind (after a warm-up pass, templates are known and
// every pass decodes the same records). JSON bytes per record are the output's size.
import { parseArgs } from 'node:util';
import { WasmDecoder } from '../src/decoder/wasm.js';
import { loadElementDefinitions } from '../src/decoder/elements/load.js';
import { loadCorpus } from './corpus-packets.js';

const { values: args } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' } } });
const seconds = Number(args.seconds ?? 1);
const rounds = Number(args.rounds ?? 5);
if (!(seconds > 0) || !(Number.isInteger(rounds) && rounds > 0)) {
  process.stderr.write('fields.bench: --seconds must be a positive number and --rounds a positive integer\n');
  process.exit(1);
}

const datagrams = loadCorpus().flatMap((c) => c.datagrams);

interface Run { records: number; bytes: number }

function pass(d: WasmDecoder): Run {
  let records = 0;
  let bytes = 0;
  for (const g of datagrams) {
    const n = d.decode(g.payload, g.address, g.port, g.timeMs);
    if (n > 0) {
      records += n;
      bytes += d.outputLength();
    }
  }
  return { records, bytes };
}

function timed(d: WasmDecoder): { perSec: number; perCpuSec: number; bytesPerRecord: number } {
  const budget = BigInt(Math.round(seconds * 1e9));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let now = t0;
  let records = 0;
  let bytes = 0;
  do {
    const r = pass(d);
    records += r.records;
    bytes += r.bytes;
    now = process.hrtime.bigint();
  } while (now - t0 < budget);
  const cpu = process.cpuUsage(cpu0);
  return { perSec: records / (Number(now - t0) / 1e9), perCpuSec: records / ((cpu.user + cpu.system) / 1e6), bytesPerRecord: bytes / records };
}

const decoders = {
  default: new WasmDecoder(),
  all: new WasmDecoder({ fields: 'all', definitions: loadElementDefinitions() }),
};
for (const d of Object.values(decoders)) for (let i = 0; i < 3; i++) pass(d); // templates, held data, JIT

const results: Record<keyof typeof decoders, number[]> = { default: [], all: [] };
const cpuResults: Record<keyof typeof decoders, number[]> = { default: [], all: [] };
let bytesPerRecord = { default: 0, all: 0 };
for (let r = 0; r < rounds; r++) {
  for (const name of (r % 2 === 0 ? ['default', 'all'] : ['all', 'default']) as (keyof typeof decoders)[]) {
    const t = timed(decoders[name]);
    results[name].push(t.perSec);
    cpuResults[name].push(t.perCpuSec);
    bytesPerRecord = { ...bytesPerRecord, [name]: t.bytesPerRecord };
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const base = median(results.default);
const cpuBase = median(cpuResults.default);
const records = pass(decoders.default).records;
process.stdout.write([
  `fields: ${datagrams.length} corpus datagrams, ${records} records per pass, one thread, ${rounds} rounds of ${seconds} s per decoder, median`,
  '',
  'fields        records/s   ratio  records per CPU-s   ratio  JSON bytes/record',
  '-------  -------------  ------  -----------------  ------  -----------------',
  ...(['default', 'all'] as const).map((name) => `${name.padEnd(7)}  ${fmt(median(results[name])).padStart(13)}  ${(median(results[name]) / base).toFixed(2).padStart(5)}x  ` +
    `${fmt(median(cpuResults[name])).padStart(17)}  ${(median(cpuResults[name]) / cpuBase).toFixed(2).padStart(5)}x  ${bytesPerRecord[name].toFixed(0).padStart(17)}`),
  '',
  `rounds, records/s: default ${results.default.map(fmt).join(' / ')}; all ${results.all.map(fmt).join(' / ')}`,
  `reproduce: npm run build && node dist/bench/fields.bench.js --seconds ${seconds} --rounds ${rounds}`,
  '',
].join('\n'));
