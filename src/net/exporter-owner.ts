// Which worker owns an exporter: a hash of its 16 address bytes (IPv4 as ::ffff:a.b.c.d).
// One definition for the receiver's dispatch (DecoderPool.workerFor) and for the state files,
// which hand each worker the exporters it will see.

/** The worker, of `workers`, that decodes the exporter whose address is at `offset`. */
export function ownerWorker(address: Uint8Array, offset: number, workers: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ address[offset + i]!, 0x01000193);
  return ((h ^ (h >>> 16)) >>> 0) % workers;
}
