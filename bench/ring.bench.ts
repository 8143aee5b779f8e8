// Is the SharedArrayBuffer ring worth it? Datagrams/s from the main thread to a worker through a
// PacketRing, against the baseline the design rejected: one postMessage per datagram, carrying a
// transferred copy of the same bytes a ring slot holds (address, port, time, payload).
//
// Both consumers do what the decoder worker will do with a datagram before decoding: copy the
// payload into a private input region (the wasm IN_PTR) and read its fields. Both producers push
// as fast as they can: the ring producer yields with setImmediate when the ring is full; the
// postMessage producer keeps at most `slots` datagrams in flight (the worker acknowledges every
// 128), so both hold the same amount of data in flight and memory stays bounded.
//
// Figures are end to end (first datagram sent to the worker's last one received), after a warm-up
// in the same worker, median of the rounds. "main GCs" counts garbage collections on the main
// thread during the timed part. In the ring row they come from the harness's setImmediate handles
// when the ring is full (a producer that spins instead measured 0 GCs for 200k datagrams): push()
// allocates nothing, as the one-thread line shows (push + peek + copyPayload + release, 1M times).
//
//   node dist/bench/ring.bench.js [--quick]      (--quick: 200k datagrams, 1 round; else 1M, 3 rounds)
//
// Writes ring_packets_per_s (the ring's median) into bench/results.json, keeping the other keys.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PacketRing, RING_FULL } from '../src/ring/ring.js';
import { projectPath } from '../src/paths.js';

type Mode = 'ring' | 'postMessage';

interface WorkerInput { mode: Mode; warmup: number; count: number; buffer?: SharedArrayBuffer }

const SLOTS = 1024;
const SLOT_BYTES = 2016; // stride 2048
const ACK_EVERY = 128;
/** Bytes before the payload in a postMessage copy, as in a ring slot: u32 length, u16 port, pad, f64 time, address. */
const HEADER = 32;

/** 16 datagrams of 1,350-1,455 B (a full IPFIX export packet is ~1,370-1,472 B), reused round-robin. */
function datagrams(): Buffer[] {
  return Array.from({ length: 16 }, (_, k) => {
    const b = Buffer.alloc(1350 + k * 7);
    for (let i = 0; i < b.length; i++) b[i] = (i * 31 + k) & 0xff;
    return b;
  });
}

// ---------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------

async function consumeRing(input: WorkerInput, port: NonNullable<typeof parentPort>): Promise<void> {
  const ring = PacketRing.attach(input.buffer!);
  const inRegion = Buffer.alloc(65536);
  let received = 0;
  let sink = 0;
  const total = input.warmup + input.count;
  for (;;) {
    let slot: number;
    while ((slot = ring.peek()) !== -1) {
      const length = ring.copyPayload(slot, inRegion, 0);
      sink += inRegion[length - 1]! + ring.port(slot) + ring.bytes[ring.addressOffset(slot) + 15]!;
      ring.release();
      if (++received === input.warmup) port.postMessage('warm');
    }
    if ((await ring.waitForData(1000)) === 'closed') break;
  }
  port.postMessage({ done: received === total, received, sink });
}

function consumeMessages(input: WorkerInput, port: NonNullable<typeof parentPort>): void {
  const inRegion = Buffer.alloc(65536);
  let received = 0;
  let sink = 0;
  const total = input.warmup + input.count;
  port.on('message', (message: ArrayBuffer) => {
    const view = new DataView(message);
    const length = view.getUint32(0, true);
    inRegion.set(new Uint8Array(message, HEADER, length), 0);
    sink += inRegion[length - 1]! + view.getUint16(4, true) + view.getUint8(31);
    received++;
    if (received % ACK_EVERY === 0) port.postMessage(received);
    if (received === input.warmup) port.postMessage('warm');
    if (received === total) {
      port.postMessage({ done: true, received, sink });
      port.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Main side
// ---------------------------------------------------------------------------------------------

interface RoundResult { seconds: number; gcs: number; full: number }

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => { gcCount += list.getEntries().length; });

/** Waits for the worker's next message that satisfies `accept`. */
function nextMessage(worker: Worker, accept: (message: unknown) => boolean): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!accept(message)) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(message);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

const isDone = (m: unknown) => typeof m === 'object' && m !== null && 'done' in m;

/** Starts a consumer worker (this file) and promises for its end. */
function startWorker(input: WorkerInput) {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: input });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, exited, warm: nextMessage(worker, (m) => m === 'warm'), done: nextMessage(worker, isDone) };
}

async function finish(done: Promise<unknown>, exited: Promise<number>, start: bigint, gcsBefore: number, full: number): Promise<RoundResult> {
  const report = (await done) as { done: boolean; received: number };
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (!report.done) throw new Error(`ring.bench: worker received ${report.received} datagrams, not all`);
  const code = await exited;
  if (code !== 0) throw new Error(`ring.bench: worker exited with code ${code}`);
  await immediate(); // Lets the GC observer deliver the timed part's entries.
  return { seconds, gcs: gcCount - gcsBefore, full };
}

async function roundRing(warmup: number, count: number, packets: Buffer[]): Promise<RoundResult> {
  const ring = PacketRing.create({ slots: SLOTS, slotBytes: SLOT_BYTES });
  const { exited, warm, done } = startWorker({ mode: 'ring', warmup, count, buffer: ring.buffer });
  const address = Buffer.from('00000000000000000000ffff0a000001', 'hex');
  let full = 0;
  // Callback-driven rather than `await` per full ring, so the harness allocates only setImmediate's
  // own handle when it yields and the GC column shows what push() costs.
  const push = (count: number) => new Promise<void>((resolve) => {
    let i = 0;
    const pump = () => {
      while (i < count) {
        if (ring.push(packets[i & 15]!, address, 0, 4739, Date.now()) === RING_FULL) {
          full++;
          setImmediate(pump);
          return;
        }
        i++;
      }
      resolve();
    };
    pump();
  });
  await push(warmup);
  await warm;
  full = 0;
  const gcsBefore = gcCount;
  const start = process.hrtime.bigint();
  await push(count);
  ring.close();
  return finish(done, exited, start, gcsBefore, full);
}

async function roundPostMessage(warmup: number, count: number, packets: Buffer[]): Promise<RoundResult> {
  const { worker, exited, warm, done } = startWorker({ mode: 'postMessage', warmup, count });
  let acked = 0;
  let ackWaiter: (() => void) | undefined;
  worker.on('message', (m: unknown) => {
    if (typeof m !== 'number') return;
    acked = m;
    ackWaiter?.();
  });
  const address = Buffer.from('00000000000000000000ffff0a000001', 'hex');
  let sent = 0;
  let full = 0;
  const send = async (n: number) => {
    for (const end = sent + n; sent < end;) {
      if (sent - acked >= SLOTS) {
        full++;
        await new Promise<void>((resolve) => { ackWaiter = resolve; });
        continue;
      }
      const payload = packets[sent & 15]!;
      const copy = new Uint8Array(HEADER + payload.length);
      const view = new DataView(copy.buffer);
      view.setUint32(0, payload.length, true);
      view.setUint16(4, 4739, true);
      view.setFloat64(8, Date.now(), true);
      copy.set(address, 16);
      copy.set(payload, HEADER);
      worker.postMessage(copy.buffer, [copy.buffer]);
      sent++;
    }
  };
  await send(warmup);
  await warm;
  full = 0;
  const gcsBefore = gcCount;
  const start = process.hrtime.bigint();
  await send(count);
  return finish(done, exited, start, gcsBefore, full);
}

/** push() + peek() + copy-out + release() of 1M datagrams in one thread, no worker: the CPU cost
 *  of the hand-off itself, which the machine's load does not move much, and the GCs it causes. */
async function oneThread(packets: Buffer[]): Promise<{ nsPerPacket: number; gcs: number }> {
  const ring = PacketRing.create({ slots: SLOTS, slotBytes: SLOT_BYTES });
  const address = Buffer.alloc(16);
  const inRegion = Buffer.alloc(65536);
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      ring.push(packets[i & 15]!, address, 0, 4739, i);
      ring.copyPayload(ring.peek(), inRegion, 0);
      ring.release();
    }
  };
  run(200_000);
  await immediate(); // GC entries arrive asynchronously: let the warm-up's land before counting.
  const gcsBefore = gcCount;
  const start = process.hrtime.bigint();
  run(1_000_000);
  const nsPerPacket = Number(process.hrtime.bigint() - start) / 1e6;
  await immediate();
  return { nsPerPacket, gcs: gcCount - gcsBefore };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const loadBefore = loadavg()[0]!;
  const count = quick ? 200_000 : 1_000_000;
  const rounds = quick ? 1 : 3;
  const warmup = Math.max(20_000, count / 10);
  const packets = datagrams();
  gcObserver.observe({ entryTypes: ['gc'] });

  const results: Record<Mode, RoundResult[]> = { ring: [], postMessage: [] };
  for (let r = 0; r < rounds; r++) {
    results.ring.push(await roundRing(warmup, count, packets));
    results.postMessage.push(await roundPostMessage(warmup, count, packets));
  }
  const single = await oneThread(packets);
  gcObserver.disconnect();

  const rate = (mode: Mode) => median(results[mode].map((x) => count / x.seconds));
  const baseline = rate('postMessage');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows = [
    { name: 'sab ring -> worker', mode: 'ring' as const, waits: 'ring full' },
    { name: 'postMessage -> worker', mode: 'postMessage' as const, waits: 'window full' },
  ].map(({ name, mode, waits }) => {
    const pps = rate(mode);
    return [name, fmt(pps), fmt(1e9 / pps), (pps / baseline).toFixed(2) + 'x',
      fmt(median(results[mode].map((x) => x.gcs))), `${fmt(median(results[mode].map((x) => x.full)))} (${waits})`];
  });
  const header = ['name', 'packets/s', 'ns/packet', 'ratio', 'main GCs', 'producer waits'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');

  console.log(`ring.bench: ${fmt(count)} datagrams of 1,350-1,455 B per round, ${rounds === 1 ? '1 round' : `median of ${rounds} rounds`}, ` +
    `ring ${SLOTS} x ${SLOT_BYTES} B, Node ${process.version}, ${availableParallelism()} CPUs`);
  console.log('');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log('');
  console.log(`one thread, no worker: push + peek + copy-out + release ${single.nsPerPacket.toFixed(0)} ns/packet, ` +
    `${single.gcs} GCs in 1M`);
  console.log(`rounds, packets/s: ring ${results.ring.map((x) => fmt(count / x.seconds)).join(' / ')}; ` +
    `postMessage ${results.postMessage.map((x) => fmt(count / x.seconds)).join(' / ')}`);
  // Two busy threads need both cores: other processes move these figures more than anything here.
  console.log(`1-minute load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`);
  console.log(`command: node dist/bench/ring.bench.js${quick ? ' --quick' : ''}`);

  const resultsPath = projectPath('bench', 'results.json');
  const previous: Record<string, unknown> = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
  writeFileSync(resultsPath, JSON.stringify({ ...previous, ring_packets_per_s: Math.round(rate('ring')) }, null, 2) + '\n');
  console.log(`wrote ring_packets_per_s to ${resultsPath}`);
}

if (isMainThread) {
  await main();
} else {
  const input = workerData as WorkerInput;
  const port = parentPort!;
  if (input.mode === 'ring') {
    // A pending Atomics.waitAsync does not keep the worker alive: this listener is the ref'd handle.
    const keepAlive = () => {};
    port.on('message', keepAlive);
    await consumeRing(input, port);
    port.off('message', keepAlive);
  } else {
    consumeMessages(input, port);
  }
}
