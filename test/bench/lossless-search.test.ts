// The lossless-rate search of bench/lib/lossless-search.ts, with a fake system under test: one
// that delivers everything up to a capacity and loses records above it, and a generator that
// cannot send faster than its own ceiling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DRAIN_ALLOWANCE_S, isLossless, searchLosslessRate, sentRate, type StepOutcome } from '../../bench/lib/lossless-search.js';

const SECONDS = 5;

/** A system that keeps up with `capacity` records/s; a generator that sends at most `ceiling`. */
function fakeSystem(capacity: number, ceiling = Infinity) {
  const asked: number[] = [];
  const step = async (offered: number): Promise<StepOutcome> => {
    asked.push(offered);
    const rate = Math.min(offered, ceiling);
    const sent = rate * SECONDS;
    return { offered, sentRecords: sent, sentSeconds: SECONDS, deliveredRecords: rate <= capacity ? sent : capacity * SECONDS, kernelDrops: 0, drainS: 0.5 };
  };
  return { step, asked };
}

const ok: StepOutcome = { offered: 1000, sentRecords: 5000, sentSeconds: 5, deliveredRecords: 5000, kernelDrops: 0, drainS: 1 };

test('the rule: every record delivered, no kernel drop, drained within the allowance', () => {
  assert.equal(isLossless(ok), true);
  assert.equal(isLossless({ ...ok, deliveredRecords: 4999 }), false, 'one record short');
  assert.equal(isLossless({ ...ok, deliveredRecords: 5001 }), false, 'more delivered than sent (duplicates)');
  assert.equal(isLossless({ ...ok, kernelDrops: 1 }), false, 'a kernel drop');
  assert.equal(isLossless({ ...ok, kernelDrops: null }), true, 'an unreadable socket: delivered === sent decides');
  assert.equal(isLossless({ ...ok, drainS: DRAIN_ALLOWANCE_S }), true);
  assert.equal(isLossless({ ...ok, drainS: DRAIN_ALLOWANCE_S + 0.01 }), false, 'still draining after the allowance');
  assert.equal(sentRate(ok), 1000);
  assert.equal(sentRate(undefined), 0);
});

test('the ladder stops at the first lossy rate, then bisects between it and the last lossless one', async () => {
  const sys = fakeSystem(170_000);
  const r = await searchLosslessRate({ ladder: [50e3, 100e3, 200e3, 400e3], bisections: 2 }, sys.step);
  assert.deepEqual(sys.asked, [50_000, 100_000, 200_000, 150_000, 175_000]);
  assert.equal(r.sustained?.offered, 150_000);
  assert.equal(r.dropsAt?.offered, 175_000);
  assert.equal(r.steps.length, 5);
});

test('bisection stops once the two rates are within 25 % of each other', async () => {
  const sys = fakeSystem(110_000);
  const r = await searchLosslessRate({ ladder: [100e3, 120e3, 140e3], bisections: 3 }, sys.step);
  assert.deepEqual(sys.asked, [100_000, 120_000]);
  assert.equal(r.sustained?.offered, 100_000);
  assert.equal(r.dropsAt?.offered, 120_000);
});

test('the generator\'s ceiling ends the ladder: nothing higher can be offered', async () => {
  const sys = fakeSystem(Infinity, 120_000);
  const r = await searchLosslessRate({ ladder: [50e3, 100e3, 200e3, 400e3] }, sys.step);
  assert.deepEqual(sys.asked, [50_000, 100_000, 200_000]);
  assert.equal(sentRate(r.sustained), 120_000);
  assert.equal(r.dropsAt, undefined);
});

test('below the ladder: halving (twice at most) until a rate is lossless', async () => {
  const slow = fakeSystem(20_000);
  const r = await searchLosslessRate({ ladder: [50e3, 100e3], bisections: 1 }, slow.step);
  assert.deepEqual(slow.asked, [50_000, 25_000, 12_500, 18_750]);
  assert.equal(r.sustained?.offered, 18_750);
  assert.equal(r.dropsAt?.offered, 25_000);

  const dead = fakeSystem(0);
  const none = await searchLosslessRate({ ladder: [50e3, 100e3] }, dead.step);
  assert.deepEqual(dead.asked, [50_000, 25_000, 12_500]);
  assert.equal(none.sustained, undefined);
  assert.equal(none.dropsAt?.offered, 12_500);
});
