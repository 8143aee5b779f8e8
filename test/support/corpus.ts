// The shared corpus of real exporters' captures: ../shared/corpus beside the project
// (FLOWGATE_CORPUS overrides), its pcaps, Wireshark's decoding of them (truth), and its tools
// (replay sends a capture over UDP, compare checks records against the truth).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export const corpusDir = process.env.FLOWGATE_CORPUS ?? join(repoRoot, '..', 'shared', 'corpus');
export const pcapsDir = join(corpusDir, 'pcaps');
export const truthDir = join(corpusDir, 'truth');
export const compareTool = join(corpusDir, 'tools', 'compare');
export const replayTool = join(corpusDir, 'tools', 'replay');
export const corpusCaptures = ['fprobe_v5_mixed', 'multi_exporter', 'ooo_softflowd_v9_mixed', 'pmacct_v10_mixed',
  'softflowd_v10_bidir_mixed', 'softflowd_v10_milli_vlan', 'softflowd_v10_mixed', 'softflowd_v10_sampled_mixed',
  'softflowd_v9_mixed'] as const;

export const capturePath = (capture: string): string => join(pcapsDir, `${capture}.pcap`);

export interface ReplayOptions {
  /**
   * Send from the capture's own exporter addresses (127.0.0.x), so routing sees them. Loopback
   * sources only reach a loopback target (also inside a namespace): to any other the kernel refuses
   * the send (EINVAL) and the replay fails.
   */
  bindOriginal?: boolean;
  /** Send everything from this local address instead (e.g. one of a lab host's addresses). */
  bind?: string;
  /** Run the tool inside this network namespace (`ip netns exec`), e.g. lab.host(name).netns. */
  netns?: string;
  /** Datagrams per second (default 3000: fast, and no kernel drop on a busy machine). */
  pps?: number;
  /** Times the capture is sent (default 1). */
  loop?: number;
  /** Only the datagrams whose original source is this address (one exporter of a capture that has several). */
  onlySrc?: string;
}

/** The command line: python3 and the tool, behind `ip netns exec <ns>` when it runs in a namespace. */
function replayCommand(capture: string, target: string, o: ReplayOptions): [string, string[]] {
  if (o.bind !== undefined && o.bindOriginal) throw new Error('replay: bind and bindOriginal exclude each other');
  const python = ['python3', replayTool, capturePath(capture), target, ...(o.bindOriginal ? ['--bind-original'] : []),
    ...(o.bind !== undefined ? ['--bind', o.bind] : []),
    '--pps', String(o.pps ?? 3000), ...(o.loop ? ['--loop', String(o.loop)] : []), ...(o.onlySrc !== undefined ? ['--only-src', o.onlySrc] : [])];
  const [command, ...args] = o.netns === undefined ? python : ['ip', 'netns', 'exec', o.netns, ...python];
  return [command!, args];
}

/** Sends a capture to `target` (HOST:PORT, [v6]:PORT) and returns once it is sent; throws when the tool fails. */
export function replay(capture: string, target: string, o: ReplayOptions = {}): void {
  const r = spawnSync(...replayCommand(capture, target, o), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`replay ${capture} -> ${target} exited ${r.status}: ${r.stderr}`);
}

/** replay() without blocking this thread's event loop (for a gateway running in this process). */
export function replayAsync(capture: string, target: string, o: ReplayOptions = {}): Promise<void> {
  const child = spawn(...replayCommand(capture, target, o), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`replay ${capture} -> ${target} exited ${code}: ${stderr}`))));
  });
}

export interface TruthRecord {
  exporter: string;
  options?: boolean;
  [k: string]: unknown;
}

/** Wireshark's decoding of a capture, one record per line. */
export function truth(name: string): TruthRecord[] {
  return readFileSync(join(truthDir, `${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TruthRecord);
}

/** The flow records (no options records) of the given exporters. */
export function flows(records: TruthRecord[], exporters: string[]): TruthRecord[] {
  return records.filter((r) => !r.options && exporters.includes(r.exporter));
}

/** Runs tools/compare on what a topic holds against the truth records; asserts a perfect match. */
export function assertMatches(t: { after(fn: () => void): void }, consumed: string[], expected: TruthRecord[], label: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-cmp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'truth.jsonl'), expected.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'got.jsonl'), consumed.join('\n') + '\n');
  const cmp = spawnSync('python3', [compareTool, join(dir, 'truth.jsonl'), join(dir, 'got.jsonl'), '--json'], { encoding: 'utf8' });
  const report = JSON.parse(cmp.stdout) as { counts: Record<string, number>; truth_records: number };
  assert.deepEqual(report.counts, { matched: expected.length, mismatched: 0, missing: 0, missing_before_template: 0, extra: 0 }, `${label}: ${cmp.stdout}`);
}
