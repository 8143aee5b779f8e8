// The "flow" message key: the decoder's 5-tuple hash as lower-case hex without leading zeros
// (what hash.toString(16) gives), written into one reused buffer instead of a string and a
// Buffer per record.
const HEX = Buffer.from('0123456789abcdef');

export class FlowKeyWriter {
  readonly bytes = Buffer.alloc(8);

  /** Writes the key of `hash` (a uint32) into `bytes`; returns its length. */
  write(hash: number): number {
    let digits = 1;
    while (digits < 8 && hash >>> (digits * 4) !== 0) digits++;
    for (let i = 0; i < digits; i++) this.bytes[i] = HEX[(hash >>> ((digits - 1 - i) * 4)) & 15]!;
    return digits;
  }
}
