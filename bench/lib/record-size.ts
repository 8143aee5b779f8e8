// The mean size of one flow record as FlowGate writes it to Kafka (one JSON object, the value of
// one message in the default mode), for the load generator's packets: what the broker-ceiling
// baseline must send per record to be "the same records". Computed by decoding a pool of the
// generator's datagrams with the project's decoder, in process, so no run is needed.
import { WasmDecoder } from '../../src/decoder/wasm.js';
import { addressBytes } from '../../src/net/address.js';
import { buildPool, exporterAddress, Schedule } from '../loadgen/ipfix.js';

export interface RecordShape {
  recordsPerPacket: [number, number];
  /** The generator's default: 0.3. */
  ipv6Share?: number;
  /** Records to decode (default 20,000). */
  records?: number;
}

/** Mean bytes of JSON per record (without the newline that separates NDJSON records). */
export function meanRecordBytes(shape: RecordShape): number {
  const records = decodedRecords(shape);
  return records.reduce((n, r) => n + r.length, 0) / records.length;
}

/**
 * The JSON records (one Buffer each, no newline) the decoder writes for the generator's pool:
 * the template message, then each data packet once. What a benchmark needs when it builds
 * Kafka batches of realistic records without a gateway (bench/spool.bench.ts).
 */
export function decodedRecords(shape: RecordShape): Buffer[] {
  const genMs = Date.now();
  const pool = buildPool({
    recordsPerPacket: shape.recordsPerPacket, ipv6Share: shape.ipv6Share ?? 0.3, seed: 1,
    poolRecords: shape.records ?? 20_000, genMs,
  });
  const schedule = new Schedule(pool, 1, 0);
  const decoder = new WasmDecoder();
  const from = addressBytes(exporterAddress(0));
  const buf = Buffer.alloc(65536);
  const out: Buffer[] = [];
  for (let i = 0; i <= pool.data.length; i++) {
    const d = schedule.next(0, buf, genMs);
    if (!d) break;
    const n = decoder.decode(buf.subarray(0, d.length), from, 4739, genMs);
    if (n < 0) throw new Error(`record-size: the decoder rejected a generator datagram (status ${-n})`);
    if (d.template) continue;
    // NDJSON: one '\n' after each record.
    const text = Buffer.from(decoder.outputBuffer.subarray(0, decoder.outputLength()));
    let at = 0;
    for (let k = 0; k < n; k++) {
      const nl = text.indexOf(0x0a, at);
      out.push(text.subarray(at, nl));
      at = nl + 1;
    }
  }
  if (!out.length) throw new Error('record-size: no records decoded');
  return out;
}
