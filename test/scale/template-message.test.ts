// The shared template topic's messages (src/scale/template-message.ts, template-publisher.ts):
// what one decoder learnt, split into one message per template and per session, read back and
// imported into a decoder that never saw the exporters, decodes their data alone to the same
// records with nothing held. Publishing sends only changes, tombstones only its own keys, and a
// later definition replaces an older one on import while an older one never replaces a newer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WasmDecoder, stateLayout } from '../../src/decoder/wasm.js';
import { corpusCaptures, pcapsDir } from '../support/corpus.js';
import { readDatagrams, dataOnly, decodeAll, type CaptureDatagram } from '../state/capture-split.js';
import { splitSnapshot, templateProblem, sessionSnapshots, KIND_SESSION, KIND_TEMPLATE } from '../../src/scale/template-message.js';
import { TemplatePublisher } from '../../src/scale/template-publisher.js';
import { ipfix, set, address } from '../support/packets.js';

const templateCaptures = corpusCaptures.filter((name) => !name.includes('_v5_'));
const UNKNOWN_TEMPLATE = new WasmDecoder().statusNames.indexOf('unknown_template');


/** A topic as compaction leaves it: the last value per key. */
class FakeTopic {
  readonly messages = new Map<string, Buffer | null>();
  publish(key: string, value: Buffer | null): void {
    this.messages.set(key, value);
  }
  values(): Buffer[] {
    return [...this.messages.values()].filter((v): v is Buffer => v !== null);
  }
}

for (const name of templateCaptures) {
  test(`${name}: templates published as messages, imported elsewhere, decode the data alone, none held`, () => {
    const datagrams = readDatagrams(join(pcapsDir, `${name}.pcap`));
    const lastMs = Math.max(...datagrams.map((d) => d.timeMs));
    const original = new WasmDecoder();
    decodeAll(original, datagrams);
    const topic = new FakeTopic();
    const publisher = new TemplatePublisher(stateLayout(), 1_800_000, topic);
    const sent = publisher.update(original.exportState());
    assert.ok(sent > 0);
    assert.equal(publisher.update(original.exportState()), 0, 'nothing changed: nothing published again');
    const kinds = topic.values().map((v) => v[1]);
    assert.ok(kinds.includes(KIND_SESSION) && kinds.includes(KIND_TEMPLATE));
    assert.equal(kinds.filter((k) => k === KIND_TEMPLATE).length, original.templates().length, 'one message per template');
    for (const v of topic.values()) assert.equal(templateProblem(v, stateLayout()), null);

    const restored = new WasmDecoder();
    for (const snapshot of sessionSnapshots(topic.values(), stateLayout())) assert.ok(restored.importState(snapshot, lastMs, true) >= 0);
    const expected = decodeAll(original, datagrams, dataOnly);
    const actual = decodeAll(restored, datagrams, dataOnly);
    assert.ok(expected.length > 0);
    assert.deepEqual(actual, expected);
    assert.equal(restored.counters().statuses[UNKNOWN_TEMPLATE], 0);
    assert.equal(restored.counters().heldSets, 0);
  });
}

const T1 = '0100000300080004000c0004' + '00040001'; // template 256: src, dst, proto
const T1_CHANGED = '0100000200080004000c0004'; // template 256 redefined: src, dst
const record = (src: string, dst: string, proto: number) => `${src}${dst}${proto.toString(16).padStart(2, '0')}`;
const exporter = address('192.0.2.9');

test('a later definition replaces an older one on import; an older one never replaces a newer', () => {
  const a = new WasmDecoder();
  a.decode(ipfix({ exportTime: 1_000 }, set(2, T1)), exporter, 4000, 1_000_000);
  const older = new FakeTopic();
  new TemplatePublisher(stateLayout(), 0, older).update(a.exportState());
  const b = new WasmDecoder();
  b.decode(ipfix({ exportTime: 2_000 }, set(2, T1_CHANGED)), exporter, 4000, 2_000_000);
  const newer = new FakeTopic();
  new TemplatePublisher(stateLayout(), 0, newer).update(b.exportState());

  // b knows the newer template: a's older one does not replace it.
  for (const s of sessionSnapshots(older.values(), stateLayout())) b.importState(s, 2_000_001, true);
  assert.equal(b.decode(ipfix({ exportTime: 2_001 }, set(256, record('0a000001', '0a000002', 6) + '00')), exporter, 4000, 2_000_002), 1);
  assert.match(Buffer.from(b.output.subarray(0, b.outputLength())).toString(), /"proto":0/, 'still the two-field template');
  // a learns b's later one from the topic: it replaces its own.
  for (const s of sessionSnapshots(newer.values(), stateLayout())) a.importState(s, 2_000_001, true);
  assert.equal(a.decode(ipfix({ exportTime: 2_001 }, set(256, record('0a000001', '0a000002', 6) + '00')), exporter, 4000, 2_000_002), 1);
  assert.match(Buffer.from(a.output.subarray(0, a.outputLength())).toString(), /"proto":0/);
  // Without newerWins (a state file), the decoder keeps its own.
  const c = new WasmDecoder();
  c.decode(ipfix({ exportTime: 1_000 }, set(2, T1)), exporter, 4000, 1_000_000);
  for (const s of sessionSnapshots(newer.values(), stateLayout())) c.importState(s, 2_000_001);
  c.decode(ipfix({ exportTime: 2_001 }, set(256, record('0a000001', '0a000002', 6))), exporter, 4000, 2_000_002);
  assert.match(Buffer.from(c.output.subarray(0, c.outputLength())).toString(), /"proto":6/);
});

test('a withdrawn template gets a tombstone from the instance that published it, not from one that only received it', () => {
  const a = new WasmDecoder({ udpWithdrawals: 'apply' }); // withdrawals are ignored by default (RFC 7011 section 8.4, UDP)
  a.decode(ipfix({ exportTime: 1_000 }, set(2, T1)), exporter, 4000, 1_000_000);
  const topic = new FakeTopic();
  const own = new TemplatePublisher(stateLayout(), 0, topic);
  own.update(a.exportState());
  const key = [...topic.messages.keys()].find((k) => k.endsWith('/256'))!;
  assert.equal(key, '192.0.2.9/4000/0/256');

  // Another instance received it from the topic and then lost it (expired there): no tombstone.
  const otherTopic = new FakeTopic();
  const other = new TemplatePublisher(stateLayout(), 0, otherTopic);
  other.received(splitSnapshot(a.exportState(), stateLayout()).values());
  const b = new WasmDecoder();
  for (const s of sessionSnapshots(topic.values(), stateLayout())) b.importState(s, 1_000_001, true);
  assert.equal(other.update(b.exportState()), 0, 'what it received is not published back');
  assert.equal(other.update(new WasmDecoder().exportState()), 0, 'nor tombstoned when it goes');

  // The exporter withdraws template 256 (an IPFIX withdrawal: a template record with no fields).
  a.decode(ipfix({ exportTime: 1_001 }, set(2, '01000000')), exporter, 4000, 1_000_500);
  assert.ok(own.update(a.exportState()) >= 1);
  assert.equal(topic.messages.get(key), null, 'tombstone');
  // Its session kept nothing else worth sharing: the session's message goes too.
  assert.equal(topic.messages.get('192.0.2.9/4000/0/session'), null);
  assert.equal(own.tombstones, 2);
});

test('a template sent again unchanged is published again only once half its lifetime passed', () => {
  const lifetimeMs = 60_000;
  const a = new WasmDecoder({ templateLifetimeSec: 60 });
  const topic = new FakeTopic();
  const p = new TemplatePublisher(stateLayout(), lifetimeMs, topic);
  a.decode(ipfix({ exportTime: 1_000 }, set(2, T1)), exporter, 4000, 1_000_000);
  p.update(a.exportState());
  const first = p.published;
  a.decode(ipfix({ exportTime: 1_010 }, set(2, T1)), exporter, 4000, 1_010_000);
  p.update(a.exportState());
  assert.equal(p.published, first, '10 s later: not again');
  a.decode(ipfix({ exportTime: 1_031 }, set(2, T1)), exporter, 4000, 1_031_000);
  p.update(a.exportState());
  assert.ok(p.published > first, '31 s later (past 30 s): again, so readers do not expire it');
});

test('a malformed template message is named: another version, a broken record', () => {
  const a = new WasmDecoder();
  a.decode(ipfix({ exportTime: 1_000 }, set(2, T1)), exporter, 4000, 1_000_000);
  const pieces = [...splitSnapshot(a.exportState(), stateLayout()).values()];
  const template = pieces.find((p) => p.value[1] === KIND_TEMPLATE)!.value;
  const layout = stateLayout();
  assert.equal(templateProblem(template, layout), null);
  const wrongVersion = Buffer.from(template);
  wrongVersion[0] = 99;
  assert.equal(templateProblem(wrongVersion, layout), 'template_version');
  const wrongState = Buffer.from(template);
  wrongState.writeUInt32LE(layout.version + 1, 4);
  assert.equal(templateProblem(wrongState, layout), 'template_version');
  assert.equal(templateProblem(template.subarray(0, template.length - 2), layout), 'template_malformed');
  assert.equal(templateProblem(Buffer.from('garbage garbage garbage'), layout), 'template_version');
  const badKind = Buffer.from(template);
  badKind[1] = 7;
  assert.equal(templateProblem(badKind, layout), 'template_malformed');
});

test('a key tombstoned by another instance is not brought back by one that still holds it, unless it changes there', () => {
  const a = new WasmDecoder();
  a.decode(ipfix({ exportTime: 1_000 }, set(2, T1)), exporter, 4000, 1_000_000);
  const topic = new FakeTopic();
  const p = new TemplatePublisher(stateLayout(), 0, topic);
  p.update(a.exportState());
  const key = '192.0.2.9/4000/0/256';
  p.forget(key); // another instance saw the withdrawal
  topic.messages.delete(key);
  a.decode(ipfix({ exportTime: 1_001 }, set(256, record('0a000001', '0a000002', 6))), exporter, 4000, 1_000_100);
  p.update(a.exportState());
  assert.equal(topic.messages.has(key), false, 'still held here, not published back');
  a.decode(ipfix({ exportTime: 1_002 }, set(2, T1_CHANGED)), exporter, 4000, 1_000_200);
  p.update(a.exportState());
  assert.ok(topic.messages.get(key), 'redefined here: published');
});
