// The decoder's record index as every host reader sees it. The decoder writes its records as
// JSON lines and one index entry per record; the entry layout is the module's own
// (assembly/layout.ts RecordIndex, exported, read and checked by src/decoder/abi.ts at load),
// so no reader assumes it. Record k of a decode runs from `start_k` to
// `end_k = entries[k * stride + endAt]` (exclusive: where its "\n" is), its flow hash is
// `entries[k * stride + hashAt]`, its route `entries[k * stride + routeAt]`, and `start_0 = 0`,
// `start_k+1 = end_k + gap`. A route with the `routeOptions` bit set is an options record
// (routing.options_topic): options records come after every data record of a decode, so the data
// records are the first run and optionsRecords() finds where it ends.
//
// Hot loops read the fields into locals once per datagram, e.g.
//   const { entries, stride, endAt, gap } = index;
//   for (let k = 0, start = 0; k < n; k++) { const end = entries[k * stride + endAt]!; ...; start = end + gap; }

export interface RecordIndex {
  /** u32 words, `stride` per record, valid for the records of the last decode. */
  readonly entries: Uint32Array;
  /** Words per record. */
  readonly stride: number;
  /** Word of an entry holding the record's end offset in the output. */
  readonly endAt: number;
  /** Word of an entry holding the record's flow hash. */
  readonly hashAt: number;
  /**
   * Word of an entry saying how to route the record: bit `routeOptions` set = an options record;
   * under the ABI's stated.routeMask, 0 = by the datagram's exporter, n > 0 = by stated exporter
   * n - 1 of WasmDecoder.statedExporters (relays only).
   */
  readonly routeAt: number;
  /** The value of the options bit in the route word (2^31). */
  readonly routeOptions: number;
  /** Bytes from one record's end offset to the next record's start (the newline). */
  readonly gap: number;
}

/** How many of the `n` records of the last decode are options records: the last ones (0 unless routing.options_topic is set). */
export function optionsRecords(index: RecordIndex, n: number): number {
  const { entries, stride, routeAt, routeOptions } = index;
  let k = n;
  while (k > 0 && (entries[(k - 1) * stride + routeAt]! & routeOptions) !== 0) k--;
  return n - k;
}
