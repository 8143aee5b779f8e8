// FlowGate load generator: valid IPFIX (RFC 7011) from many exporters on 127.0.0.0/8 to one
// gateway address on this machine. A process of its own, so a benchmark measures the gateway,
// not the generator sharing its event loop.
//
//   node dist/bench/loadgen/main.js --target 127.0.0.1:4739 [--exporters 16] [--first-exporter 0] [--rate N | --max]
//     [--duration S | --records N] [--records-per-packet 25 | 20-30] [--ipv6-share 0.3]
//     [--template-every 20] [--seed 1] [--sender auto|c|node] [--pool-records 65536] [--json]
//
// --rate is records/s (paced every ~1 ms, catching up on a late tick, a debt of more than 100 ms is
// forgiven); --max sends as fast as it can. --records N sends exactly N records (whole packets,
// the last one short if need be); --duration S stops after S seconds (default 10 s when neither
// is given). Exporter i sends from 127.0.1.i (its own socket bound to that address; --first-exporter K
// shifts them to the K-th address on, so two generators can run side by side); with a ::1
// target all exporters send from ::1, on their own ports. Only 127.0.0.0/8 and ::1 are accepted
// as targets.
//
// Output: one JSON line on stdout at the end:
//   {"datagrams","records","templates" (template records: 2 per template message),
//    "template_datagrams","seconds","records_per_s","datagrams_per_s","bytes","send_errors",
//    "cpu_s" (the generator's own CPU time),"sender"}
// Counts are of datagrams handed to the kernel. sender.c retries a datagram refused with
// ECONNREFUSED (an ICMP port unreachable for an earlier one: nobody listens) and counts the failed
// attempts in send_errors; the Node sender learns of errors only asynchronously, so with nobody
// listening its counts include the refused datagrams (send_errors > 0 says so).
// stderr: what it is doing, and progress once a second, unless --json (then only errors).
//
// The packets: bench/loadgen/ipfix.ts. Templates 256 (IPv4 flows) and 257 (IPv6 flows), 16 fields
// each (addresses, ports, protocol, TCP flags, ToS, octets and packets as u64,
// flowStart/EndMilliseconds, in/out interface, src/dst AS, VLAN): 65- and 89-byte records,
// ~295 / ~330 bytes of JSON each out of the decoder (~306 on average at 30 % IPv6; check.js
// prints it). 25 records make a ~1,770 B datagram, more than a 1,500 B MTU router would send;
// --records-per-packet 20 gives ~1,470 B, MTU-sized. A pool of --pool-records seeded pseudo-random
// records is built once and replayed in a loop; per datagram the sender patches export time, the
// sequence number and the flow times (shifted by the time since the pool was built).
//
// Senders. "c" (the default when `cc` works): sender.c, compiled on demand into
// dist/bench/loadgen/sender, one connected socket per exporter, sendmmsg() in chunks of up to 64
// datagrams per exporter turn. "node": dgram, one connected socket per exporter. Measured here
// (2 vCPUs shared with other work, Node 20.20.2, loopback, 16 exporters, --max for 4 s, target a
// bound socket nobody reads, so the kernel drops what it cannot queue):
//
//   sender  records/packet        datagrams/s    records/s    sender CPU
//   node    25 (~1,770 B)         105-115 k      2.5-2.7 M    1 core
//   node    1  (~100 B)           195-225 k      190-215 k    1 core
//   c       25 (~1,770 B)         280-350 k      7-8.4 M      1 core
//   c       1  (~100 B)           400-480 k      385-460 k    1 core
//
// (template messages are datagrams too: 1 in 21 with --template-every 20.) Connecting the C
// sender's sockets gave +5 % (big packets) to +30 % (small) over sendto() with an address. A Node
// receiver takes ~100-250 k datagrams/s here (spike notes; bench/receive.bench.ts), so only the C
// sender can saturate it, and it costs less CPU at a given paced rate: about 4 µs of CPU per
// datagram, nearly all of it the kernel's loopback send and delivery (6 % of a core for 100k
// records/s in 25-record packets, 1-3 % at a few thousand records/s).

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { compileOnDemand } from './compile.js';
import { buildPool, encodePool, exporterAddress, finalPacket, Schedule, type Pool } from './ipfix.js';
import { parseEndpoint } from '../../src/config/addresses.js';
import { projectPath } from '../../src/paths.js';
import { isLoopback } from '../lib/loopback.js';

interface Options {
  host: string;
  port: number;
  exporters: number;
  firstExporter: number;
  rate: number; // records/s; 0 = max
  duration: number; // s; 0 = none
  records: number; // 0 = none
  recordsPerPacket: [number, number];
  ipv6Share: number;
  templateEvery: number;
  seed: number;
  json: boolean;
  sender: 'auto' | 'c' | 'node';
  poolRecords: number;
}

export interface LoadgenResult {
  datagrams: number;
  records: number;
  templates: number;
  template_datagrams: number;
  seconds: number;
  records_per_s: number;
  datagrams_per_s: number;
  bytes: number;
  send_errors: number;
  cpu_s: number;
  sender: 'c' | 'node';
}

const usage = `usage: node dist/bench/loadgen/main.js --target 127.0.0.1:4739 [--exporters 16] [--first-exporter 0] [--rate N | --max]
  [--duration S | --records N] [--records-per-packet 25 | MIN-MAX] [--ipv6-share 0.3] [--template-every 20]
  [--seed 1] [--sender auto|c|node] [--pool-records 65536] [--json]`;

function fail(message: string): never {
  process.stderr.write(`loadgen: ${message}\n${usage}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    host: '', port: 0, exporters: 16, firstExporter: 0, rate: 0, duration: 0, records: 0, recordsPerPacket: [25, 25],
    ipv6Share: 0.3, templateEvery: 20, seed: 1, json: false, sender: 'auto', poolRecords: 65536,
  };
  let max = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => { const v = argv[++i]; if (v === undefined) fail(`${flag} needs a value`); return v; };
    const num = (lo: number, hi = Infinity): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < lo || v > hi) fail(`${flag}: expected a number in [${lo}, ${hi}]`);
      return v;
    };
    switch (flag) {
      case '--target': {
        const target = parseEndpoint(value(), false);
        if (typeof target === 'string') fail(`--target: ${target}`);
        o.host = target.host; o.port = target.port;
        if (!isLoopback(o.host)) fail('--target must be in 127.0.0.0/8 or ::1 (this generator only sends to this machine)');
        if (o.port < 1 || o.port > 65535) fail('--target port out of range');
        break;
      }
      case '--exporters': o.exporters = Math.floor(num(1, 4096)); break;
      case '--first-exporter': o.firstExporter = Math.floor(num(0, 60000)); break;
      case '--rate': o.rate = num(1); break;
      case '--max': max = true; break;
      case '--duration': o.duration = num(0.001); break;
      case '--records': o.records = Math.floor(num(1)); break;
      case '--records-per-packet': {
        const v = value();
        const m = /^(\d+)(?:-(\d+))?$/.exec(v);
        const lo = m ? Number(m[1]) : NaN;
        const hi = m?.[2] ? Number(m[2]) : lo;
        // 65535-byte datagrams hold at most 736 IPv6 records; keep well under.
        if (!(lo >= 1 && hi >= lo && hi <= 500)) fail('--records-per-packet: N or MIN-MAX within 1-500');
        o.recordsPerPacket = [lo, hi];
        break;
      }
      case '--ipv6-share': o.ipv6Share = num(0, 1); break;
      case '--template-every': o.templateEvery = Math.floor(num(0)); break;
      case '--seed': o.seed = Math.floor(num(0)); break;
      case '--pool-records': o.poolRecords = Math.floor(num(1, 10_000_000)); break;
      case '--json': o.json = true; break;
      case '--sender': {
        const v = value();
        if (v !== 'auto' && v !== 'c' && v !== 'node') fail('--sender: auto, c or node');
        o.sender = v;
        break;
      }
      case '-h': case '--help': process.stdout.write(usage + '\n'); process.exit(0);
      // falls through (exit)
      default: fail(`unknown argument ${flag}`);
    }
  }
  if (!o.host) fail('--target is required');
  if (max && o.rate) fail('--rate and --max are exclusive');
  if (o.records && o.duration) fail('--records and --duration are exclusive');
  if (!o.records && !o.duration) o.duration = 10;
  if (o.host === '::1' && o.exporters > 1) {
    // all exporters share ::1; they differ by source port, which keys templates as well
  }
  return o;
}

function sources(o: Options): string[] {
  return Array.from({ length: o.exporters }, (_, i) => (o.host === '::1' ? '::1' : exporterAddress(o.firstExporter + i)));
}

// ---------------------------------------------------------------------------------------------
// C sender
// ---------------------------------------------------------------------------------------------

const senderSource = projectPath('bench', 'loadgen', 'sender.c');
const senderBinary = fileURLToPath(new URL('./sender', import.meta.url));

/** Compiles sender.c when the binary is missing or older than the source; false if that fails. */
function ensureSender(log: (s: string) => void): boolean {
  return compileOnDemand(senderSource, senderBinary, log);
}

function runC(o: Options, pool: Pool, final: ReturnType<typeof finalPacket> | undefined): Promise<LoadgenResult> {
  const args = [o.host, String(o.port), String(o.exporters), String(o.rate), String(o.duration), String(o.templateEvery),
    o.json ? '1' : '0', ...sources(o)];
  const child = spawn(senderBinary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  child.stdin.on('error', () => { /* the sender died early: its exit code tells */ });
  child.stdin.end(encodePool(pool, final));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => { out += d; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) { reject(new Error(`sender exited with ${code}`)); return; }
      const r = JSON.parse(line) as Omit<LoadgenResult, 'records_per_s' | 'datagrams_per_s' | 'sender'>;
      resolve({ ...r, ...rates(r), sender: 'c' });
    });
  });
}

function rates(r: { records: number; datagrams: number; seconds: number }): { records_per_s: number; datagrams_per_s: number } {
  return { records_per_s: Math.round(r.records / r.seconds), datagrams_per_s: Math.round(r.datagrams / r.seconds) };
}

// ---------------------------------------------------------------------------------------------
// Node sender
// ---------------------------------------------------------------------------------------------

async function runNode(o: Options, pool: Pool, final: ReturnType<typeof finalPacket> | undefined, log: (s: string) => void): Promise<LoadgenResult> {
  const family = o.host === '::1' ? 'udp6' : 'udp4';
  const sockets: dgram.Socket[] = [];
  let errors = 0;
  for (const address of sources(o)) {
    const s = dgram.createSocket({ type: family, sendBufferSize: 4 << 20 });
    s.on('error', () => { errors++; });
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind({ address, port: 0 }, () => { s.off('error', reject); resolve(); }); });
    await new Promise<void>((resolve) => s.connect(o.port, o.host, resolve));
    sockets.push(s);
  }
  const schedule = new Schedule(pool, o.exporters, o.templateEvery, final);
  // dgram may keep a reference to a buffer until the datagram is handed to the kernel (on loopback
  // that is at once: uv_udp_try_send), so datagrams are built in a ring of buffers, not one.
  const maxLength = Math.max(pool.template.length, ...pool.data.map((p) => p.bytes.length), final?.packet.bytes.length ?? 0);
  const ring = Array.from({ length: 4096 }, () => Buffer.allocUnsafe(maxLength));
  let ringAt = 0;
  let datagrams = 0, records = 0, templateDatagrams = 0, bytes = 0, exporter = 0;
  let stop = false;
  const onSignal = () => { stop = true; };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const avgRpp = pool.data.reduce((n, p) => n + p.records, 0) / pool.data.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let scheduleBase = t0, recordsBase = 0, nextReport = t0 + 1000, lastReport = 0;

  const sendChunk = (want: number): void => {
    const s = sockets[exporter]!;
    const now = Date.now();
    for (let k = 0; k < want; k++) {
      const buf = ring[ringAt]!;
      ringAt = (ringAt + 1) & 4095;
      const d = schedule.next(exporter, buf, now);
      if (!d) break;
      s.send(buf, 0, d.length);
      datagrams++; records += d.records; bytes += d.length;
      if (d.template) templateDatagrams++;
    }
    exporter = (exporter + 1) % o.exporters;
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const start = performance.now();
      for (;;) {
        const now = performance.now();
        if (stop || schedule.done || (o.duration && now - t0 >= o.duration * 1000)) { resolve(); return; }
        if (!o.json && now >= nextReport) {
          log(`${Math.round((now - t0) / 1000)} s, ${records} records (${records - lastReport}/s), ${datagrams} datagrams`);
          lastReport = records; nextReport += 1000;
        }
        if (o.rate) {
          let due = recordsBase + ((now - scheduleBase) / 1000) * o.rate;
          if (due - records > o.rate * 0.1) { recordsBase = records; scheduleBase = now; due = records; }
          const missing = due - records;
          if (missing <= 0) { setTimeout(tick, 1); return; }
          sendChunk(Math.min(64, Math.max(1, Math.ceil(missing / avgRpp / o.exporters))));
        } else {
          sendChunk(64);
        }
        // Let libuv run (send completions, signals) every few ms.
        if (performance.now() - start > 5) { setImmediate(tick); return; }
      }
    };
    tick();
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  const r = { datagrams, records, templates: templateDatagrams * 2, template_datagrams: templateDatagrams, seconds, bytes, send_errors: errors,
    cpu_s: (cpu.user + cpu.system) / 1e6 };
  return { ...r, ...rates(r), sender: 'node' };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string): void => { if (!o.json) process.stderr.write(`loadgen: ${s}\n`); };
  const warn = (s: string): void => { process.stderr.write(`loadgen: ${s}\n`); };
  let sender: 'c' | 'node' = o.sender === 'node' ? 'node' : 'c';
  if (sender === 'c' && !ensureSender(warn)) {
    if (o.sender === 'c') process.exit(1);
    warn('falling back to the Node sender (about 200k datagrams/s at most)');
    sender = 'node';
  }
  const poolRecords = o.records ? Math.min(o.records, o.poolRecords) : o.poolRecords;
  const pool = buildPool({ recordsPerPacket: o.recordsPerPacket, ipv6Share: o.ipv6Share, seed: o.seed, poolRecords, genMs: Date.now() });
  const final = o.records ? finalPacket(pool, o.records) : undefined;
  const rpp = o.recordsPerPacket[0] === o.recordsPerPacket[1] ? `${o.recordsPerPacket[0]}` : o.recordsPerPacket.join('-');
  log(`${sender} sender: ${o.exporters} exporters -> ${o.host}:${o.port}, ${o.rate ? `${o.rate} records/s` : 'max rate'}, `
    + `${o.records ? `${o.records} records` : `${o.duration} s`}, ${rpp} records/packet, IPv6 share ${o.ipv6Share}, `
    + `templates every ${o.templateEvery} packets, pool ${pool.data.length} packets`);
  const result = sender === 'c' ? await runC(o, pool, final) : await runNode(o, pool, final, log);
  log(`sent ${result.records} records in ${result.datagrams} datagrams (${result.template_datagrams} template messages) in `
    + `${result.seconds.toFixed(2)} s: ${result.records_per_s} records/s, ${result.datagrams_per_s} datagrams/s, `
    + `generator CPU ${(result.cpu_s / result.seconds * 100).toFixed(0)} % of a core`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
