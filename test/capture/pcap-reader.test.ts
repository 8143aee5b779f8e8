import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CaptureError, readCapture, type CaptureStats, type CapturedDatagram } from '../../src/capture/pcap-reader.js';
import { pcapsDir, truthDir } from '../support/corpus.js';
import { concatBytes } from '../support/packets.js';

// ---------------------------------------------------------------------------------------------
// Helpers: byte building, address text, collecting datagrams
// ---------------------------------------------------------------------------------------------

type Bytes = Uint8Array | number[];

function u16(n: number, le = false): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, le);
  return b;
}

function u32(n: number, le = false): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, le);
  return b;
}

function pad4(b: Bytes): Uint8Array {
  return concatBytes(b, new Uint8Array((4 - (b.length % 4)) % 4));
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

/** Parses the textual IPv6 forms used in these tests ("2001:db8::1"). */
function v6(s: string): Uint8Array {
  const [head = '', tail] = s.split('::');
  const groups = (x: string) => (x === '' ? [] : x.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return concatBytes(...all.map((g) => u16(g)));
}

/** Text form of a 16-byte address: dotted quad for IPv4-mapped, RFC 5952 otherwise. */
function addrText(a: Uint8Array): string {
  assert.equal(a.length, 16);
  if (a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff) {
    return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  }
  const g = Array.from({ length: 8 }, (_, i) => ((a[2 * i]! << 8) | a[2 * i + 1]!));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

function collect(bytes: Uint8Array): { datagrams: CapturedDatagram[]; stats: CaptureStats } {
  const datagrams: CapturedDatagram[] = [];
  const stats = readCapture(bytes, (d) => datagrams.push(d));
  assert.equal(stats.udpDatagrams, datagrams.length);
  return { datagrams, stats };
}

function assertNear(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-3, `${what}: ${actual} != ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// Packet builders (network byte order)
// ---------------------------------------------------------------------------------------------

function udp(srcPort: number, dstPort: number, payload: Bytes, lengthField = 8 + payload.length): Uint8Array {
  return concatBytes(u16(srcPort), u16(dstPort), u16(lengthField), [0, 0], payload);
}

interface V4Options {
  /** flags + fragment offset field; default DF */
  frag?: number;
  /** header length in 32-bit words */
  ihl?: number;
  totalLength?: number;
}

function ipv4(src: number[], dst: number[], proto: number, l4: Bytes, o: V4Options = {}): Uint8Array {
  const ihl = o.ihl ?? 5;
  const total = o.totalLength ?? ihl * 4 + l4.length;
  return concatBytes(
    [0x40 | ihl, 0], u16(total), u16(0x1234), u16(o.frag ?? 0x4000), [64, proto, 0, 0],
    src, dst, new Uint8Array((ihl - 5) * 4), l4,
  );
}

/** l4 includes any extension headers; nextHeader names the first of them. */
function ipv6(src: string, dst: string, nextHeader: number, l4: Bytes): Uint8Array {
  return concatBytes([0x60, 0, 0, 0], u16(l4.length), [nextHeader, 64], v6(src), v6(dst), l4);
}

/** Ethernet II frame, optional VLAN tags [tpid, vid], padded to the 60-byte minimum like real NICs. */
function eth(ethertype: number, l3: Bytes, tags: Array<[number, number]> = []): Uint8Array {
  const frame = concatBytes(
    [0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2],
    ...tags.map(([tpid, vid]) => concatBytes(u16(tpid), u16(vid))), u16(ethertype), l3,
  );
  return frame.length >= 60 ? frame : concatBytes(frame, new Uint8Array(60 - frame.length));
}

function sll(protocol: number, l3: Bytes): Uint8Array {
  return concatBytes(u16(0), u16(772), u16(0), new Uint8Array(8), u16(protocol), l3);
}

function sll2(protocol: number, l3: Bytes): Uint8Array {
  return concatBytes(u16(protocol), u16(0), u32(1), u16(772), [0, 0], new Uint8Array(8), l3);
}

// ---------------------------------------------------------------------------------------------
// Capture file builders
// ---------------------------------------------------------------------------------------------

interface PcapRecord {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
}

function pcap(le: boolean, nano: boolean, linkType: number, records: PcapRecord[]): Uint8Array {
  return concatBytes(
    u32(nano ? 0xa1b23c4d : 0xa1b2c3d4, le), u16(2, le), u16(4, le), u32(0, le), u32(0, le),
    u32(262144, le), u32(linkType, le),
    ...records.map((r) => concatBytes(
      u32(r.sec, le), u32(r.frac, le), u32(r.data.length, le), u32(r.origLen ?? r.data.length, le), r.data,
    )),
  );
}

function block(le: boolean, type: number, body: Bytes): Uint8Array {
  const padded = pad4(body);
  const total = 12 + padded.length;
  return concatBytes(u32(type, le), u32(total, le), padded, u32(total, le));
}

function shb(le: boolean): Uint8Array {
  // byte-order magic, version 1.0, section length -1 (unknown)
  return block(le, 0x0a0d0d0a, concatBytes(u32(0x1a2b3c4d, le), u16(1, le), u16(0, le), u32(0xffffffff), u32(0xffffffff)));
}

function option(le: boolean, code: number, value: Bytes): Uint8Array {
  return concatBytes(u16(code, le), u16(value.length, le), pad4(value));
}

function idb(le: boolean, linkType: number, options: Uint8Array[] = []): Uint8Array {
  const opts = options.length > 0 ? concatBytes(...options, u32(0)) : new Uint8Array(0); // + opt_endofopt
  return block(le, 1, concatBytes(u16(linkType, le), u16(0, le), u32(65535, le), opts));
}

function epb(le: boolean, ifId: number, ticks: bigint, data: Uint8Array): Uint8Array {
  return block(le, 6, concatBytes(
    u32(ifId, le), u32(Number(ticks >> 32n), le), u32(Number(ticks & 0xffffffffn), le),
    u32(data.length, le), u32(data.length, le), pad4(data),
  ));
}

function spb(le: boolean, data: Uint8Array): Uint8Array {
  return block(le, 3, concatBytes(u32(data.length, le), pad4(data)));
}

function int64(n: bigint, le: boolean): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, n, le);
  return b;
}

// ---------------------------------------------------------------------------------------------
// A pcapng section exercising VLANs, IPv6 extension headers and per-interface resolution
// ---------------------------------------------------------------------------------------------

const P1 = text('IPFIX-1'); // short: the Ethernet frame gets padding the UDP length must exclude
const P2 = pattern(100, 7);
const P3 = pattern(33, 99);

interface Expected {
  frame: number;
  timeMs: number;
  src: string;
  srcPort: number;
  dstPort: number;
  ipVersion: 4 | 6;
  payload: Uint8Array;
}

const SECTION_EXPECTED: Expected[] = [
  { frame: 1, timeMs: 1700000000123.456, src: '192.0.2.1', srcPort: 40000, dstPort: 4739, ipVersion: 4, payload: P1 },
  { frame: 2, timeMs: 1700000000987.654321, src: '2001:db8::1', srcPort: 50000, dstPort: 4739, ipVersion: 6, payload: P2 },
  { frame: 3, timeMs: 1700000001000, src: '10.1.2.3', srcPort: 2055, dstPort: 2055, ipVersion: 4, payload: P3 },
];

function section(le: boolean): Uint8Array {
  const hopByHop = [17, 0, 1, 4, 0, 0, 0, 0]; // next = UDP, 8 bytes, PadN
  return concatBytes(
    shb(le),
    idb(le, 1),
    epb(le, 0, 1700000000123456n, eth(0x0800, ipv4([192, 0, 2, 1], [198, 51, 100, 7], 17, udp(40000, 4739, P1)), [[0x8100, 100]])),
    block(le, 0x7fff0001, pattern(9, 1)), // unknown block: skipped by its length
    idb(le, 101, [option(le, 9, [9])]), // if_tsresol = 10^-9
    epb(le, 1, 1700000000987654321n, ipv6('2001:db8::1', '2001:db8::2', 0, concatBytes(hopByHop, udp(50000, 4739, P2)))),
    epb(le, 0, 1700000001000000n, eth(0x0800, ipv4([10, 1, 2, 3], [10, 0, 0, 1], 17, udp(2055, 2055, P3)), [[0x88a8, 10], [0x8100, 20]])),
  );
}

function assertDatagrams(actual: CapturedDatagram[], expected: Expected[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    const d = actual[i]!;
    assert.equal(d.frame, e.frame, `frame of #${i}`);
    assertNear(d.timeMs, e.timeMs, `timeMs of #${i}`);
    assert.equal(addrText(d.srcAddr), e.src);
    assert.equal(d.srcPort, e.srcPort);
    assert.equal(d.dstPort, e.dstPort);
    assert.equal(d.ipVersion, e.ipVersion);
    assert.deepEqual([...d.payload], [...e.payload]);
  });
}

// ---------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------

// Every capture of the shared corpus (test/support/corpus.ts finds it): a missing corpus fails here
// rather than skipping the checks below.
const corpusCaptures = existsSync(pcapsDir) ? readdirSync(pcapsDir).filter((f) => /\.pcap(ng)?$/.test(f)).sort() : [];

test('corpus is present', () => {
  assert.ok(corpusCaptures.length > 0, `no captures in ${pcapsDir} (set FLOWGATE_CORPUS to the corpus folder)`);
});

for (const file of corpusCaptures) {
  test(`corpus ${file}: datagram count, exporters and truth frames`, () => {
    const name = file.replace(/\.pcap(ng)?$/, '');
    const bytes = readFileSync(path.join(pcapsDir, file));
    const summary = JSON.parse(readFileSync(path.join(truthDir, `${name}.summary.json`), 'utf8'));
    const { datagrams, stats } = collect(bytes);

    assert.equal(datagrams.length, summary.packets);
    assert.equal(stats.frames, summary.packets, 'every frame in the corpus is an export datagram');
    assert.deepEqual(stats.skipped, {});

    const exporters = new Map<string, Set<number>>();
    const versions: Record<string, number> = {};
    for (const d of datagrams) {
      const src = addrText(d.srcAddr);
      if (!exporters.has(src)) exporters.set(src, new Set());
      exporters.get(src)!.add(d.srcPort);
      assert.ok(summary.collector_ports.includes(d.dstPort), `dstPort ${d.dstPort}`);
      assert.ok(d.timeMs > Date.UTC(2020, 0, 1) && d.timeMs < Date.UTC(2040, 0, 1), `timeMs ${d.timeMs}`);
      assert.equal(d.payload.buffer, bytes.buffer, 'payload is a view into the file buffer');
      const version = (d.payload[0]! << 8) | d.payload[1]!;
      versions[version] = (versions[version] ?? 0) + 1;
      // IPFIX carries its own message length: proves the UDP length was honoured.
      if (version === 10) assert.equal((d.payload[2]! << 8) | d.payload[3]!, d.payload.length);
    }
    const toObject = (m: Map<string, Set<number>>) =>
      Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort((a, b) => a - b)]));
    const expectedExporters = Object.fromEntries(
      Object.entries(summary.exporters as Record<string, number[]>).map(([k, v]) => [k, [...v].sort((a, b) => a - b)]),
    );
    assert.deepEqual(toObject(exporters), expectedExporters);
    assert.deepEqual(versions, summary.versions);

    // Each truth record names its frame, exporter and port: check them against ours.
    const truthPath = path.join(truthDir, `${name}.jsonl`);
    if (existsSync(truthPath)) {
      for (const line of readFileSync(truthPath, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const rec = JSON.parse(line);
        const d = datagrams[rec.frame - 1]!;
        assert.equal(d.frame, rec.frame);
        assert.equal(addrText(d.srcAddr), rec.exporter);
        assert.equal(d.srcPort, rec.exporterPort);
        assert.equal((d.payload[0]! << 8) | d.payload[1]!, rec.version);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// pcapng
// ---------------------------------------------------------------------------------------------

test('pcapng little-endian: VLAN IPv4, raw IPv6 with hop-by-hop header, if_tsresol=9', () => {
  const { datagrams, stats } = collect(section(true));
  assertDatagrams(datagrams, SECTION_EXPECTED);
  assert.deepEqual(stats, { frames: 3, udpDatagrams: 3, skipped: {} });
});

test('pcapng big-endian: same content', () => {
  const { datagrams, stats } = collect(section(false));
  assertDatagrams(datagrams, SECTION_EXPECTED);
  assert.deepEqual(stats, { frames: 3, udpDatagrams: 3, skipped: {} });
});

test('pcapng: sections of both byte orders, interfaces reset per section, SPB', () => {
  const le = false;
  const v4 = ipv4([127, 0, 0, 9], [127, 0, 0, 1], 17, udp(1234, 9995, P3));
  const bytes = concatBytes(
    section(true),
    shb(le),
    idb(le, 276),
    epb(le, 0, 1700000002000000n, sll2(0x0800, v4)),
    epb(le, 1, 1700000002000000n, sll2(0x0800, v4)), // interface 1 existed only in the first section
    spb(le, sll2(0x0800, v4)),
  );
  const { datagrams, stats } = collect(bytes);
  const tail: Expected = { frame: 4, timeMs: 1700000002000, src: '127.0.0.9', srcPort: 1234, dstPort: 9995, ipVersion: 4, payload: P3 };
  assertDatagrams(datagrams, [...SECTION_EXPECTED, tail, { ...tail, frame: 6, timeMs: 0 }]);
  assert.deepEqual(stats, { frames: 6, udpDatagrams: 5, skipped: { unknown_interface: 1 } });
});

test('pcapng: binary if_tsresol and if_tsoffset', () => {
  const le = true;
  const bytes = concatBytes(
    shb(le),
    idb(le, 101, [option(le, 9, [0x80 | 20]), option(le, 14, int64(100n, le))]), // 2^-20 s ticks, +100 s
    epb(le, 0, 5n * 2n ** 20n + 2n ** 19n, ipv4([1, 2, 3, 4], [5, 6, 7, 8], 17, udp(1, 2, P1))),
  );
  const { datagrams } = collect(bytes);
  assert.equal(datagrams.length, 1);
  assertNear(datagrams[0]!.timeMs, 105500, 'timeMs');
});

// ---------------------------------------------------------------------------------------------
// classic pcap and link types
// ---------------------------------------------------------------------------------------------

test('classic pcap, big-endian, nanosecond magic (Linux SLL)', () => {
  const payload = pattern(300, 3);
  const bytes = pcap(false, true, 113, [
    { sec: 1700000000, frac: 123456789, data: sll(0x0800, ipv4([127, 0, 0, 5], [127, 0, 0, 1], 17, udp(36215, 2059, payload))) },
    { sec: 1700000001, frac: 1, data: sll(0x86dd, ipv6('::1', '::1', 17, udp(5000, 2059, P1))) },
  ]);
  assert.equal(bytes[0], 0xa1); // really big-endian
  const { datagrams } = collect(bytes);
  assertDatagrams(datagrams, [
    { frame: 1, timeMs: 1700000000123.456789, src: '127.0.0.5', srcPort: 36215, dstPort: 2059, ipVersion: 4, payload },
    { frame: 2, timeMs: 1700000001000.000001, src: '::1', srcPort: 5000, dstPort: 2059, ipVersion: 6, payload: P1 },
  ]);
});

test('link types: Ethernet, SLL, SLL2, raw (101/12/14), NULL in both orders, LOOP', () => {
  const v4 = ipv4([198, 51, 100, 1], [127, 0, 0, 1], 17, udp(4000, 4739, P1));
  const v6pkt = ipv6('fe80::1:2', '::1', 17, udp(4001, 4739, P2));
  const cases: Array<[string, number, Uint8Array, string]> = [
    ['ethernet v6', 1, eth(0x86dd, v6pkt), 'fe80::1:2'],
    ['sll v6', 113, sll(0x86dd, v6pkt), 'fe80::1:2'],
    ['sll2 v4', 276, sll2(0x0800, v4), '198.51.100.1'],
    ['raw 101 v4', 101, v4, '198.51.100.1'],
    ['raw 12 v6', 12, v6pkt, 'fe80::1:2'],
    ['raw 14 v4', 14, v4, '198.51.100.1'],
    ['null AF_INET little-endian host', 0, concatBytes(u32(2, true), v4), '198.51.100.1'],
    ['null AF_INET big-endian host', 0, concatBytes(u32(2, false), v4), '198.51.100.1'],
    ['null AF_INET6 NetBSD/OpenBSD (24)', 0, concatBytes(u32(24, true), v6pkt), 'fe80::1:2'],
    ['null AF_INET6 FreeBSD (28) big-endian host', 0, concatBytes(u32(28, false), v6pkt), 'fe80::1:2'],
    ['null AF_INET6 Darwin (30)', 0, concatBytes(u32(30, true), v6pkt), 'fe80::1:2'],
    ['loop AF_INET', 108, concatBytes(u32(2, false), v4), '198.51.100.1'],
    ['loop AF_INET6 Darwin', 108, concatBytes(u32(30, false), v6pkt), 'fe80::1:2'],
  ];
  for (const [what, linkType, data, src] of cases) {
    const { datagrams, stats } = collect(pcap(true, false, linkType, [{ sec: 1, frac: 500, data }]));
    assert.equal(datagrams.length, 1, what);
    assert.equal(addrText(datagrams[0]!.srcAddr), src, what);
    assertNear(datagrams[0]!.timeMs, 1000.5, what);
    assert.deepEqual(stats.skipped, {}, what);
  }
  const { stats } = collect(pcap(true, false, 105, [{ sec: 1, frac: 0, data: v4 }])); // 802.11
  assert.deepEqual(stats.skipped, { unsupported_link: 1 });
});

test('capture held at a non-zero byteOffset (e.g. a pooled Buffer slice)', () => {
  const file = section(true);
  const holder = new Uint8Array(file.length + 13);
  holder.set(file, 5);
  const { datagrams } = collect(holder.subarray(5, 5 + file.length));
  assertDatagrams(datagrams, SECTION_EXPECTED);
});

// ---------------------------------------------------------------------------------------------
// Skipped frames
// ---------------------------------------------------------------------------------------------

test('non-UDP, fragments, non-IP, truncated and malformed frames are counted in skipped', () => {
  const a = [192, 0, 2, 1];
  const b = [192, 0, 2, 2];
  const u = udp(1000, 2000, P2);
  const frames: PcapRecord[] = [
    { data: eth(0x0800, ipv4(a, b, 6, pattern(20, 0))) }, // TCP
    { data: eth(0x86dd, ipv6('2001:db8::1', '2001:db8::2', 58, pattern(8, 0))) }, // ICMPv6
    { data: eth(0x0800, ipv4(a, b, 17, u, { frag: 0x2000 })) }, // first fragment, MF set
    { data: eth(0x0800, ipv4(a, b, 17, pattern(40, 0), { frag: 185 })) }, // later fragment
    { data: eth(0x86dd, ipv6('2001:db8::1', '2001:db8::2', 44, concatBytes([17, 0, 0, 1, 0, 0, 0, 1], u))) }, // fragment header
    { data: eth(0x86dd, ipv6('2001:db8::1', '2001:db8::2', 0, concatBytes([44, 0, 1, 4, 0, 0, 0, 0], [17, 0, 0, 1, 0, 0, 0, 1], u))) }, // HBH, then fragment
    { data: eth(0x0806, pattern(28, 0)) }, // ARP
    { data: eth(0x0800, ipv4(a, b, 17, u)).subarray(0, 60), origLen: 14 + 20 + u.length }, // snaplen cut
    { data: eth(0x0800, ipv4(a, b, 17, udp(1000, 2000, P2, 500))) }, // UDP length beyond the IP packet
    { data: eth(0x0800, ipv4(a, b, 17, udp(1, 2, P1), { ihl: 6 })) }, // IP options: payload after IHL
    { data: eth(0x0800, ipv4(a, b, 17, udp(3, 4, P2), { frag: 0 })) }, // no DF: still a whole datagram
    { data: eth(0x8100, concatBytes(u16(7), u16(0x86dd), ipv6('2001:db8::1', '2001:db8::2', 60, concatBytes([17, 1, 0, 0, 0, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0], udp(5, 6, P3))))) }, // VLAN + dest-opts (16 bytes)
  ].map((r) => ({ sec: 1, frac: 0, ...r }));
  const { datagrams, stats } = collect(pcap(true, false, 1, frames));
  assert.deepEqual(stats, {
    frames: 12,
    udpDatagrams: 3,
    skipped: { not_udp: 2, fragment: 4, not_ip: 1, truncated: 1, malformed: 1 },
  });
  assert.deepEqual(datagrams.map((d) => [d.frame, d.srcPort, [...d.payload]]), [
    [10, 1, [...P1]],
    [11, 3, [...P2]],
    [12, 5, [...P3]],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Corrupt files
// ---------------------------------------------------------------------------------------------

function assertCaptureError(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => readCapture(bytes, () => {}), (e: unknown) => {
    assert.ok(e instanceof CaptureError, `expected CaptureError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('header-level corruption throws CaptureError naming the offset', () => {
  assertCaptureError(new Uint8Array(0), /not a pcap/);
  assertCaptureError(text('GIF89a, not a capture at all'), /unknown magic 0x38464947/);
  assertCaptureError(pcap(true, false, 1, []).subarray(0, 20), /global header/);

  const okPcap = pcap(true, false, 101, [{ sec: 1, frac: 0, data: ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, udp(1, 2, P1)) }]);
  const overrun = concatBytes(okPcap, u32(0, true), u32(0, true), u32(1000, true), u32(1000, true), pattern(10, 0));
  let delivered = 0;
  assert.throws(() => readCapture(overrun, () => delivered++), /offset 75 claims 1000 captured bytes/);
  assert.equal(delivered, 1, 'datagrams before the damage are delivered');

  const head = concatBytes(shb(true), idb(true, 1)); // 28 + 20 bytes
  assertCaptureError(concatBytes(head, u32(6, true), u32(0, true), u32(0, true)), /invalid block length 0 at offset 48/);
  assertCaptureError(concatBytes(head, u32(6, true), u32(8, true), u32(8, true)), /invalid block length 8 at offset 48/);
  assertCaptureError(concatBytes(head, u32(6, true), u32(4096, true), new Uint8Array(100)), /offset 48 has length 4096/);
  assertCaptureError(concatBytes(head, u32(6, true), u32(16, true), u32(0, true), u32(20, true)), /offset 48 has mismatched/);
  assertCaptureError(concatBytes(head, u32(6, true), u32(16, true)), /offset 48 cut short/);
  const badBom = shb(true);
  badBom[8] = 0x99;
  assertCaptureError(badBom, /byte-order magic/);
});

test('every prefix of a capture yields fewer datagrams or throws CaptureError', () => {
  const records = [1, 2, 3].map((i) => ({
    sec: 1700000000 + i, frac: i, data: eth(0x0800, ipv4([10, 0, 0, i], [10, 0, 0, 99], 17, udp(i, 4739, pattern(10 * i, i)))),
  }));
  for (const file of [pcap(true, false, 1, records), pcap(false, true, 1, records), section(true), section(false)]) {
    const full = collect(file).datagrams.length;
    assert.equal(full, 3);
    for (let n = 0; n < file.length; n++) {
      let count = 0;
      let threw = false;
      try {
        readCapture(file.subarray(0, n), () => count++);
      } catch (e) {
        assert.ok(e instanceof CaptureError, `prefix ${n}: ${String(e)}`);
        threw = true;
      }
      assert.ok(threw || count < full, `prefix ${n} of ${file.length}: ${count} datagrams, no error`);
      assert.ok(count <= full);
    }
  }
});

test('random byte corruption never throws anything but CaptureError', () => {
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const sources = [
    section(true),
    section(false),
    pcap(true, false, 1, [{ sec: 1, frac: 2, data: eth(0x86dd, ipv6('::1', '::2', 0, concatBytes([17, 0, 0, 0, 0, 0, 0, 0], udp(1, 2, P2)))) }]),
  ];
  for (let i = 0; i < 3000; i++) {
    const file = sources[i % sources.length]!.slice();
    for (let k = 1 + rand(4); k > 0; k--) file[rand(file.length)] = rand(256);
    try {
      readCapture(file, () => {});
    } catch (e) {
      assert.ok(e instanceof CaptureError, `iteration ${i}: ${String(e)}`);
    }
  }
});
