// Exporters behind a relay (routing.relays): for datagrams decode() is told come from a relay
// (DECODE_RELAY), each record's dvc and its index entry's RouteAt word name the exporter the record
// states (IE 130 / 131 in the record, else its session's options data), listed in the datagram's
// stated-exporter table; a record that states none keeps the relay's address and is counted. For
// every other source IE 130 / 131 change nothing. Crafted packets, then a real exporter's capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WasmDecoder, DECODE_RELAY, DECODE_PROTECTED, type DecoderOptions } from '../../src/decoder/wasm.js';
import { addressText } from '../../src/net/address.js';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { capturePath } from '../support/corpus.js';
import { set, ipfix, address } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const RELAY = address('10.0.0.5');

// Template 256: src, dst, exporterIPv4Address (130).
const withV4 = set(2, '0100 0003  0008 0004  000c 0004  0082 0004');
const statingV4 = (exporter: string) => set(256, `c0000201 c6336407 ${exporter}`);
// Template 257: src, dst, exporterIPv6Address (131).
const withV6 = set(2, '0101 0003  0008 0004  000c 0004  0083 0010');
const statingV6 = set(257, 'c0000201 c6336407 20010db8000000000000000000000007');
// Template 258: src, dst only.
const plain = set(2, '0102 0002  0008 0004  000c 0004');
const PLAIN = set(258, 'c0000201 c6336407 c0000202 c6336407');
// Options template 259, scope observationDomainId (149): exporterIPv4Address, exporterIPv6Address (as pmacct sends them).
const exporterOptions = set(3, '0103 0003 0001  0095 0004  0082 0004  0083 0010');
const optionsStating = (v4: string, v6: string) => set(259, `00000000 ${v4} ${v6}`);
const NO_V6 = '00000000000000000000000000000000';

interface Decoded {
  dvc: string[];
  /** Per record: the address it is routed by ('' = the datagram's exporter), from its RouteAt word and the stated table. */
  routes: string[];
}

function decode(d: WasmDecoder, pkt: Uint8Array, flags: number, from = RELAY): Decoded {
  const n = d.decode(pkt, from, 4739, T0, flags);
  assert.ok(n >= 0, `decode failed: ${n}`);
  const lines = Buffer.from(d.output).toString('utf8', 0, d.outputLength()).split('\n').filter(Boolean);
  assert.equal(lines.length, n);
  const { entries, stride, routeAt } = d.index;
  const routes: string[] = [];
  for (let k = 0; k < n; k++) {
    const word = entries[k * stride + routeAt]! & d.abi.stated.routeMask;
    routes.push(word === 0 ? '' : addressText(d.statedExporters, (word - 1) * d.abi.stated.entryBytes));
  }
  return { dvc: lines.map((l) => (JSON.parse(l) as { dvc: string }).dvc), routes };
}

function decoder(o: Partial<DecoderOptions> = {}): WasmDecoder {
  return new WasmDecoder(o);
}

test('a relay\'s record stating exporterIPv4Address has that address as dvc and is routed by it', () => {
  const d = decoder();
  const r = decode(d, ipfix({}, withV4, statingV4('c6336409')), DECODE_RELAY);
  assert.deepEqual(r, { dvc: ['198.51.100.9'], routes: ['198.51.100.9'] });
  assert.deepEqual([d.counters().relayStated, d.counters().relayNoStatedExporter], [1, 0]);
});

test('a relay\'s record stating exporterIPv6Address has that address as dvc and is routed by it', () => {
  const d = decoder();
  assert.deepEqual(decode(d, ipfix({}, withV6, statingV6), DECODE_RELAY), { dvc: ['2001:db8::7'], routes: ['2001:db8::7'] });
});

test('a relay\'s records that state nothing take the exporter its session\'s options data stated, kept for later datagrams', () => {
  const d = decoder();
  assert.deepEqual(decode(d, ipfix({}, exporterOptions, optionsStating('c000020a', NO_V6), plain, PLAIN), DECODE_RELAY),
    { dvc: ['192.0.2.10', '192.0.2.10'], routes: ['192.0.2.10', '192.0.2.10'] }, 'options data before the data set, in the same message');
  assert.deepEqual(decode(d, ipfix({}, PLAIN), DECODE_RELAY).routes, ['192.0.2.10', '192.0.2.10'], 'and in the next datagram');
  // IPv6 in options data (its IPv4 element zero), in another observation domain: a session of its own.
  assert.deepEqual(decode(d, ipfix({ domain: 7 }, exporterOptions, optionsStating('00000000', '20010db8000000000000000000000042'), plain, PLAIN), DECODE_RELAY).dvc,
    ['2001:db8::42', '2001:db8::42']);
  assert.deepEqual(decode(d, ipfix({}, PLAIN), DECODE_RELAY).dvc, ['192.0.2.10', '192.0.2.10'], 'domain 0 keeps its own');
  assert.equal(d.counters().relayNoStatedExporter, 0);
});

test('the record\'s own address wins over the one its options data stated', () => {
  const d = decoder();
  decode(d, ipfix({}, exporterOptions, optionsStating('c000020a', NO_V6)), DECODE_RELAY);
  assert.deepEqual(decode(d, ipfix({}, withV4, statingV4('c6336409'), plain, PLAIN), DECODE_RELAY),
    { dvc: ['198.51.100.9', '192.0.2.10', '192.0.2.10'], routes: ['198.51.100.9', '192.0.2.10', '192.0.2.10'] });
});

test('a relay\'s record that states no exporter keeps the relay\'s address and is counted', () => {
  const d = decoder();
  assert.deepEqual(decode(d, ipfix({}, plain, PLAIN), DECODE_RELAY), { dvc: ['10.0.0.5', '10.0.0.5'], routes: ['', ''] });
  // Zero addresses state nothing (pmacct sends :: beside its IPv4 address).
  assert.deepEqual(decode(d, ipfix({}, withV4, statingV4('00000000')), DECODE_RELAY), { dvc: ['10.0.0.5'], routes: [''] });
  decode(d, ipfix({}, exporterOptions, optionsStating('00000000', NO_V6)), DECODE_RELAY);
  assert.deepEqual(decode(d, ipfix({}, PLAIN), DECODE_RELAY).routes, ['', '']);
  const c = d.counters();
  assert.deepEqual([c.relayNoStatedExporter, c.relayStated, c.relayTableFull], [5, 0, 0]);
});

test('records of several exporters in one relay datagram each get their own entry of the stated table', () => {
  const d = decoder();
  const r = decode(d, ipfix({}, withV4, plain, set(256, 'c0000201 c6336407 c6336409  c0000201 c6336407 c000020a  c0000201 c6336407 c6336409'), PLAIN), DECODE_RELAY);
  assert.deepEqual(r.dvc, ['198.51.100.9', '192.0.2.10', '198.51.100.9', '10.0.0.5', '10.0.0.5']);
  assert.deepEqual(r.routes, ['198.51.100.9', '192.0.2.10', '198.51.100.9', '', '']);
  const { entries, stride, routeAt } = d.index;
  assert.deepEqual([0, 1, 2, 3, 4].map((k) => entries[k * stride + routeAt]), [1, 2, 1, 0, 0], 'entry + 1, 0 for the datagram\'s exporter');
});

test('a datagram stating more exporters than the table holds routes the rest by the relay, counted', () => {
  const d = decoder();
  const capacity = d.abi.stated.capacity;
  const records = Array.from({ length: capacity + 2 }, (_, i) => `c0000201 c6336407 c63364${(i + 1).toString(16).padStart(2, '0')}`).join(' ');
  const r = decode(d, ipfix({}, withV4, set(256, records)), DECODE_RELAY);
  assert.deepEqual(r.dvc.slice(capacity - 1), [`198.51.100.${capacity}`, '10.0.0.5', '10.0.0.5']);
  assert.equal(new Set(r.routes.slice(0, capacity)).size, capacity);
  assert.equal(d.counters().relayTableFull, 2);
});

test('a datagram from a source that is no relay ignores IE 130 and 131, in records and in options data', () => {
  const d = decoder();
  const forged = decode(d, ipfix({}, withV4, statingV4('c6336409'), withV6, statingV6, exporterOptions, optionsStating('c000020a', NO_V6), plain, PLAIN),
    DECODE_PROTECTED, address('192.0.2.1'));
  assert.deepEqual(forged.dvc, ['192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.1']);
  assert.deepEqual(forged.routes, ['', '', '', '']);
  const { entries, stride, routeAt } = d.index;
  assert.deepEqual([0, 1, 2, 3].map((k) => entries[k * stride + routeAt]), [0, 0, 0, 0]);
  const c = d.counters();
  assert.deepEqual([c.relayStated, c.relayNoStatedExporter, c.relayTableFull], [0, 0, 0]);
});

test('Protobuf output names the stated exporter as sampler_address', () => {
  const d = decoder({ recordFormat: 'protobuf-bare' });
  const relayed = d.decode(ipfix({}, withV4, statingV4('c6336409')), RELAY, 4739, T0, DECODE_RELAY);
  assert.equal(relayed, 1);
  const bytes = Buffer.from(d.output.subarray(0, d.outputLength()));
  assert.ok(bytes.includes(Buffer.from([0xc6, 0x33, 0x64, 0x09])), 'the stated address is in the message');
  assert.ok(!bytes.includes(Buffer.from([10, 0, 0, 5])), 'the relay\'s is not');
});

test('pmacct\'s capture sent through a relay: every record has the exporter its options data states (127.0.0.2) as dvc', () => {
  const d = decoder();
  const dvcs = new Map<string, number>();
  let records = 0;
  readCapture(readFileSync(capturePath('pmacct_v10_mixed')), (g) => {
    // The relay's address, not the capture's 127.0.0.2: only the options data tells the exporter.
    const r = decode(d, g.payload, DECODE_RELAY, address('127.0.0.1'));
    records += r.dvc.length;
    for (const [k, dvc] of r.dvc.entries()) {
      dvcs.set(dvc, (dvcs.get(dvc) ?? 0) + 1);
      assert.equal(r.routes[k], dvc);
    }
  });
  assert.ok(records > 1000);
  assert.deepEqual([...dvcs.keys()], ['127.0.0.2']);
  assert.deepEqual([d.counters().relayStated, d.counters().relayNoStatedExporter], [records, 0]);
});
