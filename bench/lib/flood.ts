// Floods from forged source addresses (bench/loadgen/flood.c, a raw-socket sender compiled on
// demand): the payloads to send, how many forged exporters send them, at what rate, for how long.
// One way for every edge benchmark to drive it, and the check, before a benchmark relies on it,
// that such datagrams reach a plain UDP socket on 127.0.0.1 from their forged addresses.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseIPv4, formatIPv4 } from '../../src/config/addresses.js';
import { projectPath } from '../../src/paths.js';
import { compileOnDemand } from '../loadgen/compile.js';

/** Forged floods cannot be sent here: no C compiler, or no raw socket (not root). A benchmark says n/a and exits 2. */
export class FloodUnavailable extends Error {}

/** flood.c's JSON line: what it handed to the kernel. */
export interface FloodSent {
  datagrams: number;
  bytes: number;
  seconds: number;
  send_errors: number;
  cpu_s: number;
  sources: number;
  payloads: number;
  /** Forged sources that sent at least one datagram. */
  sources_reached: number;
}

export interface FloodOptions {
  /** Forged exporters: this many consecutive addresses from `firstSource` (all in 127.0.0.0/8). */
  sources: number;
  firstSource: string;
  /** Their UDP source port (one for all: addresses tell them apart). */
  sourcePort?: number;
  /** Datagrams/s; 0 = as fast as the sender goes. */
  rate: number;
  /** Seconds; 0 = until `signal` aborts. */
  seconds: number;
  /** Aborted: the sender is stopped by its pid (SIGTERM) and still reports what it sent. */
  signal?: AbortSignal;
}

const source = projectPath('bench', 'loadgen', 'flood.c');
const binary = fileURLToPath(new URL('../loadgen/flood', import.meta.url));

/** The sender's stdin: 'FGF1', version 1, the payload count, then each payload as u32 length + bytes (little-endian). */
function encodePayloads(payloads: readonly Uint8Array[]): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(0x31464746, 0);
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(payloads.length, 8);
  const parts: Buffer[] = [head];
  for (const p of payloads) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(p.length, 0);
    parts.push(len, Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  }
  return Buffer.concat(parts);
}

/** The last address of a forged range, checked to stay inside 127.0.0.0/8. */
export function lastSource(firstSource: string, sources: number): string {
  const first = parseIPv4(firstSource);
  if (first === null || first >>> 24 !== 127) throw new Error(`forged sources must be in 127.0.0.0/8, not ${firstSource}`);
  const last = first + sources - 1;
  if (sources < 1 || last >>> 24 !== 127) throw new Error(`${sources} sources from ${firstSource} leave 127.0.0.0/8`);
  return formatIPv4(last);
}

/** Whether a forged range [firstSource, +sources) holds `address`. */
export function inForgedRange(address: string, firstSource: string, sources: number): boolean {
  const a = parseIPv4(address);
  const first = parseIPv4(firstSource)!;
  return a !== null && a >= first && a < first + sources;
}

/** Sends `payloads` from forged sources to 127.0.0.1:`port` (flood.c's order: every source's first datagram is payload 0). */
export function runFlood(port: number, payloads: readonly Uint8Array[], o: FloodOptions): Promise<FloodSent> {
  lastSource(o.firstSource, o.sources);
  if (!compileOnDemand(source, binary, (m) => process.stderr.write(`flood: ${m}\n`))) {
    return Promise.reject(new FloodUnavailable(`cannot build ${source} (cc)`));
  }
  const args = ['127.0.0.1', String(port), String(o.sources), o.firstSource, String(o.sourcePort ?? 4739), String(o.rate), String(o.seconds), '1'];
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = () => child.kill('SIGTERM');
  if (o.signal?.aborted) stop();
  else o.signal?.addEventListener('abort', stop, { once: true });
  child.stdin.on('error', () => { /* it died early: its exit code tells */ });
  child.stdin.end(encodePayloads(payloads));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      o.signal?.removeEventListener('abort', stop);
      const line = out.trim().split('\n').at(-1);
      if (code === 3) reject(new FloodUnavailable('no raw socket here (root or CAP_NET_RAW needed)'));
      else if (code !== 0 || !line) reject(new Error(`flood sender exited ${code}`));
      else resolve(JSON.parse(line) as FloodSent);
    });
  });
}

/**
 * Sends a few forged datagrams to a UDP socket of this process on 127.0.0.1 and throws unless they
 * arrive from their forged addresses: a benchmark's figures would mean nothing otherwise. Throws
 * FloodUnavailable when no flood can be sent here at all.
 */
export async function checkForgedDelivery(firstSource: string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  const seen = new Set<string>();
  socket.on('message', (_m, rinfo) => seen.add(rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    const sources = 3;
    await runFlood(socket.address().port, [Buffer.from('flowgate forged-source check')], { sources, firstSource, rate: 1000, seconds: 0.05 });
    await new Promise((r) => setTimeout(r, 200));
    const want = Array.from({ length: sources }, (_, i) => formatIPv4(parseIPv4(firstSource)! + i));
    const missing = want.filter((a) => !seen.has(a));
    if (missing.length) throw new Error(`forged datagrams from ${missing.join(', ')} did not reach a UDP socket on 127.0.0.1 (seen: ${[...seen].join(', ') || 'none'})`);
  } finally {
    socket.close();
  }
}
