// Crafting export packets as hex in tests: whitespace and "#" comments are ignored, lengths
// of messages and sets are filled in, so each test shows only the bytes that matter.

/** Hex text (spaces, newlines, "# comments" allowed) to bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${clean}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** The parts one after another in one Uint8Array (a number[] part gives its numbers as bytes). */
export function concatBytes(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u16(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function u32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** A set: id, length (filled in), body. */
export function set(id: number, body: string): Uint8Array {
  const b = hex(body);
  return concatBytes(hex(u16(id) + u16(b.length + 4)), b);
}

/** An IPFIX message (RFC 7011 section 3.1) with its length filled in. */
export function ipfix(opts: { exportTime?: number; seq?: number; domain?: number }, ...sets: Uint8Array[]): Uint8Array {
  const body = concatBytes(...sets);
  return concatBytes(hex('000a' + u16(body.length + 16) + u32(opts.exportTime ?? 1700000000) + u32(opts.seq ?? 0) + u32(opts.domain ?? 0)), body);
}

/** A NetFlow v9 packet (RFC 3954 section 5.1). */
export function v9(opts: { uptime: number; unixSecs: number; seq?: number; sourceId?: number; count?: number }, ...sets: Uint8Array[]): Uint8Array {
  return concatBytes(hex('0009' + u16(opts.count ?? sets.length) + u32(opts.uptime) + u32(opts.unixSecs) + u32(opts.seq ?? 0) + u32(opts.sourceId ?? 0)), ...sets);
}

/** 16-byte exporter address: IPv4 text as ::ffff:a.b.c.d, or IPv6 text. */
export function address(text: string): Uint8Array {
  const out = new Uint8Array(16);
  if (text.includes('.')) {
    out[10] = 0xff;
    out[11] = 0xff;
    text.split('.').forEach((o, i) => (out[12 + i] = Number(o)));
    return out;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}
