import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ceilingResults, parseProducerPerf, type BrokerCeilingResult } from '../../bench/baselines/producer-perf.js';

// Lines as Kafka 4.3.1's ProducerPerformance printed them on this machine.
const out = `Warmup first 100000 records. Steady state results will print after the complete test summary.
In steady state.
359209 records sent, 71841.8 records/sec (20.55 MB/sec), 1136.5 ms avg latency, 1608.0 ms max latency.
474980 records sent, 111158.436696 records/sec (32.23 MB/sec), 724.23 ms avg latency, 1165.00 ms max latency, 704 ms 50th, 1115 ms 95th, 1153 ms 99th, 1164 ms 99.9th.
374980 steady state records sent, 110908.015380 records/sec (32.15 MB/sec), 742.18 ms avg latency, 1165.00 ms max latency, 703 ms 50th, 1121 ms 95th, 1155 ms 99th, 1164 ms 99.9th.
`;

test('parseProducerPerf reads the total and steady-state lines, not the progress lines', () => {
  const p = parseProducerPerf(out);
  assert.equal(p.total?.records, 474980);
  assert.equal(p.total?.p99_ms, 1153);
  assert.equal(p.steady?.records, 374980);
  assert.equal(p.steady?.records_per_s, 110908.01538);
});

test('ceilingResults prefers the steady state (the records asked for, after warm-up)', () => {
  const p = parseProducerPerf(out);
  const r = ceilingResults({
    ...p.total!, steady_state: p.steady!, raw: out, topic: 't', records_in_topic: 474980, kafka_version: '4.3.1',
    producer_props: { acks: '-1' }, command: 'java ...', peak_rss_mb: 300,
  } satisfies BrokerCeilingResult);
  assert.equal(r.broker_ceiling_records_per_s, 110908);
  assert.equal(r.broker_ceiling_records, 374980);
  assert.equal(r.broker_ceiling_warmup_records, 100000);
  assert.equal(r.broker_ceiling_p99_ms, 1155);
});
