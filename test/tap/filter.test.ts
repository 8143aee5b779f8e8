// What a tap filter may ask for (src/tap/filter.ts, "How much a filter may ask for"): one value
// per key, no lists or wildcards, and no address term of prefix length 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, tooBroad, type TapFilter } from '../../src/tap/filter.js';

const context = { scope: null, tenants: new Set(['acme', '_unknown']) };

function valid(text: string): TapFilter {
  const f = parseFilter(text, context);
  assert.ok(typeof f !== 'string', `${text}: ${String(f)}`);
  return f;
}

test('an address term of prefix length 0 is too broad, whichever key and family; any longer prefix is not', () => {
  for (const key of ['exporter', 'src', 'dst']) {
    for (const zero of ['0.0.0.0/0', '::/0', '10.1.2.3/0', '2001:db8::1/0']) {
      const problem = tooBroad(valid(JSON.stringify({ [key]: zero })));
      assert.ok(problem?.startsWith(`${key}: `), `${key} ${zero}: ${problem}`);
      assert.match(problem ?? '', /matches every address of its family/);
    }
    for (const narrow of ['0.0.0.0/1', '128.0.0.0/1', '::/1', '10.0.0.0/8', '192.0.2.7', '2001:db8::/32']) {
      assert.equal(tooBroad(valid(JSON.stringify({ [key]: narrow }))), undefined, `${key} ${narrow}`);
    }
  }
  // One broad term is enough, whatever else narrows.
  assert.match(tooBroad(valid('{"proto":6,"port":443,"dst":"::/0"}')) ?? '', /^dst: ::\/0 /);
});

test('{} and filters without address terms are not too broad: the rate caps bound them', () => {
  for (const text of ['{}', '{"tenant":"acme"}', '{"proto":17}', '{"port":0}', '{"max_rate":10000}']) assert.equal(tooBroad(valid(text)), undefined, text);
});

test('a key takes one value: lists, wildcards and patterns are refused as invalid', () => {
  for (const text of ['{"src":["10.0.0.0/8","10.1.0.0/16"]}', '{"src":"10.*"}', '{"exporter":"*"}', '{"dst":"10.0.0.0/8,10.1.0.0/16"}',
    '{"port":[80,443]}', '{"port":"443"}', '{"proto":"tcp"}', '{"tenant":["acme"]}', '{"tenant":"*"}']) {
    assert.equal(typeof parseFilter(text, context), 'string', text);
  }
});
