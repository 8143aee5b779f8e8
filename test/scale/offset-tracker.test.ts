// The raw offsets a decoder commits (src/scale/offset-tracker.ts): a partition's messages go to
// several workers and settle out of order; its commit offset stops at the first one not settled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker } from '../../src/scale/offset-tracker.js';

test('a partition commits up to its first unsettled message, whichever worker holds it', () => {
  const t = new OffsetTracker(2);
  // Partition 0: offsets 10, 11, 12 to workers 0, 1, 0.
  t.pushed(0, 10, 0);
  t.pushed(0, 11, 1);
  t.pushed(0, 12, 0);
  assert.deepEqual(t.commits(), [], 'nothing settled yet');
  t.settle(1, 1); // worker 1 settled its first datagram: offset 11, but 10 is still open
  assert.deepEqual(t.commits(), []);
  t.settle(0, 1); // offset 10
  assert.deepEqual(t.commits(), [[0, 12]]);
  t.committed(0, 12);
  assert.deepEqual(t.commits(), [], 'an offset committed is not committed again');
  t.settle(0, 2);
  assert.deepEqual(t.commits(), [[0, 13]]);
  assert.equal(t.inFlight, 0);
});

test('a worker\'s settled count past what it was given settles only what it was given', () => {
  const t = new OffsetTracker(1);
  t.pushed(3, 0, 0);
  t.settle(0, 5);
  assert.deepEqual(t.commits(), [[3, 1]]);
  t.pushed(3, 1, 0);
  assert.equal(t.inFlight, 1, 'the new message is not settled by the old count');
  t.settle(0, 2);
  assert.deepEqual(t.commits(), [[3, 2]]);
});

test('skipped messages settle at once but wait behind earlier open ones', () => {
  const t = new OffsetTracker(1);
  t.pushed(0, 5, 0);
  t.skipped(0, 6);
  assert.deepEqual(t.commits(), []);
  t.settle(0, 1);
  assert.deepEqual(t.commits(), [[0, 7]]);
});

test('a message fetched again is not new; a partition taken away counts what it had not committed', () => {
  const t = new OffsetTracker(2);
  t.pushed(1, 100, 0);
  t.pushed(1, 101, 1);
  t.pushed(2, 7, 0);
  assert.equal(t.isNew(1, 101), false);
  assert.equal(t.isNew(1, 102), true);
  t.settle(0, 1);
  const due = t.commits();
  assert.deepEqual(due, [[1, 101]]);
  t.committed(1, 101);
  // Partition 1 goes to another decoder: offset 101 (delivered or not) was not committed.
  assert.equal(t.assigned([2]), 1);
  assert.equal(t.isNew(1, 100), true, 'a partition given back starts anew from its committed offset');
  // Worker 1 settling offset 101 later changes nothing: the partition is gone.
  t.settle(1, 1);
  t.settle(0, 2);
  assert.deepEqual(t.commits(), [[2, 8]]);
});

test('long runs keep the queues short (entries are dropped once settled and passed)', () => {
  const t = new OffsetTracker(2);
  for (let i = 0; i < 20_000; i++) t.pushed(0, i, i % 2);
  t.settle(0, 10_000);
  t.settle(1, 9_999);
  assert.deepEqual(t.commits(), [[0, 19_999]]);
  t.settle(1, 10_000);
  assert.deepEqual(t.commits(), [[0, 20_000]]);
  assert.equal(t.inFlight, 0);
});

test('a message of several datagrams is committed only when all of them are settled', () => {
  const t = new OffsetTracker(2);
  // Offset 40 holds three datagrams (one exporter: one worker), offset 41 one.
  t.pushed(0, 40, 1);
  t.pushed(0, 40, 1);
  t.pushed(0, 40, 1);
  t.pushed(0, 41, 0);
  t.settle(0, 1);
  t.settle(1, 2);
  assert.deepEqual(t.commits(), [[0, 40]], 'offset 40 is read again: its third datagram is open');
  t.committed(0, 40);
  t.settle(1, 3);
  assert.deepEqual(t.commits(), [[0, 42]]);
});
