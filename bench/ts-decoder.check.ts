// Checks that bench/ts-decoder.ts does the wasm decoder's job on the corpus: the same JSON
// lines byte for byte, the same record counts per datagram and the same record index (end
// offsets and flow hashes). Exits 1 on a difference and prints the first differing line.
//
//   npm run build && node dist/bench/ts-decoder.check.js
//
// Pass 1 decodes every capture on fresh decoders, as `flowgate decode` would. The
// out-of-order capture cannot agree there (the TS decoder does not hold data sets that
// arrive before their template), so it is only checked to differ by exactly those records.
// Pass 2 decodes every capture again on the same decoders, templates known: what
// bench/decode.bench.ts measures; there every capture, the out-of-order one included, must agree.
import { WasmDecoder } from '../src/decoder/wasm.js';
import { TsDecoder } from './ts-decoder.js';
import { loadCorpus, type CorpusCapture } from './corpus-packets.js';

/** Captures whose first pass needs data held until its template arrives. */
const NEEDS_HELD_DATA = new Set(['ooo_softflowd_v9_mixed']);

interface PassResult {
  wasm: Buffer;
  ts: Buffer;
  wasmRecords: number;
  tsRecords: number;
  /** First datagram whose return value or index differs, as text. */
  datagramDiff: string | undefined;
}

function decodeCapture(capture: CorpusCapture, wasm: WasmDecoder, ts: TsDecoder): PassResult {
  const wasmChunks: Buffer[] = [];
  const tsChunks: Buffer[] = [];
  let wasmRecords = 0, tsRecords = 0;
  let datagramDiff: string | undefined;
  capture.datagrams.forEach((d, i) => {
    const a = wasm.decode(d.payload, d.address, d.port, d.timeMs);
    const b = ts.decode(d.payload, d.address, d.port, d.timeMs);
    if (a > 0) {
      wasmRecords += a;
      wasmChunks.push(Buffer.from(wasm.output.subarray(0, wasm.outputLength())));
    }
    if (b > 0) {
      tsRecords += b;
      tsChunks.push(Buffer.from(ts.output.subarray(0, ts.outputLength())));
    }
    if (datagramDiff !== undefined) return;
    if (a !== b) {
      datagramDiff = `datagram ${i + 1}: wasm returned ${a}, ts ${b}`;
    } else {
      for (let r = 0; r < a * 2; r++) {
        if (wasm.index[r] !== ts.index[r]) {
          const what = r % 2 === 0 ? 'end offset' : 'flow hash';
          datagramDiff = `datagram ${i + 1} record ${r >> 1}: ${what} wasm ${wasm.index[r]}, ts ${ts.index[r]}`;
          break;
        }
      }
    }
  });
  return { wasm: Buffer.concat(wasmChunks), ts: Buffer.concat(tsChunks), wasmRecords, tsRecords, datagramDiff };
}

function firstDifference(wasm: Buffer, ts: Buffer): string {
  const a = wasm.toString('utf8').split('\n');
  const b = ts.toString('utf8').split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n    wasm: ${a[i] ?? '(none)'}\n    ts:   ${b[i] ?? '(none)'}`;
  }
  return '(none)';
}

/** Whether every line of `sub` appears in `all` in the same order. */
function isSubsequence(sub: Buffer, all: Buffer): boolean {
  const a = all.toString('utf8').split('\n');
  let j = 0;
  for (const line of sub.toString('utf8').split('\n')) {
    while (j < a.length && a[j] !== line) j++;
    if (j === a.length) return false;
    j++;
  }
  return true;
}

const captures = loadCorpus();
const wasm = new WasmDecoder();
const ts = new TsDecoder();
let failed = false;

for (const pass of [1, 2]) {
  console.log(pass === 1 ? 'pass 1: fresh decoders, capture order' : 'pass 2: same decoders again, templates known (what the benchmark measures)');
  for (const capture of captures) {
    const r = decodeCapture(capture, wasm, ts);
    const same = r.wasm.equals(r.ts) && r.datagramDiff === undefined;
    const label = `  ${capture.name.padEnd(28)} wasm ${String(r.wasmRecords).padStart(5)} records (${r.wasm.length} bytes), ts ${String(r.tsRecords).padStart(5)} records (${r.ts.length} bytes): `;
    if (same) {
      console.log(`${label}identical`);
    } else if (pass === 1 && NEEDS_HELD_DATA.has(capture.name)) {
      const ok = r.tsRecords < r.wasmRecords && isSubsequence(r.ts, r.wasm);
      console.log(`${label}${ok ? `differs as expected: the ${r.wasmRecords - r.tsRecords} records sent before their template are not held` : 'DIFFERENT beyond held data'}`);
      if (!ok) failed = true;
    } else {
      failed = true;
      console.log(`${label}DIFFERENT`);
      if (!r.wasm.equals(r.ts)) console.log(`    first differing ${firstDifference(r.wasm, r.ts)}`);
      if (r.datagramDiff !== undefined) console.log(`    ${r.datagramDiff}`);
    }
  }
}

console.log(failed ? 'FAIL: the TS decoder does not write what the wasm decoder writes' : 'OK: byte-identical output and index');
process.exit(failed ? 1 : 0);
