// bench/ts-decoder.ts, the baseline of the "wasm vs TS" decode figure, does the wasm decoder's
// job on the corpus: the same JSON lines byte for byte, the same return value per datagram and
// the same records in the index (end offsets and flow hashes, each read through its decoder's
// own RecordIndex layout). Runs in `npm test` so the baseline cannot drift from the decoder.
//
// Pass 1 decodes every capture on fresh decoders, as `flowgate decode` would. The
// out-of-order capture cannot agree there (the TS decoder does not hold data sets that
// arrive before their template), so it is only checked to differ by exactly those records.
// Pass 2 decodes every capture again on the same decoders, templates known: what
// bench/decode.bench.ts measures; there every capture, the out-of-order one included, must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, recordFields, type RecordIndex } from '../../src/decoder/wasm.js';
import { TsDecoder } from '../../bench/ts-decoder.js';
import { loadCorpus, type CorpusCapture } from '../../bench/corpus-packets.js';

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

/** Record k's [end offset, flow hash] through `index`'s layout. */
function entry(index: RecordIndex, k: number): [number, number] {
  return [index.entries[k * index.stride + index.endAt]!, index.entries[k * index.stride + index.hashAt]!];
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
      return;
    }
    for (let k = 0; k < a; k++) {
      const [wasmEnd, wasmHash] = entry(wasm.index, k);
      const [tsEnd, tsHash] = entry(ts.index, k);
      if (wasmEnd !== tsEnd || wasmHash !== tsHash) {
        datagramDiff = `datagram ${i + 1} record ${k}: wasm [end ${wasmEnd}, hash ${wasmHash}], ts [end ${tsEnd}, hash ${tsHash}]`;
        break;
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

test('the TS baseline decoder writes what the wasm decoder writes on the corpus, byte for byte, with the same index', () => {
  const captures = loadCorpus();
  assert.ok(captures.length > 0, 'no corpus captures');
  // The baseline writes the fields it was written for: not the names learnt from options data (softflowd names its interface 0).
  const nameFields = new Set(['in_if_name', 'out_if_name', 'in_vrf', 'out_vrf', 'in_vrf_name', 'out_vrf_name', 'applicationId', 'applicationName']);
  const wasm = new WasmDecoder({ fields: recordFields().filter((f) => !nameFields.has(f)) });
  const ts = new TsDecoder();
  const problems: string[] = [];
  let records = 0;
  for (const pass of [1, 2]) {
    for (const capture of captures) {
      const r = decodeCapture(capture, wasm, ts);
      const where = `pass ${pass}, ${capture.name} (wasm ${r.wasmRecords} records, ts ${r.tsRecords})`;
      if (r.wasm.equals(r.ts) && r.datagramDiff === undefined) {
        records += r.wasmRecords;
      } else if (pass === 1 && NEEDS_HELD_DATA.has(capture.name)) {
        // Only the records sent before their template may be missing, nothing else may differ.
        if (!(r.tsRecords < r.wasmRecords && isSubsequence(r.ts, r.wasm))) problems.push(`${where}: differs beyond the held data`);
      } else {
        const details = [
          ...(r.wasm.equals(r.ts) ? [] : [`first differing ${firstDifference(r.wasm, r.ts)}`]),
          ...(r.datagramDiff === undefined ? [] : [r.datagramDiff]),
        ];
        problems.push(`${where}: ${details.join('\n    ')}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(records > 8000, `only ${records} records compared`);
});
