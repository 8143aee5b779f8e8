// Decoder state snapshots (assembly/state.ts): what one decoder learnt from a capture, exported
// and imported into a new decoder, decodes the capture's data alone to the same records, with
// nothing held; templates past their lifetime stay out; a foreign or broken snapshot is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WasmDecoder, stateLayout, type TemplateInfo } from '../../src/decoder/wasm.js';
import { addressText } from '../../src/net/address.js';
import { corpusCaptures, pcapsDir } from '../support/corpus.js';
import { readDatagrams, dataOnly, decodeAll, type CaptureDatagram } from './capture-split.js';
import { ipfix, set, address } from '../support/packets.js';

const templateCaptures = corpusCaptures.filter((name) => !name.includes('_v5_'));
const UNKNOWN_TEMPLATE = new WasmDecoder().statusNames.indexOf('unknown_template');


/** Templates keyed by their exporter session, not by the decoder's session index. */
function templateKeys(decoder: WasmDecoder): string[] {
  const sessions = new Map(decoder.sessions().map((s) => [s.index, `${addressText(s.address)}/${s.port}/${s.domain}`]));
  return decoder.templates().map((t: TemplateInfo) => JSON.stringify({ ...t, session: sessions.get(t.session) })).sort();
}

function learnt(name: string): { datagrams: CaptureDatagram[]; original: WasmDecoder; snapshot: Uint8Array; lastMs: number } {
  const datagrams = readDatagrams(join(pcapsDir, `${name}.pcap`));
  const original = new WasmDecoder();
  decodeAll(original, datagrams);
  const lastMs = Math.max(...datagrams.map((d) => d.timeMs));
  return { datagrams, original, snapshot: original.exportState(), lastMs };
}

for (const name of templateCaptures) {
  test(`${name}: a restored decoder decodes data without templates to the same records, none held`, () => {
    const { datagrams, original, snapshot, lastMs } = learnt(name);
    assert.equal(new DataView(snapshot.buffer).getUint32(0, true), stateLayout().version);
    const restored = new WasmDecoder();
    const sessions = restored.importState(snapshot, lastMs);
    assert.ok(sessions > 0, 'sessions restored');
    assert.deepEqual(templateKeys(restored), templateKeys(original));

    // Without the snapshot, the same datagrams wait for templates: the test depends on them.
    const empty = new WasmDecoder();
    decodeAll(empty, datagrams, dataOnly);
    assert.ok(empty.counters().statuses[UNKNOWN_TEMPLATE]! > 0, 'data-only datagrams need templates');

    const expected = decodeAll(original, datagrams, dataOnly);
    const actual = decodeAll(restored, datagrams, dataOnly);
    assert.ok(expected.length > 0);
    assert.deepEqual(actual, expected);
    const c = restored.counters();
    assert.equal(c.statuses[UNKNOWN_TEMPLATE], 0);
    assert.equal(c.heldSets, 0);
    assert.equal(actual.join('').split('\n').length - 1, c.records);
  });
}

test('templates past their lifetime at restore time are not restored; the others are', () => {
  const { original, snapshot } = learnt('softflowd_v10_mixed');
  const defined = original.templates().map((t) => t.definedMs);
  const lifetimeMs = 60_000;
  const oldest = Math.min(...defined);
  const newest = Math.max(...defined);
  const within = new WasmDecoder({ templateLifetimeSec: 60 });
  within.importState(snapshot, newest + lifetimeMs);
  assert.equal(within.templates().length, defined.filter((d) => newest + lifetimeMs - d <= lifetimeMs).length);
  assert.ok(within.templates().length > 0);
  const after = new WasmDecoder({ templateLifetimeSec: 60 });
  assert.ok(after.importState(snapshot, newest + lifetimeMs + 1) > 0, 'the sessions and their options data still come back');
  assert.equal(after.templates().length, 0);
  const never = new WasmDecoder({ templateLifetimeSec: 0 });
  never.importState(snapshot, oldest + 365 * 86_400_000);
  assert.equal(never.templates().length, defined.length);
});

test('restoring applies the decoder\'s caps: templates per exporter and sessions', () => {
  const { original, snapshot, lastMs } = learnt('multi_exporter');
  const perSession = new Map<number, number>();
  for (const t of original.templates()) perSession.set(t.session, (perSession.get(t.session) ?? 0) + 1);
  const capped = new WasmDecoder({ maxTemplatesPerExporter: 1 });
  capped.importState(snapshot, lastMs);
  assert.equal(capped.templates().length, perSession.size);
  const refused = [...perSession.values()].reduce((a, n) => a + n - 1, 0);
  assert.equal(capped.counters().statuses[capped.statusNames.indexOf('template_limit')], refused);
  const oneSession = new WasmDecoder({ maxSessions: 1 });
  assert.equal(oneSession.importState(snapshot, lastMs), 1);
  assert.equal(oneSession.sessions().length, 1);
});

test('a snapshot of another version is refused with -1, a broken one with -2, never a trap, and nothing changes', () => {
  const { snapshot, lastMs, datagrams } = learnt('softflowd_v9_mixed');
  const other = Uint8Array.from(snapshot);
  new DataView(other.buffer).setUint32(0, stateLayout().version + 1, true);
  const d = new WasmDecoder();
  assert.equal(d.importState(other, lastMs), -1);
  assert.equal(d.importState(new Uint8Array(3), lastMs), -2);
  assert.equal(d.importState(new Uint8Array(stateLayout().capacity + 1), lastMs), -2);
  for (let cut = 1; cut < snapshot.length; cut += Math.max(1, Math.floor(snapshot.length / 97))) {
    assert.equal(d.importState(snapshot.subarray(0, cut), lastMs), -2, `cut at ${cut}`);
  }
  assert.equal(d.templates().length, 0);
  assert.equal(d.sessions().length, 0);
  // Random damage: refused or restored, never a trap; the decoder goes on decoding.
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 300; i++) {
    const bad = Uint8Array.from(snapshot);
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
    const fresh = new WasmDecoder();
    const n = fresh.importState(bad, lastMs);
    assert.ok(n >= -2, `import returned ${n}`);
    for (const g of datagrams.slice(0, 20)) fresh.decode(g.payload, g.address, g.port, g.timeMs);
  }
  const garbage = new Uint8Array(4096).map(() => Math.floor(random() * 256));
  new DataView(garbage.buffer).setUint32(0, stateLayout().version, true);
  assert.equal(new WasmDecoder().importState(garbage, lastMs), -2);
});

test('the state generation moves when templates or options data change, not for data', () => {
  const datagrams = readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
  const d = new WasmDecoder();
  const start = d.stateGeneration();
  decodeAll(d, datagrams);
  const afterTemplates = d.stateGeneration();
  assert.notEqual(afterTemplates, start);
  decodeAll(d, datagrams, dataOnly);
  assert.equal(d.stateGeneration(), afterTemplates, 'data sets alone change nothing worth saving');
  d.sweep(Math.max(...datagrams.map((g) => g.timeMs)) + 3_600_000);
  assert.notEqual(d.stateGeneration(), afterTemplates, 'expired templates and released sessions change it');
});

test('options data in use comes back: sampling rate and system init time, and enterprise (reverse) elements', () => {
  const exporter = address('192.0.2.9');
  const definitions = ipfix({ domain: 1, seq: 0 },
    // Options template 300: scope observationDomainId, samplingInterval, systemInitTimeMilliseconds.
    set(3, '012c 0003 0001  0095 0004  0022 0004  00a0 0008'),
    // Template 400: sourceIPv4Address, octetDeltaCount, flowStartSysUpTime, reverse octetDeltaCount (PEN 29305).
    set(2, '0190 0004  0008 0004  0001 0004  0016 0004  8001 0004 00007279'),
    set(300, '00000001  00000064  0000018bcfe56800'));
  const data = ipfix({ domain: 1, seq: 1 }, set(400, 'c0000201 000003e8 00001388 000007d0'));
  const original = new WasmDecoder();
  assert.equal(original.decode(definitions, exporter, 4739, 1_700_000_000_000), 0);
  const snapshot = original.exportState();
  const restored = new WasmDecoder();
  assert.equal(restored.importState(snapshot, 1_700_000_001_000), 1);
  const records = (d: WasmDecoder) => {
    assert.equal(d.decode(data, exporter, 4739, 1_700_000_002_000), 1);
    return Buffer.from(d.output.subarray(0, d.outputLength())).toString();
  };
  const expected = records(original);
  assert.match(expected, /"sampling":100/);
  assert.match(expected, /"start":1700000005000/);
  assert.match(expected, /"rbytes":2000/);
  assert.equal(records(restored), expected);
  assert.equal(restored.sessions()[0]!.samplingRate, 100);
});
