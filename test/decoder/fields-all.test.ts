// decoder.fields: all on crafted messages: every abstract data type (reduced-size encodings
// included), RFC 6313 lists (nested, empty, a list naming an unknown template), elements no
// definition names (IPFIX enterprise and NetFlow v9), repeated headers (encapsulation), and a
// record too large for the output region. Definitions are a small list made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, type DecoderOptions } from '../../src/decoder/wasm.js';
import { V9_VENDOR_PEN, type AbstractType, type ElementDefinition } from '../../src/decoder/elements/definition.js';
import { set, ipfix, v9, address, hex, concatBytes } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const EXPORTER = address('192.0.2.1');
const PEN = 9999;

const types: AbstractType[] = ['unsigned8', 'unsigned16', 'unsigned32', 'unsigned64', 'signed8', 'signed16', 'signed32', 'signed64',
  'float32', 'float64', 'boolean', 'macAddress', 'string', 'octetArray', 'dateTimeSeconds', 'dateTimeMilliseconds',
  'dateTimeMicroseconds', 'dateTimeNanoseconds', 'ipv4Address', 'ipv6Address'];
/** Element (PEN, 1 + i) is `t_<type>`. */
const typeId = (type: AbstractType): number => 1 + types.indexOf(type);
const LONG_NAME = 'x'.repeat(240);

const definitions: ElementDefinition[] = [
  ...types.map((type) => ({ pen: PEN, id: typeId(type), name: `t_${type}`, type })),
  { pen: 0, id: 8, name: 'sourceIPv4Address', type: 'ipv4Address' },
  { pen: 0, id: 12, name: 'destinationIPv4Address', type: 'ipv4Address' },
  { pen: 0, id: 27, name: 'sourceIPv6Address', type: 'ipv6Address' },
  { pen: 0, id: 28, name: 'destinationIPv6Address', type: 'ipv6Address' },
  { pen: 0, id: 4, name: 'protocolIdentifier', type: 'unsigned8' },
  { pen: 0, id: 7, name: 'sourceTransportPort', type: 'unsigned16' },
  { pen: 0, id: 11, name: 'destinationTransportPort', type: 'unsigned16' },
  { pen: 0, id: 1, name: 'octetDeltaCount', type: 'unsigned64' },
  { pen: 0, id: 85, name: 'octetTotalCount', type: 'unsigned64' },
  { pen: 0, id: 291, name: 'basicList', type: 'basicList' },
  { pen: 0, id: 292, name: 'subTemplateList', type: 'subTemplateList' },
  { pen: 0, id: 293, name: 'subTemplateMultiList', type: 'subTemplateMultiList' },
  { pen: PEN, id: 100, name: LONG_NAME, type: 'unsigned8' },
  { pen: V9_VENDOR_PEN, id: 40001, name: 'NF_F_TEST', type: 'unsigned16' },
];

function decoder(o: Partial<DecoderOptions> = {}): WasmDecoder {
  return new WasmDecoder({ fields: 'all', definitions, ...o });
}

/** The JSON text of each record of one datagram. */
function lines(d: WasmDecoder, pkt: Uint8Array): string[] {
  const n = d.decode(pkt, EXPORTER, 4739, T0);
  assert.ok(n >= 0, `decode failed: ${n}`);
  const text = Buffer.from(d.output).toString('utf8', 0, d.outputLength()).split('\n').filter(Boolean);
  assert.equal(text.length, n);
  return text;
}

const records = (d: WasmDecoder, pkt: Uint8Array): Record<string, unknown>[] => lines(d, pkt).map((l) => JSON.parse(l) as Record<string, unknown>);

/** A template field specifier: enterprise elements get the enterprise bit and their PEN. */
function spec(id: number, length: number, pen = 0): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return pen ? `${h(id | 0x8000, 4)} ${h(length, 4)} ${h(pen, 8)}` : `${h(id, 4)} ${h(length, 4)}`;
}

function templateSet(id: number, specs: string[]): Uint8Array {
  return set(2, `${id.toString(16).padStart(4, '0')} ${specs.length.toString(16).padStart(4, '0')} ${specs.join(' ')}`);
}

/** Variable-length encoding of `bytes` (RFC 7011 section 7): 1-byte length, or 255 and a 2-byte length. */
function varlen(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  return concatBytes(n < 255 ? [n] : [255, n >> 8, n & 0xff], bytes);
}

const ntp = (unixSeconds: number, fraction: number): string =>
  (unixSeconds + 2208988800).toString(16).padStart(8, '0') + fraction.toString(16).padStart(8, '0');

test('every abstract data type, reduced-size encodings included, is written by name and typed', () => {
  const d = decoder();
  const t = (type: AbstractType, length: number) => spec(typeId(type), length, PEN);
  const template = templateSet(300, [
    spec(8, 4), t('unsigned8', 1), t('unsigned16', 2), t('unsigned32', 2), t('unsigned64', 8), t('signed8', 1), t('signed16', 2),
    t('signed32', 1), t('signed64', 8), t('float32', 4), t('float64', 8), t('boolean', 1), t('macAddress', 6), t('string', 0xffff),
    t('octetArray', 0xffff), t('dateTimeSeconds', 4), t('dateTimeMilliseconds', 8), t('dateTimeMicroseconds', 8),
    t('dateTimeNanoseconds', 8), t('ipv4Address', 4), t('ipv6Address', 16), spec(7, 3, 4242),
  ]);
  const text = concatBytes(Buffer.from('h\u00e9llo "q"\n'), [0xff, 0x41, 0, 0]); // an invalid byte, trailing NULs
  const record = concatBytes(hex(`c0000201 ff 1234 fffe ffffffffffffffff 80 fffe ff 8000000000000000 3fc00000 400921fb54442d18 01
    001122aabbcc`), varlen(text), varlen(hex('deadbeef')), hex(`6553f100 0000018bcfe5687b ${ntp(1700000000, 0x80000000)}
    ${ntp(1700000001, 0x40000000)} c6336407 20010db8000000000000000000000001 abcdef`));
  const [line] = lines(d, ipfix({}, template, set(300, Buffer.from(record).toString('hex'))));
  // Integers above 2^53 are written with all their digits (JSON.parse in JavaScript rounds them).
  assert.match(line!, /"t_unsigned64":18446744073709551615,/);
  assert.match(line!, /"t_signed64":-9223372036854775808,/);
  const r = JSON.parse(line!) as Record<string, unknown>;
  assert.equal(r.src, '192.0.2.1', 'an element a short field shows keeps its short name');
  assert.equal(r.sourceIPv4Address, undefined, 'and only that');
  assert.deepEqual({
    u8: r.t_unsigned8, u16: r.t_unsigned16, u32: r.t_unsigned32, s8: r.t_signed8, s16: r.t_signed16, s32: r.t_signed32,
    f32: r.t_float32, f64: r.t_float64, bool: r.t_boolean, mac: r.t_macAddress, str: r.t_string, oct: r.t_octetArray,
    sec: r.t_dateTimeSeconds, ms: r.t_dateTimeMilliseconds, us: r.t_dateTimeMicroseconds, ns: r.t_dateTimeNanoseconds,
    v4: r.t_ipv4Address, v6: r.t_ipv6Address, unknown: r.e4242_7,
  }, {
    u8: 255, u16: 0x1234, u32: 0xfffe, s8: -128, s16: -2, s32: -1,
    f32: 1.5, f64: 3.141592653589793, bool: true, mac: '00:11:22:aa:bb:cc', str: 'h\u00e9llo "q"\n\u00ffA', oct: 'deadbeef',
    sec: 1700000000000, ms: 1700000000123, us: 1700000000500, ns: 1700000001250,
    v4: '198.51.100.7', v6: '2001:db8::1', unknown: 'abcdef',
  });
});

test('booleans other than 1 and 2, NaN and infinities are null; float64 in 4 bytes is read as float32', () => {
  const d = decoder();
  const t = (type: AbstractType, length: number) => spec(typeId(type), length, PEN);
  const template = templateSet(301, [t('boolean', 1), t('float64', 4), t('float32', 4), t('unsigned8', 1)]);
  const r = records(d, ipfix({}, template, set(301, '00 3e800000 7f800000 07 02 7fc00000 ff800000 08')));
  assert.deepEqual(r.map((x) => [x.t_boolean, x.t_float64, x.t_float32, x.t_unsigned8]), [[null, 0.25, null, 7], [false, null, null, 8]]);
});

test('a value whose length its type does not allow is written as hex, and the long variable-length encoding is read', () => {
  const d = decoder();
  const t = (type: AbstractType, length: number) => spec(typeId(type), length, PEN);
  const template = templateSet(302, [t('ipv4Address', 3), t('macAddress', 0xffff), t('string', 0xffff)]);
  const long = Buffer.alloc(300, 'a');
  const body = concatBytes(hex('0a0b0c'), varlen(hex('0102')), varlen(long));
  const [r] = records(d, ipfix({}, template, set(302, Buffer.from(body).toString('hex'))));
  assert.deepEqual([r!.t_ipv4Address, r!.t_macAddress, r!.t_string], ['0a0b0c', '0102', 'a'.repeat(300)]);
});

test('strings: control characters escaped, invalid UTF-8 read as Latin-1, the JSON never breaks', () => {
  const d = decoder();
  const template = templateSet(303, [spec(typeId('string'), 0xffff, PEN)]);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const [line] = lines(d, ipfix({}, template, set(303, Buffer.from(varlen(all)).toString('hex'))));
  const r = JSON.parse(line!) as { t_string: string };
  // NUL inside the string stays (only trailing NULs go); bytes 0x80-0xff are not UTF-8 alone: Latin-1.
  assert.equal(r.t_string, String.fromCharCode(...all));
  assert.match(line!, /\\u0000\\u0001/);
  // A valid multi-byte sequence passes as it is.
  const [ok] = records(d, ipfix({}, set(303, Buffer.from(varlen(Buffer.from('\u20ac\u{1f600}'))).toString('hex'))));
  assert.equal(ok!.t_string, '\u20ac\u{1f600}');
});

test('elements no definition names: e{PEN}_{id} for IPFIX, v9_{type} for NetFlow v9, with hex values; v9 vendor types by V9_VENDOR_PEN', () => {
  const d = decoder();
  const r4 = records(d, ipfix({}, templateSet(304, [spec(8, 4), spec(999, 2), spec(5, 2, 12345)]), set(304, 'c0000201 0102 0304')));
  assert.deepEqual([r4[0]!.e0_999, r4[0]!.e12345_5], ['0102', '0304']);
  const t9 = set(0, '0100 0004  0008 0004  9c40 0002  9c41 0002  0190 0001');
  const [r9] = records(d, v9({ uptime: 1000, unixSecs: 1700000000 }, t9, set(256, 'c0000201 abcd 0010 07')));
  assert.deepEqual([r9!.src, r9!.v9_40000, r9!.NF_F_TEST, r9!.v9_400], ['192.0.2.1', 'abcd', 16, '07']);
});

test('without definitions every element but the short fields is an unknown name, and the default output has none of them', () => {
  const pkt = ipfix({}, templateSet(305, [spec(8, 4), spec(85, 8), spec(1, 4)]), set(305, 'c0000201 0000000000000010 00000020'));
  const [bare] = records(new WasmDecoder({ fields: 'all' }), pkt);
  assert.equal(bare!.bytes, 32);
  assert.equal(bare!.e0_85, '0000000000000010', 'octetTotalCount lost the bytes slot to octetDeltaCount: written by name');
  const [named] = records(decoder(), pkt);
  assert.equal(named!.octetTotalCount, 16);
  const [plain] = records(new WasmDecoder(), pkt);
  assert.deepEqual(Object.keys(plain!).filter((k) => !/^[a-z_]+$/.test(k)), []);
  assert.equal(plain!.octetTotalCount, undefined);
});

test('RFC 6313 lists: basicList values, subTemplateList and subTemplateMultiList records, nested, empty', () => {
  const d = decoder();
  const inner = templateSet(401, [spec(8, 4), spec(typeId('unsigned16'), 2, PEN)]);
  const withList = templateSet(402, [spec(typeId('string'), 0xffff, PEN), spec(291, 0xffff)]);
  const outer = templateSet(400, [spec(291, 0xffff), spec(292, 0xffff), spec(293, 0xffff), spec(291, 0xffff), spec(292, 0xffff)]);
  const basic = hex('03 0008 0004 0a000001 0a000002'); // allOf sourceIPv4Address x2
  const sub = hex('03 0191 0a000001 0001 0a000002 0002'); // template 401, two records
  const nestedBasic = hex('ff 800d ffff 0000270f 01 61 02 6263'); // enterprise element, variable-length elements
  const record402 = concatBytes(varlen(Buffer.from('n')), varlen(nestedBasic));
  const multi = concatBytes(hex('03 0191 000a 0a000003 0003'), hex('0192'), hex((4 + record402.length).toString(16).padStart(4, '0')), record402);
  const emptyBasic = hex('ff 0008 0004');
  const emptySub = hex('03 0191');
  const body = concatBytes(varlen(basic), varlen(sub), varlen(multi), varlen(emptyBasic), varlen(emptySub));
  const [r] = records(d, ipfix({}, inner, withList, outer, set(400, Buffer.from(body).toString('hex'))));
  assert.deepEqual(r, {
    ...pick(r!, ['dvc', 'src', 'srcp', 'dst', 'dstp', 'proto', 'flags', 'bytes', 'pkts', 'time', 'version', 'odid', 'tid']),
    basicList: [],
    subTemplateList: [],
    subTemplateMultiList: [
      { sourceIPv4Address: '10.0.0.3', t_unsigned16: 3 },
      { t_string: 'n', basicList: ['a', 'bc'] },
    ],
  }, 'a repeated key keeps the last value in JSON.parse: the first lists are checked on the text below');
  const [line] = lines(d, ipfix({}, set(400, Buffer.from(body).toString('hex'))));
  assert.match(line!, /"basicList":\["10\.0\.0\.1","10\.0\.0\.2"\],"subTemplateList":\[\{"sourceIPv4Address":"10\.0\.0\.1","t_unsigned16":1\},\{"sourceIPv4Address":"10\.0\.0\.2","t_unsigned16":2\}\]/);
});

function pick(r: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
}

test('a list naming a template the exporter never sent, or that does not parse, is written as the hex of its bytes', () => {
  const d = decoder();
  const outer = templateSet(410, [spec(292, 0xffff), spec(291, 0xffff)]);
  const unknownTemplate = hex('03 01f3 0a000001'); // template 499
  const truncated = hex('03 0008 0004 0a0000'); // 3 bytes of a 4-byte element
  const body = concatBytes(varlen(unknownTemplate), varlen(truncated));
  const [r] = records(d, ipfix({}, outer, set(410, Buffer.from(body).toString('hex'))));
  assert.deepEqual([r!.subTemplateList, r!.basicList], ['0301f30a000001', '0300080004 0a0000'.replace(' ', '')]);
});

test('lists nest to MAX_LIST_DEPTH; deeper ones are hex', () => {
  const d = decoder();
  // Template 420: one subTemplateList. Its records are of template 420 again: each level one record deep.
  const t = templateSet(420, [spec(292, 0xffff)]);
  let value = hex('03 01a4'); // an empty list of template 420
  for (let i = 0; i < 5; i++) value = concatBytes(hex('03 01a4'), varlen(value));
  const [r] = records(d, ipfix({}, t, set(420, Buffer.from(varlen(value)).toString('hex'))));
  let level: unknown = r!.subTemplateList;
  let depth = 0;
  while (Array.isArray(level)) {
    level = (level[0] as Record<string, unknown>).subTemplateList;
    depth++;
  }
  assert.equal(depth, 4);
  assert.equal(typeof level, 'string', 'the fifth level is hex');
});

test('a record too large for the output region is dropped whole and counted as output_full; the next record is written', () => {
  const d = decoder();
  const tiny = templateSet(430, [spec(100, 1, PEN)]); // named by a 240-character name: ~250 bytes of JSON per byte
  const big = templateSet(431, [spec(292, 0xffff)]);
  const small = templateSet(432, [spec(8, 4)]);
  const list = concatBytes(hex('03 01ae'), new Uint8Array(60000));
  const n = d.decode(ipfix({}, tiny, big, small), EXPORTER, 4739, T0);
  assert.equal(n, 0);
  const data = concatBytes(set(431, Buffer.from(varlen(list)).toString('hex')), set(432, 'c0000201'));
  const got = records(d, ipfix({}, data));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.src, '192.0.2.1');
  const full = d.statusNames.indexOf('output_full');
  assert.equal(d.counters().statuses[full], 1);
});

test('repeated headers: the short fields all come from the outer header, the inner one is written as inner_ (IP-in-IP)', () => {
  const template = templateSet(500, [spec(8, 4), spec(12, 4), spec(4, 1), spec(8, 4), spec(12, 4), spec(4, 1), spec(7, 2), spec(11, 2)]);
  const pkt = ipfix({}, template, set(500, 'c0000201 c0000202 04  0a000001 0a000002 06  1f90 0050'));
  const [plain] = records(new WasmDecoder(), pkt);
  assert.deepEqual(pick(plain!, ['src', 'dst', 'proto', 'srcp', 'dstp']), { src: '192.0.2.1', dst: '192.0.2.2', proto: 4, srcp: 0, dstp: 0 },
    'the outer header has no ports: none, rather than the inner header\'s');
  const [all] = records(decoder(), pkt);
  assert.deepEqual(pick(all!, ['src', 'dst', 'proto', 'srcp', 'dstp', 'inner_src', 'inner_dst', 'inner_proto', 'inner_srcp', 'inner_dstp']), {
    src: '192.0.2.1', dst: '192.0.2.2', proto: 4, srcp: 0, dstp: 0,
    inner_src: '10.0.0.1', inner_dst: '10.0.0.2', inner_proto: 6, inner_srcp: 8080, inner_dstp: 80,
  });
});

test('repeated headers: an IPv4 outer header and an IPv6 inner one (protocol repeated) split at the IPv6 addresses', () => {
  const template = templateSet(501, [spec(8, 4), spec(12, 4), spec(4, 1), spec(27, 16), spec(28, 16), spec(4, 1), spec(7, 2), spec(11, 2)]);
  const pkt = ipfix({}, template, set(501, `c0000201 c0000202 29 20010db8000000000000000000000001 20010db8000000000000000000000002 11 0035 d431`));
  const [plain] = records(new WasmDecoder(), pkt);
  assert.deepEqual(pick(plain!, ['src', 'dst', 'proto', 'srcp', 'dstp']), { src: '192.0.2.1', dst: '192.0.2.2', proto: 41, srcp: 0, dstp: 0 });
  const [all] = records(decoder(), pkt);
  assert.deepEqual(pick(all!, ['inner_src', 'inner_dst', 'inner_proto', 'inner_srcp', 'inner_dstp']),
    { inner_src: '2001:db8::1', inner_dst: '2001:db8::2', inner_proto: 17, inner_srcp: 53, inner_dstp: 54321 });
});

test('a dual-stack template (both families, nothing repeated) stays one header: the family that is not zero', () => {
  const template = templateSet(502, [spec(8, 4), spec(12, 4), spec(27, 16), spec(28, 16), spec(7, 2), spec(11, 2), spec(4, 1)]);
  const pkt = ipfix({}, template, set(502, `00000000 00000000 20010db8000000000000000000000001 20010db8000000000000000000000002 01bb c350 06`));
  for (const d of [new WasmDecoder(), decoder()]) {
    const [r] = records(d, pkt);
    assert.deepEqual(pick(r!, ['src', 'dst', 'proto', 'srcp', 'dstp']), { src: '2001:db8::1', dst: '2001:db8::2', proto: 6, srcp: 443, dstp: 50000 });
    assert.equal(r!.inner_src, undefined);
  }
});

test('NetFlow v5 records in all mode add the elements no short field shows', () => {
  const d = decoder({ definitions: [...definitions, { pen: 0, id: 9, name: 'sourceIPv4PrefixLength', type: 'unsigned8' },
    { pen: 0, id: 22, name: 'flowStartSysUpTime', type: 'unsigned32' }] });
  const header = '0005 0001 00001000 6553f100 00000000 00000007 00 00 0000';
  const record = 'c0000201 c0000202 00000000 0001 0002 00000003 00000400 00000800 00000900 0050 1f90 00 1b 06 00 0000 0000 18 10 0000';
  const [r] = records(d, hex(header + record));
  assert.deepEqual(pick(r!, ['src', 'bytes', 'flowStartSysUpTime', 'sourceIPv4PrefixLength', 'e0_21', 'e0_13']),
    { src: '192.0.2.1', bytes: 1024, flowStartSysUpTime: 2048, sourceIPv4PrefixLength: 24, e0_21: '00000900', e0_13: '10' });
});

test('a malformed definitions table is refused', () => {
  assert.throws(() => new WasmDecoder({ fields: 'all', definitions: [{ pen: 0, id: 1, name: 'x', type: 'nope' as AbstractType }] }), /unknown data type/);
});

test('a list field of length 0 (no list header at all) is an empty list', () => {
  const d = decoder();
  const [r] = records(d, ipfix({}, templateSet(440, [spec(291, 0xffff), spec(293, 0xffff)]), set(440, '00 00')));
  assert.deepEqual([r!.basicList, r!.subTemplateMultiList], [[], []]);
});

test('a user dictionary (decoder.dictionaries, as the config loads it) names an enterprise element: its key and type change', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadConfig } = await import('../../src/config/load.js');
  const { loadElementDefinitions } = await import('../../src/decoder/elements/load.js');
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-dict-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'acme.yaml');
  writeFileSync(file, 'vendor: Acme\npen: 99999\nelements:\n  - { id: 1, name: acmeWidgetCount, type: unsigned16 }\n');
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `decoder:\n  fields: all\n  dictionaries: [${JSON.stringify(file)}]\n`);
  const config = await loadConfig(configFile);
  const pkt = ipfix({}, templateSet(310, [spec(8, 4), spec(1, 2, 99999)]), set(310, 'c0000201 beef'));
  const [named] = records(new WasmDecoder({ fields: 'all', definitions: loadElementDefinitions(config.decoder.dictionaries) }), pkt);
  assert.equal(named!.acmeWidgetCount, 0xbeef);
  assert.equal(named!.e99999_1, undefined);
  const [unnamed] = records(new WasmDecoder({ fields: 'all', definitions: loadElementDefinitions([]) }), pkt);
  assert.equal(unnamed!.e99999_1, 'beef', 'without the file: its unknown name, in hex');
});
