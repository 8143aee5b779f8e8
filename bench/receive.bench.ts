// Receive only: how many datagrams/s one Node process takes on one UDP socket without kernel
// drops. Nothing is decoded and nothing goes to Kafka: this is the ceiling of FlowGate's receive
// loop (src/udp/receiver.ts), the first stage every datagram crosses on the main thread.
//
// The receiver (this file, run with --receiver, a process of its own) runs FlowGate's own
// UdpReceiver (dist/src/udp/receiver.js) on 127.0.0.1:0 with recvBufferSize 8 MiB (FlowGate's
// default, --receive-buffer to change; the kernel caps it at net.core.rmem_max, so check the
// "receive buffer" line): per datagram it counts datagrams and bytes, looks the exporter up by
// source address (16 address bytes and worker, once per exporter, the pool's FNV hash), and pushes
// the datagram into that worker's PacketRing (4,096 slots of 9,216 B, as config.yaml) with port and
// receive time, counting ring_full / too_large.
// Each ring is drained by a trivial consumer in a worker thread: the drain loop of
// src/decoder/worker.ts (peek, release; setImmediate after a pass that found datagrams,
// ring.waitForData() after an empty one) without the decoding, so the producer also pays for the
// Atomics.notify it owes a sleeping consumer. To see where the time goes: --work lookup does
// everything but the push (no ring, no threads), --work count (or --count-only) only counts (the
// dgram cost alone); --consumer poll makes the consumers check the ring every 1 ms instead of
// sleeping in waitForData() (so the producer never notifies), --consumer spin never lets them rest.
//
// The load: bench/loadgen (C sendmmsg sender, 16 exporters on 127.0.1.x, templates every 20 data
// packets) at increasing datagram rates, each step for --step-seconds. Default 20 records per packet:
// data datagrams of ~1,470 B (1,404 B on average with the template messages), an MTU-sized export
// packet as real routers send and as the spike measured (1,370 B); --records-per-packet 1 gives
// ~100 B datagrams (the per-datagram costs are the same, the copy is smaller). Before and after each step the harness reads the socket's `drops` column from
// /proc/net/udp (and waits for rx_queue to empty, so late datagrams are counted), and the receiver's
// counters over IPC. The answer is the highest step whose datagrams all arrived (no kernel drop, no
// ring_full) with every lower step clean too; two extra steps bisect between it and the first step
// that lost datagrams, and a last --max step shows what the receiver takes when flooded.
//
// Both processes share this machine's cores with the load generator (and whatever else runs), so
// the figures are a lower bound for a dedicated receive core. The table shows what the rest of the
// machine used during each step ("other CPU"), and warns when it was more than a quarter of a core:
// on a 2-core box another benchmark running meanwhile halves the result.
//
// Measured before the receive path was reworked (2 vCPUs, Node 20.20.2, 1,404 B datagrams, a
// quiet run: other CPU <= 8 %, with a copy of the receiver's loop):
//   FlowGate's work (ring, 2 sleeping consumers): 63-75k datagrams/s with no drop, first loss at
//     75-88k, ~100k received/s when flooded; receive thread 6-7.7 µs of CPU per datagram, the whole
//     process 11-15 µs (the consumers wake for nearly every datagram).
//   --work count (dgram alone): 150k with no drop, 194k at 200k offered, 264k flooded; 4.2-4.7 µs.
// After (FlowGate's UdpReceiver, light ring sleeps, handle hook; 2026-12-01, docs/performance.md
// section 1): 100k with no drop, 188-192k received at 200k offered with the 4 MiB rmem_max; with
// net.core.rmem_max and --receive-buffer 67108864, 200k with no drop in 4 of 5 runs, 220-250k flooded.
//
//   node dist/bench/receive.bench.js [--quick] [--rates 50000,100000,...] [--step-seconds 4]
//     [--records-per-packet 20] [--exporters 16] [--workers 2] [--work ring|lookup|count]
//     [--consumer sleep|poll|spin] [--receive-buffer BYTES]
//     [--no-flood] [--no-bisect]
//
// --quick: 50k, 100k, 200k datagrams/s and the flood step, 2 s each, no bisection (~15 s). Default
// total is under a minute. Merges receive_datagrams_per_s (and receive_flood_datagrams_per_s,
// receive_datagram_bytes, receive_bench_command) into bench/results.json, except in the diagnostic
// modes (--work other than ring, --consumer other than sleep).

import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { addressBytes } from '../src/net/address.js';
import { PacketRing } from '../src/ring/ring.js';
import { UdpReceiver } from '../src/udp/receiver.js';
import { createLogger } from '../src/log.js';
import { runLoadgen } from './lib/loadgen.js';
import { udpSocketCounters } from './lib/proc-net-udp.js';
import { mergeResults } from './lib/results.js';
import { projectRoot } from '../src/paths.js';

const SLOTS = 4096;
const SLOT_BYTES = 9216;
const RECEIVE_BUFFER = 8 << 20;
const TEMPLATE_EVERY = 20;

interface ReceiverStats {
  datagrams: number;
  bytes: number;
  ringFull: number;
  tooLarge: number;
  /** process.cpuUsage() (all threads), µs */
  cpuUs: number;
  /** main thread event loop: idle and active ms (performance.eventLoopUtilization) */
  idle: number;
  active: number;
}

type ToReceiver = { type: 'stats' } | { type: 'stop' };
type FromReceiver = { type: 'ready'; port: number; receiveBufferBytes: number } | ({ type: 'stats' } & ReceiverStats);

// ---------------------------------------------------------------------------------------------
// Consumer thread: releases everything pushed into its ring.
// ---------------------------------------------------------------------------------------------

async function consumer(): Promise<void> {
  const { buffer, consumer: how } = workerData as { buffer: SharedArrayBuffer; consumer: Consumer };
  const ring = PacketRing.attach(buffer);
  const port = parentPort!;
  port.on('message', () => { /* keeps the thread alive while it waits on the ring (see ring.ts) */ });
  // The loop of src/decoder/worker.ts without the work: release slot by slot; after a pass that
  // found datagrams yield to the event loop once (setImmediate), sleep on the ring after an empty one.
  for (;;) {
    let handled = 0;
    while (ring.peek() >= 0) {
      ring.release();
      handled++;
    }
    if (ring.closed && ring.peek() < 0) break;
    if (handled === 0 && how === 'sleep') await ring.waitForData(200);
    else if (handled === 0 && how === 'poll') await sleep(1); // never announces a sleep: the producer never notifies
    else await yieldToEventLoop();
  }
  port.close();
}

// ---------------------------------------------------------------------------------------------
// Receiver process
// ---------------------------------------------------------------------------------------------

type Work = 'count' | 'lookup' | 'ring';
type Consumer = 'sleep' | 'poll' | 'spin';

async function receiver(work: Work, workers: number, consumer: Consumer, receiveBuffer: number): Promise<void> {
  const rings = work === 'ring' ? Array.from({ length: workers }, () => PacketRing.create({ slots: SLOTS, slotBytes: SLOT_BYTES })) : [];
  const threads = rings.map((r) => new Worker(new URL(import.meta.url), { workerData: { buffer: r.buffer, consumer } }));
  const exporters = new Map<string, { address: Uint8Array; worker: number }>();
  const stats = { datagrams: 0, bytes: 0, ringFull: 0, tooLarge: 0 };
  const workerFor = (a: Uint8Array): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < 16; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
    return ((h ^ (h >>> 16)) >>> 0) % Math.max(1, rings.length);
  };
  let sink = 0;
  let socket: dgram.Socket | undefined;
  let gateway: UdpReceiver | undefined;
  let port: number;
  let receiveBufferBytes: number;
  if (work === 'ring') {
    // FlowGate's receiver itself, with this process's rings in place of the decoder pool's.
    gateway = new UdpReceiver(['127.0.0.1:0'], receiveBuffer, { workerFor, ring: (i) => rings[i]! }, createLogger('error'));
    const [bound] = await gateway.start();
    port = bound!.port;
    receiveBufferBytes = gateway.receiveBufferBytes()[0]!;
  } else {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: receiveBuffer });
    if (work === 'count') {
      s.on('message', (msg) => { stats.datagrams++; stats.bytes += msg.length; });
    } else {
      // everything but the push: counts, exporter lookup, Date.now()
      s.on('message', (msg, rinfo) => {
        stats.datagrams++;
        stats.bytes += msg.length;
        let exporter = exporters.get(rinfo.address);
        if (!exporter) {
          const address = addressBytes(rinfo.address);
          exporter = { address, worker: workerFor(address) };
          exporters.set(rinfo.address, exporter);
        }
        sink += exporter.worker + rinfo.port + Date.now();
      });
    }
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    socket = s;
    port = s.address().port;
    receiveBufferBytes = s.getRecvBufferSize();
  }
  const send = (m: FromReceiver): void => { process.send!(m); };
  send({ type: 'ready', port, receiveBufferBytes });
  process.on('disconnect', () => process.exit(0)); // the harness went away
  process.on('message', (m: ToReceiver) => {
    if (m.type === 'stats') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      if (sink === -1) console.log(sink);
      if (gateway) {
        const g = gateway.stats;
        Object.assign(stats, { datagrams: g.datagrams, bytes: g.bytes, ringFull: g.dropped.ring_full, tooLarge: g.dropped.too_large });
      }
      send({ type: 'stats', ...stats, cpuUs: cpu.user + cpu.system, idle: elu.idle, active: elu.active });
    } else {
      socket?.close();
      void gateway?.stop();
      for (const r of rings) r.close();
      void Promise.all(threads.map((t) => new Promise((resolve) => t.once('exit', resolve)))).then(() => process.exit(0));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

interface Args {
  quick: boolean;
  rates: number[];
  stepSeconds: number;
  recordsPerPacket: number;
  exporters: number;
  workers: number;
  work: Work;
  consumer: Consumer;
  flood: boolean;
  bisect: number;
  receiveBuffer: number;
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const a: Args = {
    quick, rates: quick ? [50_000, 100_000, 200_000] : [50_000, 100_000, 150_000, 200_000, 250_000, 300_000],
    stepSeconds: quick ? 2 : 4, recordsPerPacket: 20, exporters: 16, workers: 2, work: 'ring', consumer: 'sleep', flood: true, bisect: quick ? 0 : 2, receiveBuffer: RECEIVE_BUFFER,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positive = (v: string): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got ${v}`);
      return n;
    };
    switch (flag) {
      case '--quick': break;
      case '--rates': a.rates = value().split(',').map(positive).sort((x, y) => x - y); break;
      case '--step-seconds': a.stepSeconds = positive(value()); break;
      case '--records-per-packet': a.recordsPerPacket = Math.floor(positive(value())); break;
      case '--exporters': a.exporters = Math.floor(positive(value())); break;
      case '--workers': a.workers = Math.floor(positive(value())); break;
      case '--receive-buffer': a.receiveBuffer = Math.floor(positive(value())); break;
      case '--count-only': a.work = 'count'; break;
      case '--work': {
        const v = value();
        if (v !== 'count' && v !== 'lookup' && v !== 'ring') throw new Error('--work: count, lookup or ring');
        a.work = v;
        break;
      }
      case '--consumer': {
        const v = value();
        if (v !== 'sleep' && v !== 'poll' && v !== 'spin') throw new Error('--consumer: sleep, poll or spin');
        a.consumer = v;
        break;
      }
      case '--no-flood': a.flood = false; break;
      case '--no-bisect': a.bisect = 0; break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  return a;
}


interface Step {
  offered: number | 'max';
  sent: number;
  sentPerS: number;
  received: number;
  receivedPerS: number;
  drops: number;
  ringFull: number;
  unaccounted: number;
  cpuPercent: number;
  cpuUsPerDatagram: number;
  mainCpuUsPerDatagram: number;
  mainBusyPercent: number;
  loadgenCpuPercent: number;
  /** CPU used by everything else on the machine during the step, % of one core. */
  otherCpuPercent: number;
  datagramBytes: number;
  sender: string;
}

const self = fileURLToPath(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Busy CPU time of the whole machine so far, seconds (/proc/stat: user nice system irq softirq steal). */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

async function harness(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const command = `cd ${projectRoot()} && npm run build && node dist/bench/receive.bench.js ${process.argv.slice(2).join(' ')}`.trim();
  const child = fork(self, ['--receiver', '--work', a.work, '--workers', String(a.workers), '--consumer', a.consumer, '--receive-buffer', String(a.receiveBuffer)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: ((m: FromReceiver) => void)[] = [];
  child.on('message', (m: FromReceiver) => waiting.shift()?.(m));
  const next = (): Promise<FromReceiver> => new Promise((resolve) => waiting.push(resolve));
  const ready = await next();
  if (ready.type !== 'ready') throw new Error('receiver did not start');
  const port = ready.port;
  const stats = async (): Promise<ReceiverStats> => {
    const p = next();
    child.send({ type: 'stats' } satisfies ToReceiver);
    return (await p) as ReceiverStats;
  };
  // CPU time of the receiving thread alone (the process's main thread: tid = pid), in µs, from
  // /proc/PID/task/PID/stat utime + stime (fields 14, 15, in clock ticks of 10 ms).
  const mainThreadCpuUs = (): number => {
    const stat = readFileSync(`/proc/${child.pid}/task/${child.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  };
  const counters = () => {
    const c = udpSocketCounters(port, '127.0.0.1');
    if (!c) throw new Error(`no row for 127.0.0.1:${port} in /proc/net/udp (this bench needs Linux)`);
    return c;
  };

  console.log(`receive only: one dgram socket on 127.0.0.1:${port}, receive buffer ${ready.receiveBufferBytes} B (kernel's doubled value), `
    + (a.work === 'count' ? 'per datagram: count only' : a.work === 'lookup' ? 'per datagram: count, exporter lookup, Date.now() (no ring)'
      : `per datagram: FlowGate's UdpReceiver (exporter lookup + push) into 1 of ${a.workers} PacketRing(s) of ${SLOTS} x ${SLOT_BYTES} B, drained by trivial consumer threads`
        + (a.consumer === 'poll' ? ' that poll every 1 ms' : a.consumer === 'spin' ? ' that never sleep' : '')));
  console.log(`load: bench/loadgen, ${a.exporters} exporters, ${a.recordsPerPacket} records/packet, templates every ${TEMPLATE_EVERY} packets, `
    + `${a.stepSeconds} s per step; ${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  /** Datagrams/s -> the loadgen's records/s (template messages are datagrams too). */
  const recordRate = (datagrams: number) => Math.round((datagrams * a.recordsPerPacket * TEMPLATE_EVERY) / (TEMPLATE_EVERY + 1));
  const common = ['--exporters', String(a.exporters), '--records-per-packet', String(a.recordsPerPacket),
    '--template-every', String(TEMPLATE_EVERY), '--pool-records', '20000'];

  const step = async (offered: number | 'max', seconds: number): Promise<Step> => {
    const before = counters();
    const s0 = await stats();
    const wall0 = performance.now();
    const main0 = mainThreadCpuUs();
    const busy0 = machineBusySeconds();
    const result = await runLoadgen(port, [...common, ...(offered === 'max' ? ['--max'] : ['--rate', String(recordRate(offered))]), '--duration', String(seconds)]);
    // Let the receiver drain its socket before reading the counters: everything sent is then either received or dropped.
    let s1 = await stats();
    for (let i = 0; i < 50; i++) {
      await sleep(50);
      const again = await stats();
      const settled = again.datagrams === s1.datagrams && counters().rxQueue === 0;
      s1 = again;
      if (settled) break;
    }
    const after = counters();
    const mainUs = mainThreadCpuUs() - main0;
    const busyS = machineBusySeconds() - busy0;
    const received = s1.datagrams - s0.datagrams;
    const drops = after.drops - before.drops;
    const wallS = (performance.now() - wall0) / 1000;
    const busy = s1.active - s0.active;
    const idle = s1.idle - s0.idle;
    const cpuUs = s1.cpuUs - s0.cpuUs;
    return {
      offered, sent: result.datagrams, sentPerS: result.datagrams_per_s, received, receivedPerS: Math.round(received / result.seconds),
      drops, ringFull: s1.ringFull - s0.ringFull, unaccounted: result.datagrams - received - drops,
      cpuPercent: (cpuUs / 1e6 / result.seconds) * 100, cpuUsPerDatagram: received ? cpuUs / received : 0,
      mainCpuUsPerDatagram: received ? mainUs / received : 0,
      mainBusyPercent: busy + idle > 0 ? (100 * busy) / (busy + idle) : 0, loadgenCpuPercent: (100 * result.cpu_s) / result.seconds,
      // the loadgen's Node parent (pool building, ~0.1 s) counts as "other"
      otherCpuPercent: Math.max(0, (100 * (busyS - cpuUs / 1e6 - result.cpu_s)) / wallS),
      datagramBytes: result.datagrams ? Math.round(result.bytes / result.datagrams) : 0, sender: result.sender,
    };
  };

  const clean = (s: Step) => s.drops === 0 && s.ringFull === 0 && s.unaccounted === 0 && s.sent > 0;
  const steps: Step[] = [];
  const t0 = performance.now();
  await step(Math.min(20_000, a.rates[0]!), 1); // warm-up: JIT, exporter map, ring views
  let lastOk: Step | undefined;
  let firstBad: Step | undefined;
  let bad = 0;
  for (const rate of a.rates) {
    const s = await step(rate, a.stepSeconds);
    steps.push(s);
    process.stderr.write(`  ${rate} datagrams/s offered: ${s.receivedPerS} received/s, ${s.drops} kernel drops\n`);
    if (clean(s) && !firstBad) lastOk = s;
    else if (!clean(s)) { firstBad ??= s; if (++bad >= 2) break; }
  }
  for (let i = 0; i < a.bisect && firstBad; i++) {
    const lo = lastOk ? (lastOk.offered as number) : 0;
    const hi = firstBad.offered as number;
    const mid = Math.round((lo + hi) / 2 / 1000) * 1000;
    if (hi - lo <= 10_000 || mid <= lo || mid >= hi) break;
    const s = await step(mid, a.stepSeconds);
    steps.push(s);
    process.stderr.write(`  ${mid} datagrams/s offered: ${s.receivedPerS} received/s, ${s.drops} kernel drops\n`);
    if (clean(s)) lastOk = s;
    else firstBad = s;
  }
  let flood: Step | undefined;
  if (a.flood) {
    flood = await step('max', Math.min(3, a.stepSeconds));
    steps.push(flood);
  }
  const elapsed = (performance.now() - t0) / 1000;
  child.send({ type: 'stop' } satisfies ToReceiver);

  const rows = [...steps].sort((x, y) => (x.offered === 'max' ? 1 : y.offered === 'max' ? -1 : x.offered - y.offered));
  const header = ['offered dg/s', 'sent dg/s', 'received dg/s', 'kernel drops', 'ring_full', 'loss %', 'receiver CPU', 'µs CPU/dg', 'recv thread µs/dg', 'recv loop busy', 'loadgen CPU', 'other CPU'];
  const table = rows.map((s) => [
    s.offered === 'max' ? 'max (flood)' : s.offered.toLocaleString('en-US'), s.sentPerS.toLocaleString('en-US'), s.receivedPerS.toLocaleString('en-US'),
    s.drops.toLocaleString('en-US') + (s.unaccounted ? ` (+${s.unaccounted} unaccounted)` : ''), String(s.ringFull),
    (s.sent ? (100 * (s.sent - s.received)) / s.sent : 0).toFixed(2), `${s.cpuPercent.toFixed(0)} %`, s.cpuUsPerDatagram.toFixed(2), s.mainCpuUsPerDatagram.toFixed(2),
    `${s.mainBusyPercent.toFixed(0)} %`, `${s.loadgenCpuPercent.toFixed(0)} %`, `${s.otherCpuPercent.toFixed(0)} %`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |';
  console.log('');
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 1) + ':').join('|') + '|');
  for (const r of table) console.log(line(r));
  console.log('');
  const size = steps.find((s) => s.datagramBytes)?.datagramBytes ?? 0;
  const best = lastOk ? lastOk.sentPerS : 0;
  console.log(`datagrams of ~${size} B (${a.recordsPerPacket} records), sender: ${steps[0]?.sender ?? '?'}. "receiver CPU" and "µs CPU/dg" count all`);
  console.log('the receiver\'s threads (the consumers too); "recv thread µs/dg" is the receiving thread\'s own CPU per datagram (10 ms ticks),');
  console.log('"recv loop busy" its event loop utilisation (wall clock: includes time it was runnable but preempted); "other CPU" is what');
  console.log('the rest of the machine used meanwhile (/proc/stat minus the receiver and the sender), % of one core.');
  console.log(lastOk
    ? `highest rate with zero kernel drops: ${best.toLocaleString('en-US')} datagrams/s (offered ${(lastOk.offered as number).toLocaleString('en-US')})`
      + (firstBad ? `; first loss at ${(firstBad.offered as number).toLocaleString('en-US')} offered` : '; no step lost any')
    : 'every step lost datagrams: no zero-drop rate found (try lower --rates)');
  if (flood) console.log(`flooded (${flood.sentPerS.toLocaleString('en-US')} datagrams/s sent): ${flood.receivedPerS.toLocaleString('en-US')} received/s`);
  const disturbed = steps.filter((s) => s.otherCpuPercent > 25).length;
  if (disturbed) {
    console.log(`WARNING: in ${disturbed} of ${steps.length} steps other processes used more than 25 % of a core ("other CPU"): `
      + 'the receiver and the load generator shared the cores with them, so these figures are low; rerun on a quiet machine.');
  }
  console.log(`took ${elapsed.toFixed(0)} s. reproduce: ${command}`);

  if (a.work !== 'ring' || a.consumer !== 'sleep') {
    console.log('diagnostic mode (--work / --consumer): bench/results.json left alone');
    return;
  }
  mergeResults({
    receive_datagrams_per_s: best,
    ...(flood ? { receive_flood_datagrams_per_s: flood.receivedPerS } : {}),
    receive_datagram_bytes: size,
    receive_bench_command: command,
  });
  console.log('receive_datagrams_per_s merged into bench/results.json');
}

// ---------------------------------------------------------------------------------------------

if (!isMainThread) {
  await consumer();
} else if (process.argv.includes('--receiver')) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  await receiver((arg('--work') ?? 'ring') as Work, Number(arg('--workers') ?? 2), (arg('--consumer') ?? 'sleep') as Consumer, Number(arg('--receive-buffer') ?? RECEIVE_BUFFER));
} else {
  try {
    await harness();
  } catch (err) {
    process.stderr.write(`receive.bench: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
