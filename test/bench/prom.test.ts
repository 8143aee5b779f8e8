import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delta, histogramQuantile, parseMetrics, sumOf } from '../support/prometheus.js';

const text = `# HELP x_total x
# TYPE x_total counter
x_total{reason="a"} 3
x_total{reason="b"} 4
h_bucket{le="0.01"} 10
h_bucket{le="0.1"} 90
h_bucket{le="1"} 100
h_bucket{le="+Inf"} 100
h_sum 5
h_count 100
`;

test('parseMetrics and sumOf', () => {
  const m = parseMetrics(text);
  assert.equal(m.get('x_total{reason="a"}'), 3);
  assert.equal(sumOf(m, 'x_total{'), 7);
  assert.equal(m.get('h_count'), 100);
});

test('histogramQuantile interpolates within the bucket', () => {
  const m = parseMetrics(text);
  assert.equal(histogramQuantile(m, 'h', 0.05, 1000), 5); // half of the first bucket [0, 10 ms]
  assert.ok(Math.abs(histogramQuantile(m, 'h', 0.5, 1000)! - 55) < 1e-9); // 40 of 80 in (10, 100] ms
  assert.ok(Math.abs(histogramQuantile(m, 'h', 0.99, 1000)! - 910) < 1e-9);
  assert.equal(histogramQuantile(new Map(), 'h', 0.5), null);
});

test('histogramQuantile: a rank in +Inf gives the highest finite bound; label sets merge', () => {
  const m = parseMetrics('h_bucket{w="0",le="1"} 1\nh_bucket{w="0",le="+Inf"} 10\nh_bucket{w="1",le="1"} 0\nh_bucket{w="1",le="+Inf"} 10\n');
  assert.equal(histogramQuantile(m, 'h', 0.99), 1);
  assert.equal(histogramQuantile(m, 'h', 0.05), 1); // rank 1 of 20 falls in the first bucket (merged count 1)
});

test('delta subtracts the earlier scrape', () => {
  const d = delta(parseMetrics('a 5\nb 2\n'), parseMetrics('a 3\n'));
  assert.equal(d.get('a'), 2);
  assert.equal(d.get('b'), 2);
});
