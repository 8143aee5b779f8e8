import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixed, int, ratio, renderTable } from '../../bench/lib/table.js';

test('renderTable pads columns and aligns the first left, the rest right', () => {
  const t = renderTable(['name', 'n'], [['a', '1'], ['long name', '12,345']]);
  assert.equal(t, [
    '| name      |      n |',
    '|:----------|-------:|',
    '| a         |      1 |',
    '| long name | 12,345 |',
  ].join('\n'));
});

test('number formats', () => {
  assert.equal(int(1234567.4), '1,234,567');
  assert.equal(int(null), 'n/a');
  assert.equal(int(NaN), 'n/a');
  assert.equal(ratio(50, 200), '0.25x');
  assert.equal(ratio(50, 0), '');
  assert.equal(ratio(null, 3), '');
  assert.equal(fixed(1.26, 1), '1.3');
  assert.equal(fixed(undefined), '');
});
