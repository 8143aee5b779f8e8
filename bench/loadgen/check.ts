// Checks that the load generator's packets are what it says they are, with the project's own
// decoder (WasmDecoder, as a worker runs it):
//
//   1. in process: the Schedule (what the Node sender sends and sender.c mirrors) for a few
//      shapes (25 records/packet, 1, 20-30 with a short last packet, IPv6 only); every datagram
//      decodes with no drop or decoder event, records decoded == records scheduled, no sequence
//      loss, both templates known per exporter, and every JSON record matches the bytes it came
//      from (addresses, ports, protocol, flags, counters, times, interfaces, AS, VLAN);
//   2. over UDP on 127.0.0.1, both senders (C and Node): a socket here receives everything
//      main.js sends (--records, paced), decodes it by source address and port, and the counts
//      match the generator's JSON line exactly (datagrams, records, template records, bytes).
//
//   node dist/bench/loadgen/check.js        prints OK (and a sample record) or the problems; exit 0 / 1

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { WasmDecoder } from '../../src/decoder/wasm.js';
import { addressBytes, addressText } from '../../src/net/address.js';
import { buildPool, exporterAddress, finalPacket, LAYOUTS, Schedule, TEMPLATE_V4 } from './ipfix.js';

const problems: string[] = [];
const problem = (s: string): void => { if (problems.length < 50) problems.push(s); };
const textDecoder = new TextDecoder();
let lastOutputBytes = 0;

type Json = Record<string, unknown>;

/** Decodes one datagram; returns its JSON records (or the negative status). */
function decodeOne(decoder: WasmDecoder, datagram: Uint8Array, from: Uint8Array, port: number, nowMs: number): Json[] | number {
  const n = decoder.decode(datagram, from, port, nowMs);
  if (n < 0) return n;
  lastOutputBytes = decoder.outputLength();
  const text = textDecoder.decode(decoder.output.subarray(0, lastOutputBytes));
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Json);
}

/** The records of a data message as the generator wrote them, for comparison with the JSON. */
function expectedRecords(b: Buffer, length: number, exporter: string): Json[] {
  const out: Json[] = [];
  let o = 16;
  const exportMs = b.readUInt32BE(4) * 1000;
  while (o + 4 <= length) {
    const id = b.readUInt16BE(o);
    const setLength = b.readUInt16BE(o + 2);
    const layout = LAYOUTS.find((l) => l.setId === id)!;
    const a = id === TEMPLATE_V4 ? 4 : 16;
    const ip = (at: number): string => a === 4 ? `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}` : addressText(b, at);
    for (let r = o + 4; r + layout.recordLength <= o + setLength; r += layout.recordLength) {
      const p = r + 2 * a;
      out.push({
        dvc: exporter, src: ip(r), dst: ip(r + a), srcp: b.readUInt16BE(p), dstp: b.readUInt16BE(p + 2), proto: b[p + 4],
        flags: b[p + 5], tos: b[p + 6], bytes: Number(b.readBigUInt64BE(p + 7)), pkts: Number(b.readBigUInt64BE(p + 15)),
        start: Number(b.readBigUInt64BE(p + 23)), end: Number(b.readBigUInt64BE(p + 31)), in_if: b.readUInt32BE(p + 39),
        out_if: b.readUInt32BE(p + 43), src_as: b.readUInt32BE(p + 47), dst_as: b.readUInt32BE(p + 51),
        vlan: b.readUInt16BE(p + 55), time: exportMs, version: 10, odid: 1, tid: id,
      });
    }
    o += setLength;
  }
  return out;
}

interface Shape { name: string; exporters: number; rpp: [number, number]; ipv6Share: number; records: number; templateEvery: number; poolRecords: number }

function checkInProcess(shape: Shape): { records: number; jsonBytes: number; v6: number; sample?: Json } {
  const genMs = Date.now();
  const pool = buildPool({ recordsPerPacket: shape.rpp, ipv6Share: shape.ipv6Share, seed: 7, poolRecords: Math.min(shape.poolRecords, shape.records), genMs });
  const final = finalPacket(pool, shape.records);
  const schedule = new Schedule(pool, shape.exporters, shape.templateEvery, final);
  const decoder = new WasmDecoder();
  const buf = Buffer.alloc(65536);
  const addresses = Array.from({ length: shape.exporters }, (_, i) => addressBytes(exporterAddress(i)));
  let scheduled = 0, decoded = 0, jsonBytes = 0, v6 = 0, templates = 0, exporter = 0;
  let sample: Json | undefined;
  // Simulated clock: 1 ms per chunk, so the flow-time shift and export time move as in a real run.
  let now = genMs + 5;
  while (!schedule.done) {
    for (let k = 0; k < 8 && !schedule.done; k++) {
      const d = schedule.next(exporter, buf, now);
      if (!d) break;
      const datagram = buf.subarray(0, d.length);
      if (d.template) templates++;
      scheduled += d.records;
      const expected = d.template ? [] : expectedRecords(buf, d.length, exporterAddress(exporter));
      if (expected.length !== d.records) problem(`${shape.name}: a packet says ${d.records} records, its sets hold ${expected.length}`);
      const got = decodeOne(decoder, datagram, addresses[exporter]!, 40000 + exporter, now);
      if (typeof got === 'number') { problem(`${shape.name}: datagram rejected: ${decoder.statusNames[-got]}`); continue; }
      decoded += got.length;
      if (got.length !== expected.length) { problem(`${shape.name}: ${got.length} records decoded, ${expected.length} sent`); continue; }
      got.forEach((rec, i) => {
        const want = expected[i]!;
        for (const [k, v] of Object.entries(want)) {
          if (rec[k] !== v) problem(`${shape.name}: record ${k} = ${JSON.stringify(rec[k])}, sent ${JSON.stringify(v)}`);
        }
        if ((rec.end as number) > (rec.time as number) || (rec.start as number) > (rec.end as number)) problem(`${shape.name}: flow times out of order`);
        if (rec.tid === 257) v6++;
      });
      jsonBytes += lastOutputBytes;
      sample ??= got.find((r) => r.tid === TEMPLATE_V4);
    }
    exporter = (exporter + 1) % shape.exporters;
    now += 1;
  }
  const c = decoder.counters();
  c.statuses.forEach((n, code) => { if (code !== 0 && n) problem(`${shape.name}: decoder event ${decoder.statusNames[code]} x${n}`); });
  if (scheduled !== shape.records) problem(`${shape.name}: scheduled ${scheduled} records, asked for ${shape.records}`);
  if (decoded !== shape.records || c.records !== shape.records) problem(`${shape.name}: decoded ${decoded} (counter ${c.records}), sent ${shape.records}`);
  if (c.sequenceLostRecords !== 0) problem(`${shape.name}: decoder sees ${c.sequenceLostRecords} lost records (sequence numbers wrong)`);
  if (c.exporterRestarts !== 0) problem(`${shape.name}: decoder sees ${c.exporterRestarts} exporter restarts`);
  if (c.templates !== 2 * shape.exporters) problem(`${shape.name}: ${c.templates} templates known, expected ${2 * shape.exporters}`);
  if (c.templatesDefined + c.templatesRefreshed !== 2 * templates) {
    problem(`${shape.name}: ${c.templatesDefined} + ${c.templatesRefreshed} templates defined / refreshed, ${2 * templates} sent`);
  }
  return { records: decoded, jsonBytes, v6, ...(sample ? { sample } : {}) };
}

// ---------------------------------------------------------------------------------------------

const mainJs = fileURLToPath(new URL('./main.js', import.meta.url));

async function checkOverUdp(sender: 'c' | 'node'): Promise<string> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  const decoder = new WasmDecoder();
  let datagrams = 0, bytes = 0, records = 0;
  const sources = new Set<string>();
  const cache = new Map<string, Uint8Array>();
  socket.on('message', (msg, rinfo) => {
    datagrams++;
    bytes += msg.length;
    sources.add(rinfo.address);
    let from = cache.get(rinfo.address);
    if (!from) { from = addressBytes(rinfo.address); cache.set(rinfo.address, from); }
    const got = decodeOne(decoder, msg, from, rinfo.port, Date.now());
    if (typeof got === 'number') { problem(`${sender} over UDP: datagram rejected: ${decoder.statusNames[-got]}`); return; }
    records += got.length;
    for (const rec of got) {
      // the sender shifts flow times to stay recent: end within the last 31 s before export time
      const time = rec.time as number, start = rec.start as number, end = rec.end as number;
      if (!(start <= end && end <= time && end >= time - 31_000) || Math.abs(time - Date.now()) > 2000) {
        problem(`${sender} over UDP: times off: start ${start} end ${end} export ${time} now ${Date.now()}`);
      }
      if (rec.dvc !== rinfo.address) problem(`${sender} over UDP: dvc ${String(rec.dvc)} from ${rinfo.address}`);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const want = 20_011;
  const args = [mainJs, '--target', `127.0.0.1:${port}`, '--exporters', '12', '--rate', '100000', '--records', String(want),
    '--records-per-packet', '1-30', '--template-every', '7', '--sender', sender, '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise((r) => setTimeout(r, 300)); // the last datagrams
  socket.close();
  if (code !== 0) { problem(`${sender} over UDP: main.js exited with ${code}`); return `${sender}: failed`; }
  const sent = JSON.parse(out.trim().split('\n').pop()!) as { datagrams: number; records: number; templates: number; bytes: number; sender: string };
  const c = decoder.counters();
  if (sent.sender !== sender) problem(`${sender} over UDP: ran the ${sent.sender} sender`);
  if (sent.records !== want) problem(`${sender} over UDP: generator says ${sent.records} records, asked for ${want}`);
  if (datagrams !== sent.datagrams || bytes !== sent.bytes) problem(`${sender} over UDP: received ${datagrams} datagrams / ${bytes} B, sent ${sent.datagrams} / ${sent.bytes}`);
  if (records !== sent.records) problem(`${sender} over UDP: decoded ${records} records, generator says ${sent.records}`);
  if (c.templatesDefined + c.templatesRefreshed !== sent.templates) problem(`${sender} over UDP: ${c.templatesDefined + c.templatesRefreshed} template records decoded, ${sent.templates} sent`);
  if (c.sequenceLostRecords !== 0) problem(`${sender} over UDP: decoder sees ${c.sequenceLostRecords} lost records`);
  c.statuses.forEach((n, k) => { if (k !== 0 && n) problem(`${sender} over UDP: decoder event ${decoder.statusNames[k]} x${n}`); });
  if (sources.size !== 12) problem(`${sender} over UDP: ${sources.size} source addresses, expected 12`);
  return `${sender} sender over UDP: ${datagrams} datagrams, ${records} records from ${sources.size} exporters (${[...sources].sort()[0]} ...), all decoded`;
}

// ---------------------------------------------------------------------------------------------

const shapes: Shape[] = [
  { name: '25/packet', exporters: 16, rpp: [25, 25], ipv6Share: 0.3, records: 100_000, templateEvery: 20, poolRecords: 65536 },
  { name: '1/packet', exporters: 16, rpp: [1, 1], ipv6Share: 0.3, records: 30_000, templateEvery: 20, poolRecords: 65536 },
  { name: '20-30/packet, short last packet, pool replayed', exporters: 5, rpp: [20, 30], ipv6Share: 0.5, records: 12_347, templateEvery: 3, poolRecords: 1000 },
  { name: 'IPv6 only, templates once', exporters: 3, rpp: [30, 30], ipv6Share: 1, records: 3001, templateEvery: 0, poolRecords: 65536 },
];
const lines: string[] = [];
let sample: Json | undefined;
for (const shape of shapes) {
  const r = checkInProcess(shape);
  sample ??= r.sample;
  lines.push(`${shape.name}: ${r.records} records decoded and matched field by field, ${(r.jsonBytes / r.records).toFixed(0)} B of JSON per record, IPv6 ${(100 * r.v6 / r.records).toFixed(0)} %`);
}
lines.push(await checkOverUdp('c'));
lines.push(await checkOverUdp('node'));

for (const l of lines) console.log(l);
if (sample) console.log(`sample: ${JSON.stringify(sample)}`);
if (problems.length) {
  console.log(`FAIL: ${problems.length} problem(s)`);
  for (const p of problems) console.log(`  ${p}`);
  process.exit(1);
}
console.log('OK');
