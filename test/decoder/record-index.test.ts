// The decoder's boundary describes itself: the host reads the record index and the describe
// entries through the layouts the module exports, checks them at load, and no reader assumes
// them. Checked here with layouts the decoder does not use (readers) and with exports made
// inconsistent on purpose (the load check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAbi, DecoderError, ABI_VERSION } from '../../src/decoder/abi.js';
import { WasmDecoder, decoderModule, type RecordIndex } from '../../src/decoder/wasm.js';
import { TapForwarder } from '../../src/tap/forwarder.js';
import { BatchBuilder, encodeHeaders } from '../../src/kafka/protocol/record-batch.js';
import { set, ipfix, address } from '../support/packets.js';

/** `values` laid out as a decoder with this layout would: records `gap` bytes apart, entries of `stride` words. */
function layout(values: string[], stride: number, endAt: number, hashAt: number, routeAt: number, gap: number): { output: Buffer; index: RecordIndex } {
  const separator = '\n'.padStart(gap, '\r');
  const output = Buffer.from(values.map((v) => v + separator).join(''));
  const entries = new Uint32Array(values.length * stride).fill(0xdeadbeef);
  let end = 0;
  values.forEach((v, k) => {
    end += Buffer.byteLength(v);
    entries[k * stride + endAt] = end;
    entries[k * stride + hashAt] = 1000 + k;
    entries[k * stride + routeAt] = 0;
    end += gap;
  });
  return { output, index: { entries, stride, endAt, hashAt, routeAt, routeOptions: 2 ** 31, gap } };
}

const values = Array.from({ length: 12 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i * 7)}"}`);
const usual = layout(values, 3, 0, 1, 2, 1);
const unusual = layout(values, 4, 2, 0, 3, 2);

test('the tap and the batch builder read records through the index layout they are given', () => {
  const taps = [usual, unusual].map(({ output, index }) => {
    const tap = new TapForwarder();
    tap.configure({ tenants: null, exporters: null, maxRecordsPerSecond: 100 });
    tap.offer('acme', '192.0.2.1', output, index, values.length);
    return tap.flush()!.records.map((r) => r.json);
  });
  assert.deepEqual(taps[0], values);
  assert.deepEqual(taps[1], values);

  const headers = encodeHeaders({ schema: '1', exporter: '192.0.2.1' });
  const framed = [usual, unusual].map(({ output, index }) => {
    const b = new BatchBuilder(1 << 20, 64);
    assert.equal(b.appendRun(null, 0, -1, output, 0, index, 0, 5, headers, 7, 1000), 5);
    const from = index.entries[4 * index.stride + index.endAt]! + index.gap;
    assert.equal(b.appendRun(null, 0, -1, output, from, index, 5, values.length - 5, headers, 7, 1000), values.length - 5);
    return b.records();
  });
  assert.ok(framed[0]!.equals(framed[1]!), 'the same records, framed byte for byte alike');
});

test('the decoder exports its layouts and the host reads them from there', () => {
  const d = new WasmDecoder();
  const n = d.decode(ipfix({}, set(2, '0100 0002 0008 0004 000c 0004'), set(256, 'c0000201 c6336407 c0000202 c6336407')),
    address('192.0.2.1'), 4739, 1_700_000_000_000);
  assert.equal(n, 2);
  const { entries, stride, endAt, gap } = d.index;
  assert.deepEqual([stride, endAt, gap], [d.abi.index.stride, d.abi.index.endAt, d.abi.index.gap]);
  const second = Buffer.from(d.output.subarray(entries[endAt]! + gap, entries[stride + endAt]!)).toString();
  assert.equal(JSON.parse(second).src, '192.0.2.2');
  const [session] = d.sessions();
  assert.equal(session?.port, 4739);
  assert.deepEqual(session?.address, address('192.0.2.1'));
  const [template] = d.templates();
  assert.deepEqual(template?.fields, [{ id: 8, enterprise: false, length: 4 }, { id: 12, enterprise: false, length: 4 }]);
  assert.equal(template?.session, session?.index);
});

/** The release module's exports with some replaced (a number: an i32 global) or removed (undefined). */
function altered(changes: Record<string, number | undefined>): WebAssembly.Instance {
  const exports: Record<string, unknown> = { ...new WebAssembly.Instance(decoderModule(), { env: { abort: () => undefined } }).exports };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete exports[name];
    else exports[name] = new WebAssembly.Global({ value: 'i32' }, value);
  }
  return { exports } as unknown as WebAssembly.Instance;
}

test('a missing or inconsistent layout export is refused at load, naming it', () => {
  assert.doesNotThrow(() => readAbi(altered({})));
  const refused = (changes: Record<string, number | undefined>, named: RegExp): void => {
    assert.throws(() => readAbi(altered(changes)), (err: unknown) => err instanceof DecoderError && err.code === 'FG_ERR_ABI_MISMATCH' && named.test(err.message));
  };
  refused({ 'RecordIndex.Gap': undefined }, /does not export RecordIndex\.Gap/);
  refused({ 'RecordIndex.HashAt': 0 }, /RecordIndex\.EndAt, HashAt and RouteAt are not three words/);
  refused({ 'RecordIndex.EndAt': 3 }, /RecordIndex\.EndAt = 3/);
  refused({ 'RecordIndex.RouteAt': 1 }, /RecordIndex\.EndAt, HashAt and RouteAt are not three words/);
  refused({ 'RecordIndex.RouteAt': undefined }, /does not export RecordIndex\.RouteAt/);
  refused({ ROUTE_OPTIONS_BIT: 32 }, /ROUTE_OPTIONS_BIT = 32/);
  refused({ 'StatedExporters.EntryBytes': 4 }, /StatedExporters\.EntryBytes = 4/);
  refused({ 'StatedExporters.Capacity': 0 }, /StatedExporters\.Capacity = 0/);
  refused({ 'DECODE_RELAY': 4 }, /DECODE_RELAY/);
  refused({ 'SessionEntry.Bytes': 64 }, /SessionEntry\.Index = 64 \(4 bytes\) does not fit SessionEntry\.Bytes = 64/);
  refused({ 'SessionEntry.Port': 14 }, /SessionEntry\.Port = 14 overlaps SessionEntry\.Address/);
  refused({ 'TemplateEntry.DefinedMs': undefined }, /TemplateEntry\.DefinedMs/);
  refused({ 'TemplateField.IdShift': 8 }, /TemplateField/);
  refused({ 'LAST_DATAGRAM_STATUS': 3 }, /DecoderTrap is not a whole-datagram status/);
  refused({ 'Status.BadSet': undefined }, /Status has no member/);
  refused({ 'ABI_VERSION': 2 }, new RegExp(`decoder ABI 2, host expects ${ABI_VERSION}`));
});
