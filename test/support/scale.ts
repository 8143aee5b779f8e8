// The scale-out roles under test (role receive: UDP to the raw topic; role decode: a consumer
// group member decoding the raw topic to tenant topics): their configurations, when a decoder
// group has settled everything on the raw topic, reading a tenant topic whole and checking it
// against Wireshark's truth with duplicates counted, the accounting identity, a fixed-port UDP
// sender run inside a lab host (an exporter that keeps its address and port), and a plain
// producer for messages a gateway would never write itself.
import kafkajs from 'kafkajs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Accounting } from '../../src/gateway.js';
import { compareTool, truthDir } from './corpus.js';
import { WasmDecoder } from '../../src/decoder/wasm.js';
import { readTopic, topicCounts, type Consumed } from './kafka-topics.js';
import type { Lab } from './netns.js';
import { repoRoot } from './paths.js';

const { Kafka, logLevel } = kafkajs;

export interface ReceiverOptions {
  /** The address its UDP socket and HTTP side bind (the lab host's). */
  address: string;
  udpPort: number;
  brokers: string[];
  rawTopic: string;
  instance: string;
  /** Extra YAML lines at the top level. */
  extra?: string;
}

/** A role receive instance: one worker, UDP on `address:udpPort`, HTTP on `address:0`. */
export function receiverYaml(o: ReceiverOptions): string {
  return `role: receive
listen:
  udp: ["${o.address}:${o.udpPort}"]
http:
  listen: "${o.address}:0"
workers: 1
kafka:
  brokers: ${JSON.stringify(o.brokers)}
  linger_ms: 5
scale:
  raw_topic: ${o.rawTopic}
  instance_id: ${o.instance}
stats:
  log_interval_s: 0
${o.extra ?? ''}`;
}

export interface DecoderOptions {
  address: string;
  brokers: string[];
  rawTopic: string;
  templateTopic: string;
  group: string;
  /** The routing section's body (indented by two spaces). */
  routing: string;
  workers?: number;
  /** scale.instance_id; default: none (the host name, the same for every namespace of one machine). */
  instance?: string;
  extra?: string;
}

/** A role decode instance: HTTP on `address:0`, no UDP, no state.dir (no local state). */
export function decoderYaml(o: DecoderOptions): string {
  return `role: decode
http:
  listen: "${o.address}:0"
workers: ${o.workers ?? 1}
kafka:
  brokers: ${JSON.stringify(o.brokers)}
  linger_ms: 5
scale:
  raw_topic: ${o.rawTopic}
  template_topic: ${o.templateTopic}
  group: ${o.group}
${o.instance !== undefined ? `  instance_id: ${o.instance}\n` : ''}routing:
${o.routing}
stats:
  log_interval_s: 0
${o.extra ?? ''}`;
}

export interface GroupProgress {
  /** Messages ever written to the topic (sum of end offsets). */
  end: number;
  /** Sum of the group's committed offsets (a partition without a commit counts 0). */
  committed: number;
}

/**
 * Where consumer group `group` stands on `topic`. A decoder commits a raw offset only once every
 * record decoded from the datagrams before it is acknowledged (or counted as dropped), so
 * committed === end means: everything written to the raw topic so far is delivered.
 */
export async function groupProgress(brokers: string[], group: string, topic: string): Promise<GroupProgress> {
  const admin = new Kafka({ brokers, clientId: 'flowgate-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    let c = 0;
    for (const p of ends) c += Math.max(0, byPartition.get(p.partition) ?? 0);
    return { end: ends.reduce((n, p) => n + Number(p.high), 0), committed: c };
  } finally {
    await admin.disconnect();
  }
}

/** Every message `topic` holds now, with keys, headers and timestamps. */
export async function readAll(brokers: string[], topic: string): Promise<Consumed[]> {
  const n = (await topicCounts(brokers, [topic]))[topic]!;
  if (n === 0) return [];
  const got = await readTopic(brokers, topic, n, 60_000);
  assert.equal(got.length, n, `${topic}: read ${got.length} of its ${n} messages`);
  return got;
}

/** Writes `messages` to `topic` as they are (values and keys unchecked: what a gateway never writes). */
export async function produceRaw(brokers: string[], topic: string, messages: { key: string | null; value: Buffer | null; headers?: Record<string, string> }[]): Promise<void> {
  const producer = new Kafka({ brokers, clientId: 'flowgate-test', logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

export interface TruthRecord {
  exporter: string;
  options?: boolean;
  [k: string]: unknown;
}

/** The flow records (options records left out) of a capture's truth whose exporter is `original`, as sent from `as`. */
export function truthFlows(capture: string, as: string, original?: string): TruthRecord[] {
  return readFileSync(join(truthDir, `${capture}.jsonl`), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as TruthRecord)
    .filter((r) => !r.options && (original === undefined || r.exporter === original))
    .map((r) => ({ ...r, exporter: as }));
}

export interface CompareCounts {
  matched: number;
  mismatched: number;
  missing: number;
  missing_before_template: number;
  extra: number;
}

/** tools/compare of `values` (records as JSON text) against `expected`; the report's counts, and its text for messages. */
export function compareWithTruth(expected: readonly TruthRecord[], values: readonly string[]): { counts: CompareCounts; report: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-scale-cmp-'));
  try {
    writeFileSync(join(dir, 'truth.jsonl'), expected.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'got.jsonl'), values.join('\n') + '\n');
    const cmp = spawnSync('python3', [compareTool, join(dir, 'truth.jsonl'), join(dir, 'got.jsonl'), '--json', '--show', '3'],
      { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (cmp.status === 2 || !cmp.stdout) throw new Error(`compare failed (${cmp.status}): ${cmp.stderr}`);
    const report = JSON.parse(cmp.stdout) as { counts: CompareCounts };
    return { counts: report.counts, report: cmp.stdout.slice(0, 4000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An IPv4 address as the decoder takes it (IPv4-mapped IPv6, 16 bytes). */
export function mappedV4(address: string): Uint8Array {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...address.split('.').map(Number)]);
}

/**
 * The records FlowGate writes for `datagrams` sent from `address` (one exporter, one source port)
 * `passes` times over, in order: what this project's decoder makes of them, one string per
 * record as it lands in Kafka. Checked against Wireshark separately (tally's compare).
 */
export function expectedRecords(datagrams: readonly Uint8Array[], address: string, port: number, passes = 1): string[] {
  const decoder = new WasmDecoder();
  const from = mappedV4(address);
  const out: string[] = [];
  for (let p = 0; p < passes; p++) {
    for (const d of datagrams) {
      const n = decoder.decode(d, from, port, Date.now());
      if (n <= 0) continue;
      const records = decoder.outputBuffer.toString('utf8', 0, decoder.outputLength()).split('\n').filter(Boolean);
      assert.equal(records.length, n);
      out.push(...records);
    }
  }
  return out;
}

export interface Tally {
  /** Messages in the topic. */
  records: number;
  /** Expected records found, in order, per exporter. */
  matched: number;
  /** Further copies of expected records (a raw datagram decoded again after a decoder died or gave its partition away). */
  duplicates: number;
  /** Records that are not any expected one. */
  extra: number;
  /** Expected records not found (in order) after the last match. */
  missing: number;
  /** tools/compare of the matched records against Wireshark's truth. */
  counts: CompareCounts;
  report: string;
}

/**
 * What a one-partition tenant topic holds against what each exporter sent. FlowGate keeps one
 * exporter's records in order (one raw partition, one owner at a time, an idempotent producer),
 * and a decoder that takes a partition over starts from the last commit, behind which everything
 * is acknowledged: so each exporter's expected records must appear as a subsequence of its
 * records in the topic (nothing lost, whatever was decoded twice), and every record outside that
 * subsequence must be a copy of an expected one (a duplicate), never anything else. The matched
 * records are then compared with Wireshark's truth (`truth`: every pass listed again): all
 * matched, none mismatched, missing or extra.
 */
export function tally(consumed: readonly Consumed[], expected: ReadonlyMap<string, readonly string[]>, truth: readonly TruthRecord[]): Tally {
  const byExporter = new Map<string, string[]>();
  for (const m of consumed) {
    const x = m.headers.exporter ?? '';
    let list = byExporter.get(x);
    if (!list) byExporter.set(x, (list = []));
    list.push(m.value);
  }
  let matched = 0;
  let duplicates = 0;
  let extra = 0;
  let missing = 0;
  const matchedValues: string[] = [];
  const extras: string[] = [];
  const missingBy = new Map<string, number>();
  for (const x of new Set([...expected.keys(), ...byExporter.keys()])) {
    const want = expected.get(x) ?? [];
    const known = new Set(want);
    let i = 0;
    for (const v of byExporter.get(x) ?? []) {
      if (i < want.length && v === want[i]) {
        matchedValues.push(v);
        i++;
      } else if (known.has(v)) {
        duplicates++;
      } else {
        extra++;
        if (extras.length < 3) extras.push(v);
      }
    }
    matched += i;
    missing += want.length - i;
    if (i < want.length) missingBy.set(x, want.length - i);
  }
  const { counts, report } = compareWithTruth(truth, matchedValues);
  // For the failure message: lost (fewer copies than expected) or only out of order?
  const short: string[] = [];
  for (const [x, want] of expected) {
    if (!missingBy.has(x)) continue;
    const have = new Map<string, number>();
    for (const v of byExporter.get(x) ?? []) have.set(v, (have.get(v) ?? 0) + 1);
    const need = new Map<string, number>();
    for (const v of want) need.set(v, (need.get(v) ?? 0) + 1);
    let fewer = 0;
    for (const [v, k] of need) fewer += Math.max(0, k - (have.get(v) ?? 0));
    short.push(`${x}: ${missingBy.get(x)} expected records not found in order; copies short of the expected count: ${fewer} (0: none lost, only out of order)`);
  }
  return { records: consumed.length, matched, duplicates, extra, missing, counts,
    report: `${short.join('; ')}\nextra records: ${extras.join('\n')}\n${report}` };
}

/** Asserts nothing is missing or extra: every expected record once in order (duplicates aside), and they are Wireshark's. */
export function assertComplete(t: Tally, expected: number, label: string): void {
  assert.deepEqual({ matched: t.matched, missing: t.missing, extra: t.extra }, { matched: expected, missing: 0, extra: 0 }, `${label}: ${t.report}`);
  assert.deepEqual(t.counts, { matched: expected, mismatched: 0, missing: 0, missing_before_template: 0, extra: 0 }, `${label}: ${t.report}`);
  assert.equal(t.records, t.matched + t.duplicates, label);
}

/** The accounting identity of a stopped gateway: decoded + recovered = delivered + dropped + queued + spooled, exactly. */
export function assertIdentity(a: Accounting, label: string): void {
  const r = a.records;
  const dropped = Object.values(r.dropped).reduce((x, y) => x + y, 0);
  assert.equal(r.decoded + r.recovered, r.delivered + dropped + r.queued + r.spooled, `${label}: accounting identity ${JSON.stringify(r)}`);
}

// Sends the datagrams of a file (each as a u32 length and its bytes) from one socket bound to a
// fixed address and port, paced at pps, `loops` times over (0: until SIGTERM, always whole
// passes); prints "<datagrams sent> <passes>". Run with `node -e` in a lab host.
const SENDER = `
const [file, to, port, from, fromPort, pps, loops] = process.argv.slice(1);
const buf = require('node:fs').readFileSync(file);
const msgs = [];
for (let o = 0; o < buf.length; ) { const n = buf.readUInt32BE(o); msgs.push(buf.subarray(o + 4, o + 4 + n)); o += 4 + n; }
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const s = require('node:dgram').createSocket('udp4');
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.bind(Number(fromPort), from, async () => {
  const start = Date.now();
  let sent = 0;
  let passes = 0;
  while (Number(loops) === 0 ? !stop : passes < Number(loops)) {
    for (const m of msgs) {
      const wait = start + (sent * 1000) / Number(pps) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await new Promise((resolve, reject) => s.send(m, Number(port), to, (e) => (e ? reject(e) : resolve())));
      sent++;
    }
    passes++;
  }
  s.close(() => { process.stdout.write(sent + ' ' + passes); process.exit(0); });
});`;

export interface SendOptions {
  /** Local address and UDP port the datagrams leave from: the exporter as the collector sees it. */
  from: string;
  fromPort: number;
  /** HOST:PORT. */
  to: string;
  /** Datagrams per second (default 500). */
  pps?: number;
  /** Passes over the datagrams (default 1); 0: until stop(). */
  loops?: number;
}

export interface Sender {
  /** Resolves once the sender exited, with what it sent; rejects when it failed. */
  readonly done: Promise<{ datagrams: number; passes: number }>;
  /** Asks a sender with loops 0 to finish its pass and exit (SIGTERM); resolves as `done`. */
  stop(): Promise<{ datagrams: number; passes: number }>;
  readonly pid: number;
}

/**
 * Starts sending `datagrams` from a fixed address and port inside lab host `host` (an exporter
 * that keeps its source port, as a real one does).
 */
export function startSender(lab: Lab, host: string, datagrams: readonly Uint8Array[], o: SendOptions): Sender {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-send-'));
  const file = join(dir, 'datagrams');
  const parts: Buffer[] = [];
  for (const d of datagrams) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(d.length);
    parts.push(len, Buffer.from(d));
  }
  writeFileSync(file, Buffer.concat(parts));
  const to = o.to.lastIndexOf(':');
  const child = lab.spawn(host, process.execPath, ['-e', SENDER, file, o.to.slice(0, to), o.to.slice(to + 1), o.from, String(o.fromPort),
    String(o.pps ?? 500), String(o.loops ?? 1)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const done = new Promise<{ datagrams: number; passes: number }>((resolve, reject) => child.once('close', (code) => { // 'close': stdout read to the end
    rmSync(dir, { recursive: true, force: true });
    const [datagrams, passes] = out.trim().split(' ').map(Number);
    if (code === 0) resolve({ datagrams: datagrams!, passes: passes! });
    else reject(new Error(`sender in ${host} from ${o.from}:${o.fromPort} to ${o.to} exited ${code}: ${err}`));
  }));
  done.catch(() => undefined); // the caller awaits it
  return {
    done,
    pid: child.pid!,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      return done;
    },
  };
}

/** startSender() of one pass, awaited: resolves with the count sent. */
export async function sendDatagrams(lab: Lab, host: string, datagrams: readonly Uint8Array[], o: SendOptions): Promise<number> {
  return (await startSender(lab, host, datagrams, { ...o, loops: o.loops ?? 1 }).done).datagrams;
}
