// decoder.fields: all on every corpus capture of real exporters: each element Wireshark shows
// in a flow record (the truth's `fields`: [ie, pen, value as Wireshark displays it]) appears in
// the decoded record under the key FlowGate gives it (its short name, the name the element
// definitions give, or its unknown name) with an equal value, once Wireshark's rendering is
// normalised per type (0x.. numbers, relative seconds, dates, colon hex).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WasmDecoder } from '../../src/decoder/wasm.js';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { loadElementDefinitions } from '../../src/decoder/elements/load.js';
import { unknownElementName, V9_VENDOR_PEN, type ElementDefinition } from '../../src/decoder/elements/definition.js';
import { corpusCaptures, pcapsDir, truthDir } from '../support/corpus.js';

type Json = Record<string, unknown>;
type TruthField = [number, number, unknown, string?];
interface TruthRecord { exporter: string; version: number; options?: boolean; src?: string; dst?: string; proto?: number; bytes?: number; pkts?: number; fields: TruthField[] }

const definitions = loadElementDefinitions();
const byKey = new Map<string, ElementDefinition>(definitions.map((d) => [`${d.pen}:${d.id}`, d]));
const REVERSE = 29305;

/** Where the decoder shows an element a short field carries: the key, and how Wireshark's value compares to it. */
const shortFields: Record<string, string> = {
  '0:8': 'src', '0:12': 'dst', '0:27': 'src', '0:28': 'dst', '0:7': 'srcp', '0:11': 'dstp', '0:4': 'proto', '0:6': 'flags',
  '0:1': 'bytes', '0:2': 'pkts', '0:10': 'in_if', '0:14': 'out_if', '0:5': 'tos', '0:16': 'src_as', '0:17': 'dst_as',
  '0:15': 'next_hop', '0:58': 'vlan', '0:61': 'direction', '0:152': 'start', '0:153': 'end', '0:150': 'start', '0:151': 'end',
  [`${REVERSE}:1`]: 'rbytes', [`${REVERSE}:2`]: 'rpkts',
};

/** Wireshark's date text ("Nov 14, 2023 22:13:22.003000000 UTC") as epoch ms. */
function dateMs(text: string): number {
  const m = /^(\w{3}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{3})\d* UTC$/.exec(text);
  assert.ok(m, `not a Wireshark date: ${text}`);
  const month = 'JanFebMarAprMayJunJulAugSepOctNovDec'.indexOf(m[1]!) / 3;
  return Date.UTC(Number(m[3]), month, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

/** Wireshark's value normalised to what FlowGate writes for an element of `type` (undefined: no definition, hex). */
function normalise(value: unknown, type: string | undefined, ie: number, pen: number): unknown {
  if (typeof value === 'string' && value.startsWith('hex:')) return value.slice(4).replace(/:/g, '').toLowerCase();
  if (type === undefined || type === 'octetArray') return typeof value === 'string' ? value.replace(/:/g, '').toLowerCase() : value;
  if (/^(unsigned|signed)/.test(type)) {
    if (pen === 0 && (ie === 21 || ie === 22)) {
      // sysUpTime shown in seconds, and 0 as the date it would be
      return typeof value === 'string' && value.includes('UTC') ? dateMs(value) : Math.round(Number(value) * 1000);
    }
    if (typeof value === 'string' && value.startsWith('0x')) return parseInt(value, 16);
    return Number(value);
  }
  if (type.startsWith('dateTime')) return dateMs(String(value));
  return value;
}

function compareRecord(got: Json, truth: TruthRecord, problems: string[]): void {
  const v9 = truth.version === 9;
  for (const [ie, pen, value] of truth.fields) {
    const id = `${pen}:${ie}`;
    const short = shortFields[id];
    let key: string;
    let want: unknown;
    let have: unknown;
    if (short !== undefined) {
      key = short;
      want = short === 'start' || short === 'end' ? dateMs(String(value)) : normalise(value, short === 'src' || short === 'dst' || short === 'next_hop' ? 'ipv4Address' : 'unsigned64', ie, pen);
      have = got[key];
    } else if (pen === 0 && (ie === 32 || ie === 139)) {
      // icmpTypeCodeIPv4 / IPv6: icmp_type and icmp_code; Wireshark shows IPv6's type only.
      key = 'icmp_type';
      const typeCode = normalise(value, 'unsigned16', ie, pen) as number;
      want = ie === 32 ? typeCode : typeCode * 256;
      have = (got.icmp_type as number) * 256 + (ie === 32 ? (got.icmp_code as number) : 0);
    } else {
      const def = byKey.get(v9 && ie >= 32768 ? `${V9_VENDOR_PEN}:${ie}` : `${pen}:${ie}`);
      key = def?.name ?? unknownElementName(pen, ie, v9);
      want = normalise(value, def?.type, ie, pen);
      have = got[key];
      if (pen === REVERSE && ie === 139) have = (have as number) >> 8; // Wireshark shows the type only
      // An element Wireshark does not know but shows as a number (a 1-byte value): compare the hex as one.
      if (def === undefined && typeof want === 'number' && typeof have === 'string') have = parseInt(have, 16);
    }
    if (have !== want) problems.push(`${id} as ${key}: decoded ${JSON.stringify(have)}, Wireshark ${JSON.stringify(value)} (${JSON.stringify(want)})`);
  }
}

/** The records of a capture decoded with fields: all, in output order. */
function decodeAll(name: string): Json[] {
  const decoder = new WasmDecoder({ fields: 'all', definitions });
  const out: Json[] = [];
  let lastSweep = -Infinity;
  readCapture(readFileSync(join(pcapsDir, `${name}.pcap`)), (d) => {
    if (d.timeMs - lastSweep >= 1000) {
      decoder.sweep(d.timeMs);
      lastSweep = d.timeMs;
    }
    const n = decoder.decode(d.payload, d.srcAddr, d.srcPort, d.timeMs);
    if (n <= 0) return;
    const text = Buffer.from(decoder.output).toString('utf8', 0, decoder.outputLength());
    for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as Json);
  });
  return out;
}

const pairKey = (exporter: unknown, src: unknown, dst: unknown, proto: unknown, bytes: unknown, pkts: unknown): string =>
  JSON.stringify([exporter, src, dst, proto, bytes, pkts]);

for (const name of corpusCaptures) {
  test(`${name}: with fields all, every element Wireshark shows is decoded under its name with an equal value`, () => {
    const truth = readFileSync(join(truthDir, `${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TruthRecord)
      .filter((r) => !r.options);
    const decoded = decodeAll(name);
    assert.equal(decoded.length, truth.length);
    // Pair records on the flow and its counters, then each decoded record with a truth record whose every element agrees.
    const pending = new Map<string, TruthRecord[]>();
    for (const r of truth) {
      const k = pairKey(r.exporter, r.src, r.dst, r.proto, r.bytes, r.pkts);
      pending.set(k, [...(pending.get(k) ?? []), r]);
    }
    const failures: string[] = [];
    for (const got of decoded) {
      const candidates = pending.get(pairKey(got.dvc, got.src, got.dst, got.proto, got.bytes, got.pkts)) ?? [];
      let firstProblems: string[] | undefined;
      const match = candidates.findIndex((r) => {
        const problems: string[] = [];
        compareRecord(got, r, problems);
        firstProblems ??= problems;
        return problems.length === 0;
      });
      if (match >= 0) candidates.splice(match, 1);
      else failures.push(`${JSON.stringify(got)}: ${candidates.length ? firstProblems!.join('; ') : 'no Wireshark record of that flow'}`);
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} records disagree`);
  });
}
