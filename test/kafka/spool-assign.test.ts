// Giving a partition to records spooled before their topic's partitions were known
// (kafka/spool-gate.ts assignPartitions): keyless entries go whole to one partition in turn,
// keyed ones split by their key's murmur2 partition as they would have been framed live, with
// records and tenants shared out so that nothing is counted twice or lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignPartitions } from '../../src/kafka/spool-gate.js';
import { BatchBuilder, encodeHeaders, recordViews } from '../../src/kafka/protocol/record-batch.js';
import { partitionForKey } from '../../src/kafka/partitioner.js';
import type { EntryMeta } from '../../src/spool/format.js';

const headers = encodeHeaders({ schema: '1' });

function entry(keys: (string | null)[]): { meta: EntryMeta; records: Buffer } {
  const b = new BatchBuilder(1 << 20);
  keys.forEach((k, i) => {
    const key = k === null ? null : Buffer.from(k);
    const value = Buffer.from(`{"n":${i}}`);
    b.append(key, 0, key ? key.length : -1, value, 0, value.length, headers, 1_700_000_000_000 + i);
  });
  const meta: EntryMeta = { topic: 't', partition: -1, records: keys.length, messages: keys.length, firstReceivedAt: 1,
    baseTimestamp: b.baseTimestamp, maxTimestamp: b.maxTimestamp, tenants: [{ name: 'acme', records: keys.length - 3 }, { name: 'globex', records: 3 }] };
  return { meta, records: Buffer.from(b.records()) };
}

test('keyless messages go whole to one partition, in turn', () => {
  const e = entry([null, null, null, null, null]);
  assert.deepEqual(assignPartitions(e.meta, e.records, 4, 0).map((p) => p.meta.partition), [0]);
  const [part] = assignPartitions(e.meta, e.records, 4, 6);
  assert.equal(part!.meta.partition, 2);
  assert.equal(part!.records, e.records, 'the records are not copied');
});

test('keyed messages split by their key\'s partition; records, messages and tenants add up', () => {
  const keys = Array.from({ length: 40 }, (_, i) => `192.0.2.${i % 7}`);
  const e = entry(keys);
  const parts = assignPartitions(e.meta, e.records, 4, 0);
  assert.ok(parts.length > 1);
  let messages = 0;
  let records = 0;
  const tenants: Record<string, number> = {};
  for (const p of parts) {
    const b = BatchBuilder.fromRecords(p.records, p.meta.messages, p.meta.baseTimestamp, p.meta.maxTimestamp);
    for (const v of recordViews(b)) {
      assert.equal(partitionForKey(b.buffer, v.keyStart, v.keyLength, 4), p.meta.partition, 'each message on its key\'s partition');
      messages++;
    }
    records += p.meta.records;
    for (const t of p.meta.tenants) tenants[t.name] = (tenants[t.name] ?? 0) + t.records;
    assert.equal(p.meta.tenants.reduce((n, t) => n + t.records, 0), p.meta.records);
  }
  assert.equal(messages, 40);
  assert.equal(records, 40);
  assert.deepEqual(tenants, { acme: 37, globex: 3 });
});
