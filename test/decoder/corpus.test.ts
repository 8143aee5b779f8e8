// Every capture of real exporters in shared/corpus decodes, through `flowgate decode`, to
// exactly what Wireshark decoded: no record missing, mismatched or extra, including records
// whose data arrived before their template.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusCaptures, pcapsDir, truthDir, compareTool } from '../support/corpus.js';
import { repoRoot } from '../support/paths.js';

const cli = join(repoRoot, 'bin', 'flowgate.js');

interface CompareReport {
  truth_records: number;
  collected_records: number;
  counts: { matched: number; mismatched: number; missing: number; missing_before_template: number; extra: number };
  not_reported: Record<string, number>;
}

for (const name of corpusCaptures) {
  test(`${name}: every record agrees with Wireshark, none missing or extra`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flowgate-corpus-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = spawnSync(process.execPath, [cli, 'decode', join(pcapsDir, `${name}.pcap`)], { encoding: 'buffer', maxBuffer: 64 << 20 });
    assert.equal(run.status, 0, run.stderr.toString());
    const out = join(dir, 'out.jsonl');
    writeFileSync(out, run.stdout);
    const cmp = spawnSync('python3', [compareTool, join(truthDir, `${name}.jsonl`), out, '--strict-before-template', '--json', '--show', '3'], { encoding: 'utf8' });
    const report = JSON.parse(cmp.stdout) as CompareReport;
    assert.deepEqual(report.counts, { matched: report.truth_records, mismatched: 0, missing: 0, missing_before_template: 0, extra: 0 }, cmp.stdout);
    // Every field the truth has is one we report (ports and flags are absent from ICMP truth records).
    assert.deepEqual(report.not_reported, {});
    const summary = JSON.parse(readFileSync(join(truthDir, `${name}.summary.json`), 'utf8')) as { flow_records: number; packets: number };
    assert.equal(report.truth_records, summary.flow_records);
    assert.match(run.stderr.toString(), new RegExp(`datagrams ${summary.packets} \\(0 filtered out by port, 0 rejected\\)`));
  });
}

test('records of data sets sent before their template are held, then decoded when it arrives', () => {
  const run = spawnSync(process.execPath, [cli, 'decode', join(pcapsDir, 'ooo_softflowd_v9_mixed.pcap')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0);
  const truth = readFileSync(join(truthDir, 'ooo_softflowd_v9_mixed.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { before_template?: boolean });
  const before = truth.filter((r) => r.before_template).length;
  assert.ok(before > 0);
  assert.match(run.stderr, new RegExp(`held data sets released \\d+ \\(${before} records\\), still held 0`));
});

test('decode exits 1 with a clear message for a missing file and for a file that is not a capture', (t) => {
  const missing = spawnSync(process.execPath, [cli, 'decode', '/nonexistent/x.pcap'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\/x\.pcap: ENOENT/);
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-corpus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const junk = join(dir, 'junk.pcap');
  writeFileSync(junk, 'this is not a capture file at all');
  const bad = spawnSync(process.execPath, [cli, 'decode', junk], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /junk\.pcap: .*(magic|capture)/i);
  assert.equal(bad.stdout, '');
});

test('--port keeps only datagrams sent to that port and --fields selects the record fields', () => {
  const file = join(pcapsDir, 'multi_exporter.pcap');
  const other = spawnSync(process.execPath, [cli, 'decode', file, '--port', '1'], { encoding: 'utf8' });
  assert.equal(other.status, 0);
  assert.equal(other.stdout, '');
  assert.match(other.stderr, /datagrams 50 \(50 filtered out by port/);
  const some = spawnSync(process.execPath, [cli, 'decode', file, '--port', '4790', '--fields', 'dvc,src,bytes'], { encoding: 'utf8' });
  assert.equal(some.status, 0);
  const lines = some.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 379);
  for (const r of lines) assert.deepEqual(Object.keys(r), ['dvc', 'src', 'bytes']);
  const bad = spawnSync(process.execPath, [cli, 'decode', file, '--fields', 'dvc,nonsense'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unknown record field "nonsense"/);
});
