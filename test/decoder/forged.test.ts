// Forged datagrams against real captures: one datagram with an exporter's own address, port and
// domain must not cost the exporter its records (a template withdrawal, RFC 7011 section 8.4) nor
// make its lost-records estimate jump (a sequence number far from the real stream's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, type DecoderOptions } from '../../src/decoder/wasm.js';
import { capturePath } from '../support/corpus.js';
import { readDatagrams, type CaptureDatagram } from '../state/capture-split.js';
import { hex, set } from '../support/packets.js';

const ipfixCapture = () => readDatagrams(capturePath('softflowd_v10_mixed'));
const v9Capture = () => readDatagrams(capturePath('softflowd_v9_mixed'));
const v5Capture = () => readDatagrams(capturePath('fprobe_v5_mixed'));

function view(m: Uint8Array): DataView {
  return new DataView(m.buffer, m.byteOffset, m.byteLength);
}

/** Where a message header keeps its sequence number (IPFIX, NetFlow v9, v5). */
function sequenceOffset(m: Uint8Array): number {
  const version = view(m).getUint16(0);
  return version === 10 ? 8 : version === 9 ? 12 : 16;
}

function sequenceOf(m: Uint8Array): number {
  return view(m).getUint32(sequenceOffset(m));
}

/**
 * What a forger who saw one datagram sends: `real` with sequence number `seq`, its header alone
 * (IPFIX, v9), or whole (v5, whose header must count at least one record).
 */
function forgedHeader(real: Uint8Array, seq: number): Uint8Array {
  const version = view(real).getUint16(0);
  const out = Uint8Array.from(version === 5 ? real : real.subarray(0, version === 10 ? 16 : 20));
  if (version === 10) view(out).setUint16(2, out.length);
  else if (version === 9) view(out).setUint16(2, 0); // count
  view(out).setUint32(sequenceOffset(out), seq >>> 0);
  return out;
}

/** A withdraw-all from `real`'s exporter: IPFIX template set 2 withdrawing id 2 and options template set 3 withdrawing id 3; v9 flowset 0 withdrawing id 2. */
function forgedWithdrawAll(real: Uint8Array): Uint8Array {
  const header = forgedHeader(real, sequenceOf(real));
  const sets = view(real).getUint16(0) === 10 ? [set(2, '0002 0000'), set(3, '0003 0000')] : [set(0, '0002 0000')];
  const out = new Uint8Array(header.length + sets.reduce((n, s) => n + s.length, 0));
  out.set(header);
  let o = header.length;
  for (const s of sets) {
    out.set(s, o);
    o += s.length;
  }
  if (view(real).getUint16(0) === 10) view(out).setUint16(2, out.length);
  return out;
}

/** The capture's datagrams with `forged` (from the same address and port) after datagram `after`. */
function inject(datagrams: CaptureDatagram[], after: number, ...forged: Uint8Array[]): CaptureDatagram[] {
  const at = datagrams[after]!;
  return [...datagrams.slice(0, after + 1), ...forged.map((payload) => ({ ...at, payload })), ...datagrams.slice(after + 1)];
}

/** Decodes every datagram; records per datagram. */
function run(datagrams: CaptureDatagram[], options: Partial<DecoderOptions> = {}): { d: WasmDecoder; perDatagram: number[]; records: number } {
  const d = new WasmDecoder(options);
  const perDatagram = datagrams.map((g) => d.decode(g.payload, g.address, g.port, g.timeMs));
  return { d, perDatagram, records: perDatagram.reduce((n, r) => n + Math.max(0, r), 0) };
}

/** The first datagram after which the exporter's templates are known. */
function firstWithTemplates(datagrams: CaptureDatagram[]): number {
  const d = new WasmDecoder();
  for (let i = 0; i < datagrams.length; i++) {
    const g = datagrams[i]!;
    d.decode(g.payload, g.address, g.port, g.timeMs);
    if (d.counters().templates > 0) return i;
  }
  throw new Error('no templates in the capture');
}

for (const [name, capture, withdrawals] of [['IPFIX', ipfixCapture, 2], ['NetFlow v9', v9Capture, 1]] as const) {
  test(`${name}: a forged withdraw-all between a capture's datagrams is ignored by default: every following record is decoded`, () => {
    const datagrams = capture();
    const clean = run(datagrams);
    const after = firstWithTemplates(datagrams);
    const forged = run(inject(datagrams, after, forgedWithdrawAll(datagrams[after]!.payload)));
    assert.equal(forged.records, clean.records);
    assert.deepEqual(forged.perDatagram.filter((_, i) => i !== after + 1), clean.perDatagram);
    const c = forged.d.counters();
    assert.deepEqual([c.withdrawalsIgnored, c.withdrawalsApplied, c.templatesWithdrawn], [withdrawals, 0, 0]);
    assert.equal(c.templates, clean.d.counters().templates);
    assert.equal(c.statuses[forged.d.statusNames.indexOf('unknown_template')], clean.d.counters().statuses[clean.d.statusNames.indexOf('unknown_template')]);
  });

  test(`${name}: with udpWithdrawals apply, the same withdraw-all removes the templates and is counted as applied`, () => {
    const datagrams = capture();
    const after = firstWithTemplates(datagrams);
    const d = new WasmDecoder({ udpWithdrawals: 'apply' });
    for (const g of datagrams.slice(0, after + 1)) d.decode(g.payload, g.address, g.port, g.timeMs);
    // IPFIX withdraws both kinds (ids 2 and 3); NetFlow v9 has no options withdrawal, only its data templates go.
    const withdrawn = d.templates().filter((t) => name === 'IPFIX' || t.kind === 'data').length;
    assert.ok(withdrawn > 0);
    const at = datagrams[after]!;
    d.decode(forgedWithdrawAll(at.payload), at.address, at.port, at.timeMs);
    const c = d.counters();
    assert.deepEqual([c.withdrawalsApplied, c.withdrawalsIgnored], [withdrawals, 0]);
    assert.equal(c.templatesWithdrawn, withdrawn);
    assert.equal(d.templates().filter((t) => t.kind === 'data').length, 0);
    // The exporter's next data set waits for its template: no record from it.
    const next = datagrams.slice(after + 1).find((g) => g.payload.length > 200)!;
    assert.equal(d.decode(next.payload, next.address, next.port, next.timeMs), 0);
  });
}

test('a forged sequence number far ahead of the real stream leaves its lost-records estimate as it was and is counted out of window', () => {
  for (const capture of [ipfixCapture, v9Capture, v5Capture]) {
    const datagrams = capture();
    const clean = run(datagrams).d.counters();
    const mid = Math.floor(datagrams.length / 2);
    const real = datagrams[mid]!.payload;
    for (const ahead of [1_000_000, 2 ** 30 + 5, 2 ** 31 - 1]) {
      const c = run(inject(datagrams, mid, forgedHeader(real, sequenceOf(real) + ahead))).d.counters();
      const what = `${view(real).getUint16(0)}, ${ahead} ahead`;
      assert.equal(c.sequenceLostRecords, clean.sequenceLostRecords, what);
      assert.deepEqual([c.sequenceOutOfWindow, c.sequenceResets, c.exporterRestarts], [1, 0, clean.exporterRestarts], what);
    }
  }
});

test('forged sequence numbers never move the estimate by more than the window, whichever way they jump', () => {
  const window = 1000;
  const datagrams = ipfixCapture();
  const clean = run(datagrams, { sequenceWindow: window }).d.counters();
  const mid = Math.floor(datagrams.length / 2);
  const real = datagrams[mid]!.payload;
  const seq = sequenceOf(real);
  // Within the window, beyond it, far ahead, and behind by more than reordering explains (taken as a restart).
  for (const jump of [window - 50, window + 1, 2 ** 30 + 1, -70_000, -(2 ** 31)]) {
    const c = run(inject(datagrams, mid, forgedHeader(real, seq + jump)), { sequenceWindow: window }).d.counters();
    const added = c.sequenceLostRecords - clean.sequenceLostRecords;
    assert.ok(added >= 0 && added <= window, `jump ${jump}: ${added} records added to the estimate`);
  }
});

test('two consecutive datagrams that agree on a jump past the window re-base the tracking: counted as a reset, nothing added as lost', () => {
  const datagrams = ipfixCapture();
  const clean = run(datagrams).d.counters();
  const mid = Math.floor(datagrams.length / 2);
  const real = datagrams[mid]!.payload;
  const far = sequenceOf(real) + 5_000_000;
  const c = run(inject(datagrams, mid, forgedHeader(real, far), forgedHeader(real, far))).d.counters();
  // The real stream's next datagram is far behind the new base: an exporter restart, and tracking follows it again.
  assert.deepEqual([c.sequenceOutOfWindow, c.sequenceResets, c.exporterRestarts], [1, 1, clean.exporterRestarts + 1]);
  assert.equal(c.sequenceLostRecords, clean.sequenceLostRecords);
});

test('a real gap is still counted: a datagram of N records missing from the stream is N lost records (IPFIX and v5)', () => {
  for (const capture of [ipfixCapture, v5Capture]) {
    const datagrams = capture();
    // Early in the capture: softflowd leaves its options records out of its sequence numbers while
    // the decoder counts them, so each options record after the first lowers the estimate by one.
    const k = 8;
    const { perDatagram } = run(datagrams);
    const missing = perDatagram[k]!;
    assert.ok(missing > 0);
    const c = run([...datagrams.slice(0, k), ...datagrams.slice(k + 1)]).d.counters();
    assert.equal(c.sequenceLostRecords, missing);
    assert.deepEqual([c.sequenceOutOfWindow, c.sequenceResets], [0, 0]);
  }
});

test('a gap past sequenceWindow is out of window, and the stream that continues from it re-bases without a loss', () => {
  const d = new WasmDecoder({ sequenceWindow: 100 });
  const exporter = hex('00000000000000000000ffffc0000201');
  const at = (seq: number) => d.decode(hex(`000a 0010 6553f100 ${seq.toString(16).padStart(8, '0')} 00000001`), exporter, 4739, 1_700_000_000_000);
  at(0);
  at(99); // 99 lost: within the window
  assert.equal(d.counters().sequenceLostRecords, 99);
  at(300); // 201 more: out of window
  assert.deepEqual([d.counters().sequenceLostRecords, d.counters().sequenceOutOfWindow], [99, 1]);
  at(310); // continues from 300: a reset
  assert.deepEqual([d.counters().sequenceLostRecords, d.counters().sequenceResets], [99, 1]);
  at(320); // measured from 310 now: 10 lost
  assert.equal(d.counters().sequenceLostRecords, 109);
});
