// Names from options data on crafted packets (assembly/options-names.ts): interface names
// (interfaceName 82, interfaceDescription 83 as the fallback) on in_if / out_if, VRF names on
// ingressVRFID / egressVRFID, Cisco NBAR application names on applicationId, in IPFIX and
// NetFlow v9; names updated, refused when the tables are full, kept in state snapshots and
// dropped with their session. Then options records themselves as records (routing.options_topic):
// after the data records, marked in the record index, by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, type DecoderOptions } from '../../src/decoder/wasm.js';
import { optionsRecords } from '../../src/decoder/record-index.js';
import { set, ipfix, v9, address } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const EXPORTER = address('192.0.2.1');

/** A string field's bytes as hex: `len` bytes NUL-padded (fixed length), or with its RFC 7011 length prefix (variable). */
function text(value: string | Uint8Array, len?: number): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  if (len !== undefined) return Buffer.concat([bytes, Buffer.alloc(len - bytes.length)]).toString('hex');
  return (bytes.length < 255 ? bytes.length.toString(16).padStart(2, '0') : 'ff' + bytes.length.toString(16).padStart(4, '0')) + bytes.toString('hex');
}
const u32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

// Data template 256: src, dst, in_if, out_if, bytes.
const dataTemplate = set(2, '0100 0005  0008 0004  000c 0004  000a 0004  000e 0004  0001 0004');
const flow = (inIf: number, outIf: number): Uint8Array => set(256, `c0000201 c6336407 ${u32(inIf)} ${u32(outIf)} 000003e8`);
// Options template 257 (Cisco's): scope ingressInterface, then interfaceName and interfaceDescription, variable length.
const ifTemplate = set(3, '0101 0003 0001  000a 0004  0052 ffff  0053 ffff');
const ifRecord = (ifIndex: number, name: string | Uint8Array, description: string | Uint8Array): string => `${u32(ifIndex)} ${text(name)} ${text(description)}`;
// Options template 258: scope egressInterface, interfaceDescription only.
const descTemplate = set(3, '0102 0002 0001  000e 0004  0053 ffff');

type Rec = Record<string, unknown>;

/** The records of one decode: data records and options records (by the record index's route word). */
function decode(d: WasmDecoder, pkt: Uint8Array, addr = EXPORTER, port = 4739, flags = 0): { data: Rec[]; options: Rec[] } {
  const n = d.decode(pkt, addr, port, T0, flags);
  assert.ok(n >= 0, `decode failed: ${n}`);
  const { entries, stride, endAt, gap } = d.index;
  const lines: Rec[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = entries[i * stride + endAt]!;
    lines.push(JSON.parse(Buffer.from(d.output.subarray(start, end)).toString('utf8')) as Rec);
    start = end + gap;
  }
  const k = optionsRecords(d.index, n);
  return { data: lines.slice(0, n - k), options: lines.slice(n - k) };
}

const records = (d: WasmDecoder, pkt: Uint8Array, addr = EXPORTER, port = 4739, flags = 0): Rec[] => decode(d, pkt, addr, port, flags).data;

function decoder(o: Partial<DecoderOptions> = {}): WasmDecoder {
  const d = new WasmDecoder(o);
  records(d, ipfix({}, dataTemplate, ifTemplate, descTemplate));
  return d;
}

test('interface names from options data go on records as in_if_name and out_if_name; the name (82) wins over the description (83)', () => {
  const d = decoder();
  records(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', 'uplink to core') + ifRecord(4, '', 'to "core" \\ \t tab'))));
  const [r] = records(d, ipfix({}, flow(3, 4)));
  assert.equal(r!.in_if_name, 'Gi0/1', 'interfaceName, not the description');
  assert.equal(r!.out_if_name, 'to "core" \\ \t tab', 'an empty name: the description, escaped in the JSON');
  const [unknown] = records(d, ipfix({}, flow(5, 3)));
  assert.equal(unknown!.in_if_name, undefined, 'no name known for ifIndex 5: no field');
  assert.equal(unknown!.out_if_name, 'Gi0/1', 'the same table for in and out');
  assert.deepEqual(d.counters().names, 2);
});

test('a later options record renames an interface; a description sent later does not replace a name', () => {
  const d = decoder();
  records(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', 'old'))));
  records(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1.100', 'new'))));
  assert.equal(records(d, ipfix({}, flow(3, 0)))[0]!.in_if_name, 'Gi0/1.100');
  records(d, ipfix({}, set(258, `${u32(3)} ${text('a description')}`)));
  assert.equal(records(d, ipfix({}, flow(3, 0)))[0]!.in_if_name, 'Gi0/1.100', 'the name stays');
  records(d, ipfix({}, set(258, `${u32(9)} ${text('only a description')}`)));
  assert.equal(records(d, ipfix({}, flow(0, 9)))[0]!.out_if_name, 'only a description', 'scoped by egressInterface, the description is the name');
  assert.equal(d.counters().names, 2);
});

test('trailing NULs are removed and bytes that are not UTF-8 become U+FFFD: the JSON stays valid', () => {
  const d = decoder();
  records(d, ipfix({}, set(257, ifRecord(1, Uint8Array.from([0xff, 0x41, 0xc3, 0xa9, 0xe2, 0x82, 0, 0, 0]), ''))));
  assert.equal(records(d, ipfix({}, flow(1, 0)))[0]!.in_if_name, '\ufffdA\u00e9\ufffd\ufffd');
  const long = 'x'.repeat(300) + '"';
  records(d, ipfix({}, set(257, ifRecord(2, long, ''))));
  const name = records(d, ipfix({}, flow(2, 0)))[0]!.in_if_name as string;
  assert.ok(name.length > 50 && name.length < 120 && /^x+$/.test(name), `a long name is cut between characters: ${name.length}`);
});

test('names are bounded per exporter session and in total; refusals are counted with their reason', () => {
  // 8192 names per session: one more is refused (exporter_limit).
  const d = decoder();
  const batch = (from: number, count: number): Uint8Array => {
    let body = '';
    for (let i = from; i < from + count; i++) body += ifRecord(i, `if${i}`, '');
    return set(257, body);
  };
  for (let i = 0; i < 8200; i += 2000) records(d, ipfix({}, batch(i, Math.min(2000, 8200 - i))));
  let c = d.counters();
  assert.deepEqual([c.names, c.namesRefused.exporter_limit, c.namesRefused.table_full], [8192, 8, 0]);
  assert.equal(records(d, ipfix({}, flow(8191, 8192)))[0]!.in_if_name, 'if8191');
  assert.equal(records(d, ipfix({}, flow(8191, 8192)))[0]!.out_if_name, undefined, 'the refused name is not there');
  // 32768 in all: a fifth session finds the table full; a protected one evicts an unprotected session for room.
  for (let s = 2; s <= 5; s++) {
    const addr = address(`192.0.2.${s}`);
    records(d, ipfix({}, dataTemplate, ifTemplate), addr);
    for (let i = 0; i < 8192; i += 2000) records(d, ipfix({}, batch(i, Math.min(2000, 8192 - i))), addr);
  }
  c = d.counters();
  assert.equal(c.names, 32768);
  assert.ok(c.namesRefused.table_full >= 8192, `table_full ${c.namesRefused.table_full}`);
  const protectedExporter = address('198.51.100.1');
  records(d, ipfix({}, dataTemplate, ifTemplate), protectedExporter, 4739, 1);
  records(d, ipfix({}, set(257, ifRecord(1, 'mine', ''))), protectedExporter, 4739, 1);
  assert.equal(records(d, ipfix({}, flow(1, 0)), protectedExporter, 4739, 1)[0]!.in_if_name, 'mine');
  assert.equal(d.counters().sessionsEvicted, 1, 'the least recently used unprotected session with names made room');
});

test('VRF names: options scoped by ingressVRFID with VRFname name in_vrf and out_vrf; the ids are written too', () => {
  const d = new WasmDecoder();
  const vrf = set(2, '0110 0003  0008 0004  00ea 0004  00eb 0004'); // 272: src, ingressVRFID, egressVRFID
  const vrfOptions = set(3, '0111 0002 0001  00ea 0004  00ec 0020'); // 273: scope ingressVRFID, VRFname (32 bytes, NUL padded)
  records(d, ipfix({}, vrf, vrfOptions));
  records(d, ipfix({}, set(273, `${u32(10)} ${text('red', 32)} ${u32(20)} ${text('blue', 32)}`)));
  const [r] = records(d, ipfix({}, set(272, `c0000201 ${u32(10)} ${u32(20)}`)));
  assert.deepEqual([r!.in_vrf, r!.out_vrf, r!.in_vrf_name, r!.out_vrf_name], [10, 20, 'red', 'blue']);
  const [other] = records(d, ipfix({}, set(272, `c0000201 ${u32(0)} ${u32(30)}`)));
  assert.deepEqual([other!.in_vrf, other!.out_vrf, other!.in_vrf_name, other!.out_vrf_name], [0, 30, undefined, undefined]);
});

test('NBAR application names: records carrying only applicationId get applicationName; the id is written as "engine:selector"', () => {
  const d = new WasmDecoder();
  const data = set(2, '0120 0002  0008 0004  005f 0004'); // 288: src, applicationId (4 bytes)
  // 289 (Cisco's): scope applicationId, applicationName (24 bytes), applicationDescription (variable).
  const nbar = set(3, '0121 0003 0001  005f 0004  0060 0018  005e ffff');
  records(d, ipfix({}, data, nbar));
  records(d, ipfix({}, set(289, `0d0001c5 ${text('http', 24)} ${text('Hypertext Transfer Protocol')}` +
    `0d000035 ${text('', 24)} ${text('Domain Name System')}`)));
  const [http, dns, unknown] = records(d, ipfix({}, set(288, 'c0000201 0d0001c5  c0000201 0d000035  c0000201 03000050')));
  assert.deepEqual([http!.applicationId, http!.applicationName], ['13:453', 'http']);
  assert.deepEqual([dns!.applicationId, dns!.applicationName], ['13:53', 'Domain Name System'], 'no name: the description');
  assert.deepEqual([unknown!.applicationId, unknown!.applicationName], ['3:80', undefined]);
  // A record that carries its own applicationName keeps it.
  records(d, ipfix({}, set(2, '0122 0002  005f 0004  0060 ffff')));
  assert.equal(records(d, ipfix({}, set(290, `0d0001c5 ${text('own')}`)))[0]!.applicationName, 'own');
});

test('NetFlow v9: options scoped by the Interface scope type (2) name interfaces too', () => {
  const d = new WasmDecoder();
  const pkt = (...sets: Uint8Array[]): Uint8Array => v9({ uptime: 1000, unixSecs: 1_700_000_000 }, ...sets);
  // Template 300: in_if, out_if, bytes; options template 301: scope Interface (4 bytes), interfaceName (16 bytes).
  records(d, pkt(set(0, '012c 0003  000a 0004  000e 0004  0001 0004'), set(1, '012d 0004 0004  0002 0004  0052 0010')));
  records(d, pkt(set(301, `${u32(7)} ${text('eth0', 16)} ${u32(8)} ${text('eth1', 16)} 0000`)));
  const [r] = records(d, pkt(set(300, `${u32(7)} ${u32(8)} 000003e8`)));
  assert.deepEqual([r!.in_if, r!.in_if_name, r!.out_if, r!.out_if_name], [7, 'eth0', 8, 'eth1']);
});

test('decoder.fields selects the name fields like any other (the mask runs past 32 fields)', () => {
  const d = decoder({ fields: ['in_if', 'in_if_name', 'applicationName'] });
  records(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', ''))));
  assert.deepEqual(records(d, ipfix({}, flow(3, 3)))[0], { in_if: 3, in_if_name: 'Gi0/1' });
});

test('a state snapshot keeps the names: a restored decoder names interfaces from the first datagram', () => {
  const d = decoder();
  records(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', '') + ifRecord(4, 'Gi0/2', ''))));
  const snapshot = d.exportState();
  const restored = new WasmDecoder();
  assert.equal(restored.importState(snapshot, T0), 1);
  assert.equal(restored.counters().names, 2);
  const [r] = records(restored, ipfix({}, flow(3, 4)));
  assert.deepEqual([r!.in_if_name, r!.out_if_name], ['Gi0/1', 'Gi0/2']);
  // A damaged name is refused with the snapshot (checked whole before anything changes).
  const bad = Buffer.from(snapshot);
  const at = bad.indexOf('Gi0/1');
  bad[at] = 0x22; // '"' unescaped
  assert.equal(new WasmDecoder().importState(bad, T0), -2);
});

test('an evicted session loses its names with its templates', () => {
  const d = decoder({ maxSessions: 2 });
  records(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', ''))));
  assert.equal(d.counters().names, 1);
  records(d, ipfix({}, dataTemplate), address('192.0.2.2'));
  records(d, ipfix({}, dataTemplate), address('192.0.2.3')); // evicts 192.0.2.1, the least recently used
  const c = d.counters();
  assert.deepEqual([c.sessionsEvicted, c.names], [1, 0]);
  const [r] = records(d, ipfix({}, dataTemplate, flow(3, 0)));
  assert.equal(r!.in_if_name, undefined, 'the exporter comes back: its names must be sent again');
});

test('options records as records (routing.options_topic): after the data records, marked in the index, fields by name', () => {
  const d = decoder();
  assert.deepEqual(decode(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', 'up')), flow(3, 0))).options, [], 'off by default');
  d.setOptionsOutput(true);
  const sampler = set(3, '0130 0003 0001  0095 0004  0022 0004  a001 0002 00000009'); // scope observationDomainId, samplingInterval, enterprise element
  const { data, options } = decode(d, ipfix({ domain: 5 }, dataTemplate, ifTemplate, set(257, ifRecord(3, 'Gi0/1', 'up')), flow(3, 0), sampler,
    set(304, '00000005 00000040 abcd')));
  assert.equal(data.length, 1);
  assert.equal(data[0]!.in_if_name, 'Gi0/1');
  assert.deepEqual(options, [
    { dvc: '192.0.2.1', time: T0, version: 10, odid: 5, tid: 257, scope_fields: 1, in_if: 3, interfaceName: 'Gi0/1', interfaceDescription: 'up' },
    { dvc: '192.0.2.1', time: T0, version: 10, odid: 5, tid: 304, scope_fields: 1, observationDomainId: 5, samplingInterval: 64, e9_8193: 'abcd' },
  ]);
  const c = d.counters();
  assert.equal(c.optionsRecordsWritten, 2);
  // NetFlow v9: scope types by name.
  const v9d = new WasmDecoder();
  v9d.setOptionsOutput(true);
  const { options: v9options } = decode(v9d, v9({ uptime: 1000, unixSecs: 1_700_000_000 },
    set(1, '012d 0004 0004  0002 0004  0052 0010'), set(301, `${u32(7)} ${text('eth0', 16)}`)));
  assert.deepEqual(v9options, [{ dvc: '192.0.2.1', time: T0, version: 9, odid: 0, tid: 301, scope_fields: 1, scope_interface: 7, interfaceName: 'eth0' }]);
  d.setOptionsOutput(false);
  assert.deepEqual(decode(d, ipfix({}, set(257, ifRecord(3, 'Gi0/1', 'up')))).options, [], 'off again');
});

test('options records name every element a definition knows (IANA, vendors) and type its value; given after start too (a reload set options_topic)', async () => {
  const { loadElementDefinitions } = await import('../../src/decoder/elements/load.js');
  const definitions = loadElementDefinitions([]);
  // Scope observationDomainId, then sourceMacAddress (56) and collectorIPv4Address (211), outside the
  // options table's own names, and an enterprise element no dictionary knows.
  const template = set(3, '0131 0004 0001  0095 0004  0038 0006  00d3 0004  8001 0002 0001869f');
  const record = set(305, '00000005 0a0b0c0d0e0f c0000209 beef');
  const expected = { dvc: '192.0.2.1', time: T0, version: 10, odid: 5, tid: 305, scope_fields: 1, observationDomainId: 5,
    sourceMacAddress: '0a:0b:0c:0d:0e:0f', collectorIPv4Address: '192.0.2.9', e99999_1: 'beef' };
  const named = new WasmDecoder({ definitions });
  named.setOptionsOutput(true);
  assert.deepEqual(decode(named, ipfix({ domain: 5 }, template, record)).options, [expected]);
  // Without definitions the same elements are hex under their unknown names ...
  const later = new WasmDecoder();
  later.setOptionsOutput(true);
  assert.deepEqual(decode(later, ipfix({ domain: 5 }, template, record)).options,
    [{ ...expected, sourceMacAddress: undefined, collectorIPv4Address: undefined, e0_56: '0a0b0c0d0e0f', e0_211: 'c0000209' }]
      .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined))));
  // ... until the definitions arrive (a reload that sets routing.options_topic brings them).
  later.setDefinitions(definitions);
  assert.deepEqual(decode(later, ipfix({ domain: 5 }, record)).options, [expected]);
});
