import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PacketRing, RING_FULL, RING_OK, RING_TOO_LARGE } from '../../src/ring/ring.js';
import { AWAKE, HEAD_INDEX, SLEEP_DEEP, SLEEP_LIGHT, SLEEPING_INDEX, SLOT_FLAG_PROTECTED, SLOT_FLAGS, SLOTS_OFFSET, TAIL_INDEX } from '../../src/ring/slots.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** ::ffff:a.b.c.d as 16 bytes, placed at `offset` in a larger buffer (push takes an offset). */
function mappedV4(a: number, b: number, c: number, d: number, offset = 0): Uint8Array {
  const out = new Uint8Array(offset + 16 + 4);
  out.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d], offset);
  return out;
}

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

interface Read { payload: Uint8Array; address: Uint8Array; port: number; timeMs: number }

/** Reads the oldest datagram without releasing it. */
function readOldest(ring: PacketRing): Read | undefined {
  const slot = ring.peek();
  if (slot === -1) return undefined;
  const at = ring.payloadOffset(slot);
  const address = ring.addressOffset(slot);
  return {
    // Copies as plain Uint8Arrays (ring.bytes is a Buffer), to compare with the pushed bytes.
    payload: new Uint8Array(ring.bytes.subarray(at, at + ring.payloadLength(slot))),
    address: new Uint8Array(ring.bytes.subarray(address, address + 16)),
    port: ring.port(slot),
    timeMs: ring.timeMs(slot),
  };
}

/**
 * Test-only way to start a ring near the 2^32 counter wrap: write HEAD and TAIL of an empty ring
 * through the layout constants, then attach(), which takes both counters from the header. This is
 * the same path a worker takes when it attaches to a ring that was already in use.
 */
function ringAtCounter(options: { slots: number; slotBytes: number }, counter: number): PacketRing {
  const fresh = PacketRing.create(options);
  const header = new Int32Array(fresh.buffer, 0, SLOTS_OFFSET / 4);
  header[HEAD_INDEX] = counter | 0;
  header[TAIL_INDEX] = counter | 0;
  return PacketRing.attach(fresh.buffer);
}

/**
 * A pending Atomics.waitAsync does not keep Node's event loop alive (spike note, pitfall 6): hold
 * a timer until the promise settles so the test process does not exit under it.
 */
async function keepAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// One thread
// ---------------------------------------------------------------------------------------------

test('a pushed datagram reads back with its payload, address, port and receive time, and release frees the slot', () => {
  const ring = PacketRing.create({ slots: 4, slotBytes: 64 });
  assert.equal(ring.slots, 4);
  assert.equal(ring.slotBytes, 64);
  assert.equal(ring.peek(), -1);
  assert.equal(ring.length, 0);

  const payload = pattern(50, 7);
  const address = mappedV4(192, 0, 2, 1, 5);
  const time = 1_700_000_000_123.5;
  assert.equal(ring.push(payload, address, 5, 4739, time), RING_OK);
  assert.equal(ring.length, 1);

  const slot = ring.peek();
  assert.equal(slot, 0);
  assert.equal(ring.peek(), slot, 'peek does not advance');
  assert.deepEqual(readOldest(ring), {
    payload, address: address.slice(5, 21), port: 4739, timeMs: time,
  });
  assert.equal(ring.payloadOffset(slot) % 8, 0, 'payloads start 8-aligned');

  ring.release();
  assert.equal(ring.peek(), -1);
  assert.equal(ring.length, 0);

  // An empty payload and port 0 are datagrams too.
  assert.equal(ring.push(new Uint8Array(0), address, 5, 0, 0), RING_OK);
  assert.equal(ring.peek(), 1);
  assert.equal(ring.payloadLength(1), 0);
  assert.equal(ring.port(1), 0);
});

test('a slot carries the exporter\'s flags byte (protected or not) next to its port, and a reused slot takes the new one', () => {
  const ring = PacketRing.create({ slots: 2, slotBytes: 64 });
  const address = mappedV4(192, 0, 2, 1);
  assert.equal(ring.push(pattern(8, 1), address, 0, 0xffff, 1, SLOT_FLAG_PROTECTED), RING_OK);
  assert.equal(ring.push(pattern(8, 2), address, 0, 0xffff, 2), RING_OK, 'no flags: not protected');
  assert.deepEqual([(ring.flags(0) & SLOT_FLAG_PROTECTED) !== 0, ring.port(0)], [true, 0xffff], 'the flag and the port do not overlap');
  assert.deepEqual([(ring.flags(1) & SLOT_FLAG_PROTECTED) !== 0, ring.port(1)], [false, 0xffff]);
  assert.equal(ring.bytes[SLOTS_OFFSET + SLOT_FLAGS], SLOT_FLAG_PROTECTED, 'at SLOT_FLAGS of slot 0');
  ring.release();
  assert.equal(ring.push(pattern(8, 3), address, 0, 1, 3, 0), RING_OK);
  assert.equal(ring.peek(), 1);
  ring.release();
  assert.equal(ring.peek(), 0, 'slot 0 again');
  assert.equal((ring.flags(0) & SLOT_FLAG_PROTECTED) !== 0, false);
  assert.deepEqual(readOldest(ring)!.payload, pattern(8, 3));
});

test('copyPayload copies exactly the payload bytes for every size class and stays within slotBytes of the target', () => {
  const slotBytes = 1000;
  const ring = PacketRing.create({ slots: 8, slotBytes });
  const address = mappedV4(10, 0, 0, 1);
  for (const length of [0, 1, 63, 64, 65, 128, 129, 500, 512, 513, 999, 1000]) {
    const payload = pattern(length, length);
    assert.equal(ring.push(payload, address, 0, 1, 1), RING_OK);
    const at = 3;
    const target = new Uint8Array(at + slotBytes).fill(0xee); // Exactly the documented room.
    assert.equal(ring.copyPayload(ring.peek(), target, at), length);
    assert.deepEqual(target.subarray(at, at + length), payload, `length ${length}`);
    assert.equal(target[at - 1], 0xee, 'nothing written before targetOffset');
    ring.release();
  }
});

test('a full ring refuses with RING_FULL and keeps every datagram it holds intact', () => {
  const ring = PacketRing.create({ slots: 4, slotBytes: 16 });
  const address = mappedV4(10, 0, 0, 1);
  for (let i = 0; i < 4; i++) assert.equal(ring.push(pattern(16, i), address, 0, 1000 + i, i), RING_OK);
  assert.equal(ring.length, 4);
  assert.equal(ring.push(pattern(16, 99), address, 0, 9999, 99), RING_FULL);
  assert.equal(ring.push(pattern(1, 98), address, 0, 9998, 98), RING_FULL);
  assert.equal(ring.length, 4);

  for (let i = 0; i < 4; i++) {
    const read = readOldest(ring);
    assert.ok(read);
    assert.deepEqual(read.payload, pattern(16, i));
    assert.equal(read.port, 1000 + i);
    assert.equal(read.timeMs, i);
    ring.release();
    // One free slot is enough for the next push.
    if (i === 0) assert.equal(ring.push(pattern(8, 50), address, 0, 50, 50), RING_OK);
  }
  assert.deepEqual(readOldest(ring)?.payload, pattern(8, 50));
});

test('a payload longer than slotBytes is refused with RING_TOO_LARGE, and exactly slotBytes fits', () => {
  const ring = PacketRing.create({ slots: 2, slotBytes: 24 });
  const address = mappedV4(10, 0, 0, 1);
  assert.equal(ring.push(pattern(25, 1), address, 0, 1, 1), RING_TOO_LARGE);
  assert.equal(ring.length, 0);
  assert.equal(ring.push(pattern(24, 2), address, 0, 2, 2), RING_OK);
  assert.deepEqual(readOldest(ring)?.payload, pattern(24, 2));
  // Too large wins over full: the caller counts the reason that is true of the datagram itself.
  assert.equal(ring.push(pattern(24, 3), address, 0, 3, 3), RING_OK);
  assert.equal(ring.push(pattern(1000, 4), address, 0, 4, 4), RING_TOO_LARGE);
  assert.equal(ring.push(pattern(1, 5), address, 0, 5, 5), RING_FULL);
});

test('head and tail counters wrapping past 2^32 keep order, fill level and slot contents', () => {
  const slots = 8;
  const ring = ringAtCounter({ slots, slotBytes: 32 }, 0xffffffff - 5);
  assert.equal(ring.length, 0);
  assert.equal(ring.peek(), -1);
  const address = mappedV4(10, 1, 2, 3);
  let pushed = 0;
  let read = 0;
  // Fill, drain in uneven batches, refill, many times across the wrap.
  for (let round = 0; round < 10; round++) {
    while (ring.push(pattern(1 + (pushed % 32), pushed), address, 0, pushed & 0xffff, pushed) === RING_OK) pushed++;
    assert.equal(ring.length, slots, `round ${round}: full at exactly ${slots}`);
    const take = 1 + (round % slots);
    for (let i = 0; i < take; i++) {
      const got = readOldest(ring);
      assert.ok(got);
      assert.deepEqual(got.payload, pattern(1 + (read % 32), read));
      assert.equal(got.timeMs, read);
      read++;
      ring.release();
    }
    assert.equal(ring.length, slots - take);
  }
  // Batch release through the wrap: process `length` slots in place, then release them at once.
  const n = ring.length;
  const first = ring.peek();
  for (let i = 0; i < n; i++) {
    const slot = (first + i) & (slots - 1);
    assert.equal(ring.timeMs(slot), read + i);
  }
  ring.release(n);
  assert.equal(ring.length, 0);
  assert.equal(ring.peek(), -1);
  const header = new Int32Array(ring.buffer, 0, SLOTS_OFFSET / 4);
  assert.equal(header[HEAD_INDEX]! >>> 0, (0xffffffff - 5 + pushed) % 2 ** 32);
  assert.ok(header[HEAD_INDEX]! >>> 0 < 0xffffffff - 5 && pushed > slots * 4, 'the run crossed the wrap, more than once round the slots');
});

test('release refuses to move past the newest datagram', () => {
  const ring = PacketRing.create({ slots: 4, slotBytes: 8 });
  assert.throws(() => ring.release(), RangeError);
  ring.push(pattern(8, 1), mappedV4(10, 0, 0, 1), 0, 1, 1);
  assert.throws(() => ring.release(2), RangeError);
  assert.throws(() => ring.release(-1), RangeError);
  ring.release(1);
  assert.equal(ring.length, 0);
});

test('create validates slots and slotBytes, and attach only accepts a ring buffer', () => {
  assert.throws(() => PacketRing.create({ slots: 6, slotBytes: 64 }), RangeError);
  assert.throws(() => PacketRing.create({ slots: 0, slotBytes: 64 }), RangeError);
  assert.throws(() => PacketRing.create({ slots: 4, slotBytes: 12 }), RangeError);
  assert.throws(() => PacketRing.create({ slots: 4, slotBytes: 0 }), RangeError);
  assert.throws(() => PacketRing.attach(new SharedArrayBuffer(4096)), /bad magic/);
  assert.throws(() => PacketRing.attach(new ArrayBuffer(4096) as unknown as SharedArrayBuffer), TypeError);

  const ring = PacketRing.create({ slots: 16, slotBytes: 1472 });
  ring.push(pattern(100, 3), mappedV4(10, 0, 0, 9), 0, 9, 9);
  const other = PacketRing.attach(ring.buffer);
  assert.equal(other.slots, 16);
  assert.equal(other.slotBytes, 1472);
  assert.deepEqual(readOldest(other)?.payload, pattern(100, 3), 'an attached ring sees what was pushed');
});

// ---------------------------------------------------------------------------------------------
// waitForData in one thread
// ---------------------------------------------------------------------------------------------

test('waitForData resolves timeout when nothing comes', async () => {
  const ring = PacketRing.create({ slots: 4, slotBytes: 8 });
  const started = performance.now();
  assert.equal(await keepAlive(ring.waitForData(40)), 'timeout');
  assert.ok(performance.now() - started >= 35, 'it waited');
  assert.equal(await ring.waitForData(0), 'timeout');
});

test('waitForData resolves data at once when a datagram waits, and when a push wakes it', async () => {
  const ring = PacketRing.create({ slots: 4, slotBytes: 8 });
  ring.push(pattern(8, 1), mappedV4(10, 0, 0, 1), 0, 1, 1);
  assert.equal(await ring.waitForData(10_000), 'data');
  ring.release();

  setTimeout(() => ring.push(pattern(8, 2), mappedV4(10, 0, 0, 1), 0, 2, 2), 20);
  const started = performance.now();
  assert.equal(await keepAlive(ring.waitForData(10_000)), 'data');
  assert.ok(performance.now() - started < 5000, 'woken by the push, not by the timeout');
  assert.equal(ring.timeMs(ring.peek()), 2);
});

test('waitForData resolves closed after close on an empty ring, whether close comes before or during the wait', async () => {
  const before = PacketRing.create({ slots: 4, slotBytes: 8 });
  before.close();
  assert.equal(before.closed, true);
  assert.equal(await before.waitForData(10_000), 'closed');

  const during = PacketRing.create({ slots: 4, slotBytes: 8 });
  assert.equal(during.closed, false);
  setTimeout(() => during.close(), 20);
  const started = performance.now();
  assert.equal(await keepAlive(during.waitForData(10_000)), 'closed');
  assert.ok(performance.now() - started < 5000, 'woken by close, not by the timeout');
});

test('a closed ring still hands out what it holds: data until drained, then closed', async () => {
  const ring = PacketRing.create({ slots: 4, slotBytes: 8 });
  const address = mappedV4(10, 0, 0, 1);
  ring.push(pattern(8, 1), address, 0, 1, 1);
  ring.push(pattern(8, 2), address, 0, 2, 2);
  ring.close();
  assert.equal(await ring.waitForData(1000), 'data');
  ring.release();
  assert.equal(await ring.waitForData(1000), 'data');
  ring.release();
  assert.equal(ring.closed && ring.peek() === -1, true);
  assert.equal(await ring.waitForData(1000), 'closed');
});

test('a consumer chooses its light poll: a lightly sleeping one is left to poll by itself, one with lightPollMs 0 is woken by the next push', async () => {
  const address = mappedV4(10, 0, 0, 1);
  const sleeping = (ring: PacketRing): number => new Int32Array(ring.buffer, 0, SLOTS_OFFSET / 4)[SLEEPING_INDEX]!;
  for (const lightPollMs of [25, 0]) {
    const ring = PacketRing.create({ slots: 64, slotBytes: 8 });
    ring.lightPollMs = lightPollMs;
    // Data came just now: the next wait is a light sleep when the consumer polls at all.
    ring.push(pattern(8, 1), address, 0, 1, 1);
    assert.equal(await ring.waitForData(10_000), 'data');
    ring.release();
    const started = performance.now();
    const wait = keepAlive(ring.waitForData(10_000));
    assert.equal(sleeping(ring), lightPollMs > 0 ? SLEEP_LIGHT : SLEEP_DEEP);
    ring.push(pattern(8, 2), address, 0, 2, 2);
    // A light sleeper is not notified for one datagram (the producer's push costs no syscall); a deep one is.
    assert.equal(sleeping(ring), lightPollMs > 0 ? SLEEP_LIGHT : AWAKE);
    assert.equal(await wait, 'data');
    const waited = performance.now() - started;
    if (lightPollMs > 0) assert.ok(waited >= lightPollMs - 5, `polled after its ${lightPollMs} ms, not woken (${waited.toFixed(1)} ms)`);
    else assert.ok(waited < 20, `woken by the push (${waited.toFixed(1)} ms)`);
    ring.release();
  }
});

test('a producer holding wakes pushes a burst without waking a deep sleeper, wakes it once on release, and by fill before that', async () => {
  const address = mappedV4(10, 0, 0, 1);
  const sleeping = (ring: PacketRing): number => new Int32Array(ring.buffer, 0, SLOTS_OFFSET / 4)[SLEEPING_INDEX]!;
  const ring = PacketRing.create({ slots: 1024, slotBytes: 8 }); // wakes by fill at 256 datagrams
  ring.lightPollMs = 0;
  const wait = keepAlive(ring.waitForData(10_000));
  assert.equal(sleeping(ring), SLEEP_DEEP);
  ring.holdWakes();
  for (let i = 0; i < 10; i++) ring.push(pattern(8, i), address, 0, i, i);
  assert.equal(sleeping(ring), SLEEP_DEEP, 'not woken during the burst');
  ring.releaseWakes();
  assert.equal(sleeping(ring), AWAKE, 'woken once the burst is in');
  assert.equal(await wait, 'data');
  ring.release(10);
  ring.releaseWakes(); // not holding: nothing to do

  // A long burst still wakes the consumer once the ring holds enough to be worth it.
  const second = keepAlive(ring.waitForData(10_000));
  ring.holdWakes();
  for (let i = 0; i < 255; i++) ring.push(pattern(8, i), address, 0, i, i);
  assert.equal(sleeping(ring), SLEEP_DEEP);
  ring.push(pattern(8, 255), address, 0, 255, 255);
  assert.equal(sleeping(ring), AWAKE, 'woken by fill while held');
  assert.equal(await second, 'data');
  ring.releaseWakes();
  assert.equal(ring.length, 256);
});

// ---------------------------------------------------------------------------------------------
// Two threads
// ---------------------------------------------------------------------------------------------

// The consumer: attaches to the ring, checks every datagram against what the producer must have
// sent, and reports. Written as plain ESM into a temp dir so that `node --test dist/test/` never
// mistakes it for a test file; it imports the compiled ring from dist/.
const consumerSource = String.raw`
import { parentPort, workerData } from 'node:worker_threads';
const { PacketRing } = await import(workerData.ringUrl);
const ring = PacketRing.attach(workerData.buffer);
const { sizes, timeBase } = workerData;
// A pending Atomics.waitAsync does not keep a worker alive: this listener is the ref'd handle.
const keepAlive = () => {};
parentPort.on('message', keepAlive);

const errors = [];
const waits = { data: 0, timeout: 0, closed: 0 };
let expected = 0;
let woken = 0;
let batches = 0;

function fnv(bytes, from, to) {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

// Odd datagrams are checked in place, even ones after copyPayload into a private region.
const privateRegion = Buffer.alloc(4096);

function check(slot) {
  const copied = (expected & 1) === 0;
  const bytes = copied ? privateRegion : ring.bytes;
  const at = copied ? 0 : ring.payloadOffset(slot);
  const length = copied ? ring.copyPayload(slot, privateRegion, 0) : ring.payloadLength(slot);
  const seq = bytes.readUInt32LE(at);
  const problem =
    seq !== expected ? 'seq ' + seq :
    length !== sizes[seq % sizes.length] ? 'length ' + length :
    bytes.readUInt32LE(at + 4) !== fnv(bytes, at + 8, at + length) ? 'checksum' :
    ring.port(slot) !== (seq & 0xffff) ? 'port ' + ring.port(slot) :
    ring.timeMs(slot) !== timeBase + seq ? 'time ' + ring.timeMs(slot) :
    ring.bytes.readUInt32BE(ring.addressOffset(slot) + 8) !== 0xffff ||
      ring.bytes.readUInt32BE(ring.addressOffset(slot) + 12) !== ((0x0a000000 | (seq & 0xffffff)) >>> 0) ? 'address' : '';
  if (problem && errors.length < 10) errors.push('datagram ' + expected + ': ' + problem);
  expected++;
}

for (;;) {
  // Alternate one-by-one release with batch release of everything visible.
  const n = ring.length;
  if (n >= 4 && (expected & 1)) {
    const first = ring.peek();
    for (let i = 0; i < n; i++) check((first + i) & (ring.slots - 1));
    ring.release(n);
    batches++;
  }
  let slot;
  while ((slot = ring.peek()) !== -1) {
    check(slot);
    ring.release();
  }
  // The producer never stops for more than 50 ms, so a wait that lasts 1 s missed a wake-up.
  const started = performance.now();
  const outcome = await ring.waitForData(2000);
  const waited = performance.now() - started;
  waits[outcome]++;
  if (outcome === 'data' && waited >= 10) woken++;
  if (outcome === 'closed') break;
  if (outcome === 'timeout' || waited >= 1000) {
    errors.push('waited ' + Math.round(waited) + ' ms for ' + outcome + ' after datagram ' + expected + ' (lost wake-up)');
    break;
  }
}
parentPort.postMessage({ count: expected, errors, waits, woken, batches });
parentPort.off('message', keepAlive);
`;

test('a worker drains 200k datagrams of varying sizes exactly once, in order and intact, sleeping and waking, and finishes after close', { timeout: 60_000 }, async (t) => {
  const total = 200_000;
  const slotBytes = 1504;
  // Start 100k short of the 2^32 wrap so it happens mid-run, under contention.
  const ring = ringAtCounter({ slots: 256, slotBytes }, 0xffffffff - 100_000);

  // 257 payloads (a prime, so sizes and slots do not line up): [u32 seq][u32 fnv of the rest][random].
  // Sizes cover both ends: 8 bytes (header only) and slotBytes.
  const sizes = Array.from({ length: 257 }, (_, k) => (k === 0 ? slotBytes : k === 1 ? 8 : 8 + ((k * 389) % (slotBytes - 7))));
  const pool = sizes.map((size) => {
    const b = Buffer.alloc(size);
    for (let i = 8; i < size; i++) b[i] = (Math.random() * 256) | 0;
    let h = 0x811c9dc5;
    for (let i = 8; i < size; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    b.writeUInt32LE(h >>> 0, 4);
    return b;
  });
  const timeBase = 1_700_000_000_000;

  const dir = mkdtempSync(join(tmpdir(), 'flowgate-ring-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'consumer.mjs');
  writeFileSync(script, consumerSource);
  const worker = new Worker(script, {
    workerData: { buffer: ring.buffer, ringUrl: new URL('../../src/ring/ring.js', import.meta.url).href, sizes, timeBase },
  });
  // The consumer reports once, at the end; if it ends early (an error, a lost wake-up), the
  // producer stops instead of retrying a full ring until the test times out.
  let consumerEnded = false;
  const report = new Promise<{ count: number; errors: string[]; waits: Record<string, number>; woken: number; batches: number }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`consumer exited (code ${code}) before reporting`)));
    },
  ).finally(() => { consumerEnded = true; });
  report.catch(() => {}); // Awaited below; this only keeps an early failure from counting as unhandled.
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));

  // Producer: as fast as it can; on full, yield to the event loop and retry. Three pauses let the
  // consumer run dry and sleep, so pushes must wake it.
  const pauses = new Set([50_000, 100_000, 150_000]);
  const address = new Uint8Array(40);
  address.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 20);
  let seq = 0;
  let full = 0;
  while (seq < total && !consumerEnded) {
    if (pauses.delete(seq)) await sleep(50);
    const payload = pool[seq % pool.length]!;
    payload.writeUInt32LE(seq, 0);
    address[33] = seq >>> 16;
    address[34] = seq >>> 8;
    address[35] = seq;
    address[32] = 10;
    const result = ring.push(payload, address, 20, seq & 0xffff, timeBase + seq);
    if (result === RING_FULL) {
      full++;
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    assert.equal(result, RING_OK);
    seq++;
  }
  const leftAtClose = ring.length;
  ring.close();

  const { count, errors, waits, woken, batches } = await report;
  assert.equal(await exited, 0);
  t.diagnostic(`ring full ${full} times; ${leftAtClose} datagrams left at close; waits ${JSON.stringify(waits)}; ` +
    `${woken} sleeps ended by a push; ${batches} batch releases`);
  assert.deepEqual(errors, []);
  assert.equal(count, total);
  assert.equal(waits.closed, 1);
  assert.equal(waits.timeout, 0);
  assert.ok(woken >= 1, 'the consumer slept and a push woke it');
  assert.equal(ring.length, 0);
});
