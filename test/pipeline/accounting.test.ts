// The accounting channel (src/pipeline/accounting.ts): its layout is pinned to its version, the
// one sum folds retired workers in, and the identity
//   decoded = delivered + sum of dropped{reason} + queued
// holds after any sequence of worker events, with queued and worker_failed what a model expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ACCOUNTING_LAYOUT_VERSION, ACCOUNTING_SLOTS, BLOCK_CELLS, Slot, accountingSlotNames, createAccounting, readAccounting,
  retireWorker, workerAccounting, type AccountingTotals,
} from '../../src/pipeline/accounting.js';
import { decoderRecordStatuses, producerDropReasons, recordDropReasons, type RecordDropReason } from '../../src/pipeline/drop-reasons.js';
import { producerDropReasons as kafkaProducerDropReasons } from '../../src/kafka/names.js';
import { decodeStatuses } from '../../src/decoder/wasm.js';

test('the layout version names its slots: a slot added or moved must bump ACCOUNTING_LAYOUT_VERSION', () => {
  assert.equal(ACCOUNTING_LAYOUT_VERSION, 2);
  assert.deepEqual(accountingSlotNames, ['datagrams', 'decoded', 'delivered', 'recovered', 'spooled', 'no_tenant', 'queue_full', 'kafka_rejected', 'shutdown',
    'spool_full', 'spool_error', 'spool_corrupt', 'worker_failed']);
  assert.equal(ACCOUNTING_SLOTS, accountingSlotNames.length);
  accountingSlotNames.forEach((name, i) => assert.equal(Slot[name], i));
  // Blocks are whole cache lines (8 Float64 cells), so two workers never write the same line.
  assert.equal((BLOCK_CELLS * 8) % 64, 0);
  assert.equal(createAccounting(3).byteLength, 64 + 4 * BLOCK_CELLS * 8);
  assert.equal(BLOCK_CELLS, 16, 'thirteen slots take two cache lines');
});

test('the drop reasons have one definition: the producer\'s are the ones kafka/names.ts gives', () => {
  assert.equal(kafkaProducerDropReasons, producerDropReasons);
  for (const r of producerDropReasons) assert.ok((recordDropReasons as readonly string[]).includes(r));
  assert.equal(new Set(recordDropReasons).size, recordDropReasons.length);
  // The decoder statuses counted as drops are the decoder's own (read from its exports).
  for (const s of decoderRecordStatuses) assert.ok(decodeStatuses().includes(s), s);
});

test('a buffer of another layout is refused, and a worker outside it has no block', () => {
  const buffer = createAccounting(2);
  assert.throws(() => workerAccounting(buffer, 2), RangeError);
  new Float64Array(buffer)[1] = ACCOUNTING_LAYOUT_VERSION + 1;
  assert.throws(() => workerAccounting(buffer, 0), /accounting layout/);
  assert.throws(() => readAccounting(buffer), /accounting layout/);
  assert.throws(() => readAccounting(new SharedArrayBuffer(1024)), /bad magic/);
});

const identityHolds = (a: AccountingTotals): boolean =>
  a.decoded + a.recovered === a.delivered + Object.values(a.dropped).reduce((x, y) => x + y, 0) + a.queued + a.spooled;

test('a retired worker stays in the sum: what it had not settled is worker_failed, its successor counts from zero', () => {
  const buffer = createAccounting(2);
  const w0 = workerAccounting(buffer, 0);
  const w1 = workerAccounting(buffer, 1);
  w0[Slot.datagrams] = 10;
  w0[Slot.decoded] = 100;
  w0[Slot.delivered] = 60;
  w0[Slot.no_tenant] = 5;
  w0[Slot.queue_full] = 5;
  w0[Slot.spooled] = 8; // on disk: not lost with the worker
  w1[Slot.datagrams] = 4;
  w1[Slot.decoded] = 50;
  w1[Slot.delivered] = 45;
  assert.equal(retireWorker(buffer, 0), 22);
  assert.ok(w0.every((v) => v === 0), 'the dead worker\'s block is cleared for its successor');
  // The successor opens the spool and finds the 8 records.
  w0[Slot.recovered] = 8;
  w0[Slot.spooled] = 8;
  w0[Slot.datagrams] = 2;
  w0[Slot.decoded] = 20;
  w0[Slot.delivered] = 10;
  const a = readAccounting(buffer);
  assert.deepEqual(a, {
    datagrams: 16, decoded: 170, delivered: 115,
    dropped: { no_tenant: 5, queue_full: 5, kafka_rejected: 0, shutdown: 0, spool_full: 0, spool_error: 0, spool_corrupt: 0, worker_failed: 22 },
    queued: 5 + 10, recovered: 0, spooled: 8,
  });
  assert.ok(identityHolds(a));
});

type Event =
  | { kind: 'decode'; worker: number; records: number }
  | { kind: 'deliver'; worker: number; share: number }
  | { kind: 'drop'; worker: number; share: number; reason: RecordDropReason }
  | { kind: 'retire'; worker: number };

const workerDropReasons = recordDropReasons.filter((r) => r !== 'worker_failed');
const WORKERS = 3;
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('decode' as const), worker: fc.nat(WORKERS - 1), records: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constant('deliver' as const), worker: fc.nat(WORKERS - 1), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('drop' as const), worker: fc.nat(WORKERS - 1), share: fc.double({ min: 0, max: 1, noNaN: true }), reason: fc.constantFrom(...workerDropReasons) }),
  fc.record({ kind: fc.constant('retire' as const), worker: fc.nat(WORKERS - 1) }),
);

test('after any sequence of decodes, deliveries, drops and worker deaths the identity holds, with the queued and lost records a model expects', () => {
  fc.assert(fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => {
    const buffer = createAccounting(WORKERS);
    const blocks = Array.from({ length: WORKERS }, (_, w) => workerAccounting(buffer, w));
    const held = new Array<number>(WORKERS).fill(0); // the model: records each live worker holds
    let decoded = 0, delivered = 0, lost = 0;
    for (const e of events) {
      const b = blocks[e.worker]!;
      if (e.kind === 'decode') {
        b[Slot.decoded] += e.records;
        held[e.worker]! += e.records;
        decoded += e.records;
      } else if (e.kind === 'deliver' || e.kind === 'drop') {
        const n = Math.floor(held[e.worker]! * e.share);
        b[e.kind === 'deliver' ? Slot.delivered : Slot[e.reason]] += n;
        held[e.worker]! -= n;
        if (e.kind === 'deliver') delivered += n;
      } else {
        assert.equal(retireWorker(buffer, e.worker), held[e.worker]);
        lost += held[e.worker]!;
        held[e.worker] = 0;
      }
      const a = readAccounting(buffer);
      assert.ok(identityHolds(a), JSON.stringify(a));
      assert.equal(a.decoded, decoded);
      assert.equal(a.delivered, delivered);
      assert.equal(a.queued, held.reduce((x, y) => x + y, 0));
      assert.equal(a.dropped.worker_failed, lost);
    }
  }));
});
