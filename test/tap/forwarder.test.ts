// The worker side of the tap, without threads: what it forwards for a spec, and what it counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TapForwarder, TAP_BUSY_HOLD_MS } from '../../src/tap/forwarder.js';
import { AddressSet } from '../../src/net/address-set.js';
import { parseFilter, defaultFilter } from '../../src/tap/filter.js';
import { decoderOutput } from '../support/decoder-output.js';

/** One datagram's output as the decoder leaves it. */
function output(records: object[]) {
  const { output: out, index } = decoderOutput(records.map((r) => JSON.stringify(r)));
  return { out, index };
}

test('an address set matches addresses and prefixes of both families, IPv4-mapped IPv6 as IPv4, and nothing else', () => {
  const set = new AddressSet(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32']);
  assert.equal(set.has('192.0.2.200'), true);
  assert.equal(set.has('192.0.3.1'), false);
  assert.equal(set.has('198.51.100.7'), true);
  assert.equal(set.has('198.51.100.8'), false);
  assert.equal(set.has('2001:db8:1::5'), true);
  assert.equal(set.has('2001:db9::5'), false);
  assert.equal(set.has('::ffff:192.0.2.1'), true);
  assert.equal(set.has(null), false);
  assert.equal(set.has(42), false);
  assert.equal(set.has('router1'), false);
  assert.equal(new AddressSet(['0.0.0.0/0']).has('2001:db8::1'), false, '0.0.0.0/0 does not catch IPv6');
  assert.throws(() => new AddressSet(['10.0.0.0/33']), RangeError);
});

test('the forwarder is inert without a spec, narrows by tenant and exporter prefix, and counts what its cap leaves out', () => {
  const tap = new TapForwarder();
  const { out, index } = output([{ dvc: '192.0.2.1', n: 1 }, { dvc: '192.0.2.1', n: 2 }, { dvc: '192.0.2.1', n: 3 }]);
  tap.offer('acme', '192.0.2.1', out, index, 3);
  assert.equal(tap.active, false);
  assert.equal(tap.flush(), null);

  tap.configure({ tenants: ['acme'], exporters: ['192.0.2.0/24'], maxRecordsPerSecond: 2 });
  assert.equal(tap.active, true);
  tap.offer('globex', '192.0.2.1', out, index, 3);
  tap.offer('acme', '192.0.3.1', out, index, 3);
  assert.equal(tap.flush(), null);
  tap.offer('acme', '192.0.2.1', out, index, 3);
  const batch = tap.flush()!;
  assert.deepEqual(batch.records.map((r) => JSON.parse(r.json).n), [1, 2]);
  assert.deepEqual(batch.records[0], { tenant: 'acme', exporter: '192.0.2.1', json: '{"dvc":"192.0.2.1","n":1}' });
  assert.equal(batch.skipped, 1);
  assert.equal(batch.busy, 0);

  tap.configure(null);
  assert.equal(tap.active, false);
  tap.configure({ tenants: null, exporters: ['not an address'], maxRecordsPerSecond: 10 });
  assert.equal(tap.active, false, 'a spec that does not parse forwards nothing');
});

test('a run of records from the middle of a datagram (a relay\'s, one stated exporter) is offered alone, under that exporter', () => {
  const tap = new TapForwarder();
  tap.configure({ tenants: null, exporters: ['198.51.100.0/24'], maxRecordsPerSecond: 100 });
  const { out, index } = output([{ n: 0 }, { dvc: '198.51.100.9', n: 1 }, { dvc: '198.51.100.9', n: 2 }, { n: 3 }]);
  tap.offer('acme', '198.51.100.9', out, index, 2, 1);
  assert.deepEqual(tap.flush()!.records.map((r) => [r.exporter, JSON.parse(r.json).n]), [['198.51.100.9', 1], ['198.51.100.9', 2]]);
});

test('after the worker had a backlog, for TAP_BUSY_HOLD_MS, matching records are counted ingest_busy and not copied; then forwarded again', () => {
  const tap = new TapForwarder();
  const { out, index } = output([{ n: 1 }, { n: 2 }, { n: 3 }]);
  tap.configure({ tenants: ['acme'], exporters: null, maxRecordsPerSecond: 100 });
  tap.backlog(false);
  tap.offer('acme', '192.0.2.1', out, index, 1);
  assert.equal(tap.flush()!.records.length, 1, 'no backlog: forwarded');
  tap.backlog(true);
  tap.backlog(false); // drained at once: the hold still applies
  tap.offer('acme', '192.0.2.1', out, index, 3);
  tap.offer('globex', '192.0.2.1', out, index, 3);
  assert.deepEqual(tap.flush(), { records: [], skipped: 0, busy: 3 }, 'only what some client asked for is counted');
  tap.backlog(true, Date.now() - TAP_BUSY_HOLD_MS - 1); // the last backlog is older than the hold
  tap.offer('acme', '192.0.2.1', out, index, 3);
  const batch = tap.flush()!;
  assert.deepEqual([batch.records.length, batch.skipped, batch.busy], [3, 0, 0]);
});

test('a filter tests protocol, port on either side and address prefixes on the parsed record', () => {
  const context = { scope: null, tenants: new Set(['acme', '_unknown']) };
  const f = parseFilter('{"src":"10.0.0.0/8","dst":"2001:db8::/32","port":443,"proto":6}', context);
  assert.ok(typeof f !== 'string');
  const r = { src: '10.1.2.3', dst: '2001:db8::9', srcp: 50000, dstp: 443, proto: 6 };
  assert.equal(f.matches(r), true);
  assert.equal(f.matches({ ...r, srcp: 443, dstp: 50000 }), true);
  assert.equal(f.matches({ ...r, dstp: 80 }), false);
  assert.equal(f.matches({ ...r, proto: 17 }), false);
  assert.equal(f.matches({ ...r, src: '11.1.2.3' }), false);
  assert.equal(f.matches({ ...r, dst: null }), false);
  assert.equal(f.fine, true);
  assert.equal(defaultFilter().fine, false);
  const tenantOnly = parseFilter('{"tenant":"acme","exporter":"192.0.2.9"}', context);
  assert.ok(typeof tenantOnly !== 'string');
  assert.equal(tenantOnly.fine, false);
  assert.equal(parseFilter('{"tenant":"acme"}', { scope: 'globex', tenants: context.tenants }), 'tenant: this token sees tenant "globex" only');
});
