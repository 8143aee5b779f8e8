// Structure-aware mutations of real exporters' datagrams, for fuzzing a running gateway
// (bench/fuzz-gateway.bench.ts). Each seed datagram is walked once (message header, sets,
// template records and their field specifiers, data sets); a mutation then aims at one of those
// structures: header fields (version, length or count, sequence, domain), a set's id or length, a
// template's id or field count, a field specifier's element id or length (variable length,
// 65,535, zero, list types RFC 6313), variable-length prefixes inside data, truncation,
// extension, byte flips, and splices of sets from other datagrams. Deterministic for a seed
// (a small xorshift PRNG), so a run that finds something can be replayed.

interface FieldSpec {
  /** Offset of the element id (u16, enterprise bit 0x8000), then its length at +2. */
  at: number;
}

interface TemplateRecord {
  /** Offset of the template id (u16), then the field count at +2. */
  at: number;
  fields: FieldSpec[];
}

interface SetInfo {
  at: number;
  id: number;
  length: number;
  templates: TemplateRecord[];
}

interface Seed {
  bytes: Uint8Array;
  version: number;
  sets: SetInfo[];
}

const be16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;

function walk(bytes: Uint8Array): Seed {
  const version = bytes.length >= 2 ? be16(bytes, 0) : 0;
  const sets: SetInfo[] = [];
  const headerBytes = version === 10 ? 16 : version === 9 ? 20 : 0;
  if (headerBytes === 0) return { bytes, version, sets };
  let p = headerBytes;
  while (p + 4 <= bytes.length) {
    const id = be16(bytes, p);
    const length = be16(bytes, p + 2);
    if (length < 4 || p + length > bytes.length) break;
    const templates: TemplateRecord[] = [];
    const isTemplate = version === 10 ? id === 2 || id === 3 : id === 0 || id === 1;
    if (isTemplate) {
      const header = (version === 10 && id === 3) || (version === 9 && id === 1) ? 6 : 4;
      let q = p + 4;
      while (q + header <= p + length) {
        const count = be16(bytes, q + 2);
        const fields: FieldSpec[] = [];
        let f = q + header;
        const n = version === 9 && id === 1 ? (be16(bytes, q + 2) + be16(bytes, q + 4)) >>> 2 : count;
        for (let i = 0; i < n && f + 4 <= p + length; i++) {
          fields.push({ at: f });
          f += version === 10 && (be16(bytes, f) & 0x8000) !== 0 ? 8 : 4;
        }
        templates.push({ at: q, fields });
        if (count === 0 || f <= q) break;
        q = f;
      }
    }
    sets.push({ at: p, id, length, templates });
    p += length;
  }
  return { bytes, version, sets };
}

/** Values that sit on the edges decoders get wrong. */
const EDGE16 = [0, 1, 2, 3, 4, 5, 255, 256, 257, 0x7fff, 0x8000, 0xfffe, 0xffff];
/** Element ids with special handling: lists (291-293), paddingOctets (210), times, addresses. */
const SPECIAL_IES = [0, 1, 2, 4, 7, 8, 11, 12, 21, 22, 27, 28, 56, 80, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 210, 291, 292, 293, 0x7fff];
const SPECIAL_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 255, 256, 1024, 65534, 65535];

export const MUTATIONS = [
  'version', 'length', 'sequence', 'domain', 'set_id', 'set_length', 'template_id', 'field_count',
  'field_ie', 'field_length', 'varlen_prefix', 'truncate', 'extend', 'flip', 'splice', 'repeat_set',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

export class Mutator {
  readonly #seeds: Seed[];
  #state: number;
  /** How often each mutation was applied (a datagram gets 1 to 3). */
  readonly applied: Record<Mutation, number> = Object.fromEntries(MUTATIONS.map((m) => [m, 0])) as Record<Mutation, number>;

  constructor(datagrams: Uint8Array[], seed: number) {
    this.#seeds = datagrams.map(walk);
    this.#state = seed >>> 0 || 1;
  }

  #rand(): number {
    let x = this.#state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  #below(n: number): number {
    return this.#rand() % n;
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[this.#below(xs.length)]!;
  }

  #u16(b: Uint8Array, at: number, v: number): void {
    if (at + 2 > b.length) return;
    b[at] = (v >>> 8) & 0xff;
    b[at + 1] = v & 0xff;
  }

  #edgeOr16(around: number): number {
    switch (this.#below(3)) {
      case 0: return this.#pick(EDGE16);
      case 1: return (around + this.#below(17) - 8) & 0xffff;
      default: return this.#below(0x10000);
    }
  }

  /** A new mutated datagram: a copy of a seed with 1 to 3 mutations applied. */
  next(): Uint8Array {
    const seed = this.#seeds[this.#below(this.#seeds.length)]!;
    let b: Uint8Array = Uint8Array.from(seed.bytes);
    const count = 1 + this.#below(3);
    for (let i = 0; i < count; i++) b = this.#apply(this.#pick(MUTATIONS), seed, b);
    return b;
  }

  #apply(m: Mutation, seed: Seed, b: Uint8Array): Uint8Array {
    this.applied[m]++;
    const set = seed.sets.length ? seed.sets[this.#below(seed.sets.length)]! : undefined;
    const templates = seed.sets.flatMap((s) => s.templates);
    const template = templates.length ? templates[this.#below(templates.length)]! : undefined;
    switch (m) {
      case 'version': this.#u16(b, 0, this.#pick([0, 1, 5, 7, 8, 9, 10, 11, 0xffff])); return b;
      case 'length': this.#u16(b, 2, this.#edgeOr16(b.length)); return b; // IPFIX length, v9 / v5 count
      case 'sequence': {
        // IPFIX sequence number (8), v9 package sequence (12), v5 flow sequence (16): jumps and resets.
        const at = seed.version === 10 ? 8 : seed.version === 9 ? 12 : 16;
        for (let k = 0; k < 4 && at + k < b.length; k++) b[at + k] = this.#below(256);
        return b;
      }
      case 'domain': {
        // IPFIX observation domain (12), v9 source id (16): new sessions for the same exporter.
        const at = seed.version === 10 ? 12 : seed.version === 9 ? 16 : -1;
        if (at >= 0 && at + 4 <= b.length) for (let k = 0; k < 4; k++) b[at + k] = this.#below(4) === 0 ? this.#below(256) : 0;
        return b;
      }
      case 'set_id': if (set) this.#u16(b, set.at, this.#pick([0, 1, 2, 3, 4, 255, 256, 257, 0xffff, this.#below(0x10000)])); return b;
      case 'set_length': if (set) this.#u16(b, set.at + 2, this.#edgeOr16(set.length)); return b;
      case 'template_id': if (template) this.#u16(b, template.at, this.#pick([0, 2, 3, 255, 256, 257, 0xffff, this.#below(0x10000)])); return b;
      case 'field_count': if (template) this.#u16(b, template.at + 2, this.#pick([0, 1, 2, 255, 256, 1000, 0xffff, this.#below(0x10000)])); return b;
      case 'field_ie': {
        const f = template?.fields.length ? template.fields[this.#below(template.fields.length)] : undefined;
        if (f) this.#u16(b, f.at, this.#pick(SPECIAL_IES) | (this.#below(8) === 0 ? 0x8000 : 0));
        return b;
      }
      case 'field_length': {
        const f = template?.fields.length ? template.fields[this.#below(template.fields.length)] : undefined;
        if (f) this.#u16(b, f.at + 2, this.#pick(SPECIAL_LENGTHS));
        return b;
      }
      case 'varlen_prefix': {
        // A variable-length prefix (RFC 7011 section 7): 255 then a u16, or a short length, anywhere in a data set.
        const data = seed.sets.filter((s) => s.id >= 256);
        const d = data.length ? data[this.#below(data.length)]! : set;
        if (d && d.length > 8) {
          const at = d.at + 4 + this.#below(d.length - 4);
          b[at] = this.#pick([0, 1, 254, 255]);
          if (b[at] === 255) this.#u16(b, at + 1, this.#pick(EDGE16));
        }
        return b;
      }
      case 'truncate': return b.subarray(0, this.#below(b.length + 1));
      case 'extend': {
        const more = new Uint8Array(b.length + 1 + this.#below(64));
        more.set(b);
        for (let k = b.length; k < more.length; k++) more[k] = this.#below(256);
        return more;
      }
      case 'flip': for (let k = 1 + this.#below(8); k > 0 && b.length; k--) b[this.#below(b.length)] ^= 1 << this.#below(8); return b;
      case 'splice': {
        // Another datagram's set after this one's: a data set for a template this exporter never sent, or a second definition.
        const other = this.#seeds[this.#below(this.#seeds.length)]!;
        const s = other.sets.length ? other.sets[this.#below(other.sets.length)]! : undefined;
        if (!s) return b;
        const out = new Uint8Array(b.length + s.length);
        out.set(b);
        out.set(other.bytes.subarray(s.at, s.at + s.length), b.length);
        if (seed.version === 10) this.#u16(out, 2, out.length & 0xffff);
        return out;
      }
      case 'repeat_set': {
        if (!set) return b;
        const times = 2 + this.#below(30);
        const piece = b.subarray(set.at, Math.min(b.length, set.at + set.length));
        if (piece.length === 0) return b; // cut off by an earlier truncation
        const out = new Uint8Array(Math.min(65_000, b.length + piece.length * times));
        out.set(b.subarray(0, Math.min(b.length, out.length)));
        for (let k = b.length; k + piece.length <= out.length; k += piece.length) out.set(piece, k);
        if (seed.version === 10) this.#u16(out, 2, out.length & 0xffff);
        return out;
      }
    }
  }
}
