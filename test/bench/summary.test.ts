import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SUMMARY_HEADER, summaryNotes, summaryRows } from '../../bench/lib/summary.js';

test('summary rows: ratios to each baseline, and the baselines at 1.00x', () => {
  const rows = summaryRows({
    pipeline_records_per_s: 50_000, broker_ceiling_records_per_s: 200_000, nfacctd_records_per_s: 100_000,
    noop_sink_records_per_s: 400_000, pipeline_p99_ms: 80.04, pipeline_rss_mb: 250,
    decode_records_per_s: 4_000_000, ts_decode_records_per_s: 1_000_000,
  });
  assert.equal(rows[0]!.length, SUMMARY_HEADER.length);
  assert.deepEqual(rows[0]!.slice(1), ['50,000', '0.25x', '0.50x', '0.13x', '', '80.0', '250']);
  assert.equal(rows[3]![2], '1.00x'); // the ceiling against itself
  assert.equal(rows[5]![5], '4.00x'); // wasm vs TS decode
  assert.equal(rows[1]![1], 'n/a'); // not run
});

test('summary notes say n/a for what did not run', () => {
  const notes = summaryNotes({ ready_ms: 402 });
  assert.ok(notes.some((l) => l.includes('ready after start (broker up): 402 ms')));
  assert.ok(notes.some((l) => l.startsWith('soak:') && l.includes('n/a')));
});

test('summary notes: the scale-out line, n/a where the step did not run', () => {
  const notes = summaryNotes({ scale_all_records_per_s: 400_000, scale_split1_cpu_us_per_record: 4.5, scale_split1_cpu_overhead_pct: 12.5 });
  const line = notes.find((l) => l.startsWith('scale-out roles:'));
  assert.ok(line);
  assert.ok(line.includes('lossless 400,000 (role all) / n/a (receive + 1 decoder)'));
  assert.ok(line.includes('4.50 (+13 %)'));
  assert.ok(line.includes('rebalance pause n/a ms'));
});

test('summary notes: the live tap line, its ratio and CPU, n/a where the step did not run', () => {
  const line = summaryNotes({ tap_load_clients: 32, tap_load_offered_records_per_s: 100_000, tap_load_ratio: 0.9987, tap_load_cpu_with_pct: 71, tap_load_cpu_without_pct: 64 })
    .find((l) => l.startsWith('live tap:'));
  assert.equal(line, 'live tap: 32 clients at 100,000 records/s: delivered with / without 0.999, gateway CPU 71 % with vs 64 % without, n/a records to the clients');
  assert.ok(summaryNotes({}).find((l) => l.startsWith('live tap:'))?.includes('delivered with / without n/a'));
});

test('summary notes: the edge line, n/a where a bench did not run', () => {
  const notes = summaryNotes({ edge_spoof_sources: 100_000, edge_spoof_real_delivered: 6145, edge_spoof_real_expected: 6145, edge_spoof_identity_holds: true,
    edge_noisy_factor: 10, edge_noisy_limited_neighbours_delivered: 100, edge_noisy_limited_neighbours_sent: 100 });
  const line = notes.find((l) => l.startsWith('edge:'));
  assert.ok(line);
  assert.ok(line.includes('spoofed flood of 100,000 sources'));
  assert.ok(line.includes('delivered 6,145 of 6,145 records'));
  assert.ok(line.includes('identity holds'));
  assert.ok(line.includes("the real exporter's rate n/a of without"));
  assert.ok(line.includes('neighbours delivered 100 of 100 with the rate limit'));
});
