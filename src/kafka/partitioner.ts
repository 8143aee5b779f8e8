// Partition choice, compatible with Kafka's Java client (and kafkajs's DefaultPartitioner): a
// keyed record goes to toPositive(murmur2(key)) % partitions, so consumers that rely on the
// key's partition keep working. Written over a byte range so a key needs no Buffer of its own.

/** Kafka's murmur2 (seed 0x9747b28c) of `data[start, start + length)`, as a signed int32. */
export function murmur2(data: Uint8Array, start: number, length: number): number {
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const words = length >> 2;
  for (let i = 0; i < words; i++) {
    const at = start + i * 4;
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The 1-3 trailing bytes, as the Java switch's fall-through does.
  const tail = start + (length & ~3);
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record. */
export function partitionForKey(key: Uint8Array, start: number, length: number, partitions: number): number {
  return (murmur2(key, start, length) & 0x7fffffff) % partitions;
}
