// A decoder output made from given record texts, for the tests of what reads one (accumulator,
// batch framing, producer, tap forwarder) without running the decoder: the records as JSON
// lines, and a record index that describes itself as the decoder's does (src/decoder/record-index.ts),
// here [end offset, flow hash 0, route 0] per record.
import type { RecordIndex } from '../../src/decoder/record-index.js';

/** `values` as one datagram's decoder output: each record followed by "\n", its end offset in the index. */
export function decoderOutput(values: readonly string[]): { output: Buffer; index: RecordIndex } {
  const entries = new Uint32Array(values.length * 3);
  let end = 0;
  values.forEach((v, i) => {
    end += Buffer.byteLength(v);
    entries[i * 3] = end;
    end += 1;
  });
  return { output: Buffer.from(values.join('\n') + '\n'), index: { entries, stride: 3, endAt: 0, hashAt: 1, routeAt: 2, routeOptions: 2 ** 31, gap: 1 } };
}
