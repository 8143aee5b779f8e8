// The disk spool against a real directory: what is appended comes back after a restart until it
// is acknowledged, damage is cut off and counted, bounds and disk errors are reported, and a
// model-based run (fast-check commands) keeps it equal to a plain in-memory model throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Spool, SpoolError, type SpoolOptions } from '../../src/spool/spool.js';
import { SEGMENT_HEADER_BYTES, segmentName, type EntryMeta } from '../../src/spool/format.js';

const options: SpoolOptions = { maxBytes: 64 << 20, fsyncIntervalMs: 0, segmentBytes: 4096 };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function meta(topic: string, partition: number, records: number, at = 1_700_000_000_000): EntryMeta {
  return { topic, partition, records, messages: records, firstReceivedAt: at, baseTimestamp: at, maxTimestamp: at + 5,
    tenants: [{ name: 'acme', records: records - 1 }, { name: 'globex', records: 1 }] };
}

function payload(n: number, fill: number): Buffer {
  return Buffer.alloc(n, fill);
}

/** Every spooled entry, partition by partition: [topic/partition, id, records, payload fill byte]. */
function contents(spool: Spool): string[] {
  const out: string[] = [];
  for (const q of spool.partitions()) {
    for (const e of q.entries) {
      const bytes = spool.read(e);
      out.push(`${q.topic}/${q.partition} #${e.id} ${e.meta.records} ${bytes ? `${bytes.length}x${bytes[0]}` : 'corrupt'}`);
    }
  }
  return out.sort();
}

test('entries come back after a restart until acknowledged; acknowledged segments are deleted', (t) => {
  const dir = tempDir(t);
  let spool = Spool.open(dir, options);
  assert.equal(spool.append(meta('a', 0, 10), payload(1000, 1)), 'spooled');
  assert.equal(spool.append(meta('a', 1, 20), payload(1000, 2)), 'spooled');
  assert.equal(spool.append(meta('b', 0, 30), payload(3000, 3)), 'spooled');
  assert.equal(spool.append(meta('a', 0, 40), payload(3000, 4)), 'spooled');
  assert.equal(spool.records, 100);
  const a0 = [...spool.partitions()].find((q) => q.topic === 'a' && q.partition === 0)!;
  assert.deepEqual(a0.entries.map((e) => e.meta.records), [10, 40], 'oldest first within a partition');
  assert.deepEqual(a0.entries[0]!.meta.tenants, [{ name: 'acme', records: 9 }, { name: 'globex', records: 1 }]);
  spool.ack(a0.entries[0]!);
  spool.close();

  spool = Spool.open(dir, options);
  assert.equal(spool.recovery.entries, 3);
  assert.equal(spool.recovery.records, 90);
  assert.equal(spool.recovery.corruptEntries, 0);
  assert.deepEqual(contents(spool), ['a/0 #4 40 3000x4', 'a/1 #2 20 1000x2', 'b/0 #3 30 3000x3']);
  const segmentsBefore = readdirSync(dir).filter((n) => n.endsWith('.seg')).length;
  assert.ok(segmentsBefore >= 2, 'segments rotate at segmentBytes');
  for (const q of [...spool.partitions()]) for (const e of [...q.entries]) spool.ack(e);
  assert.equal(spool.records, 0);
  assert.equal(spool.entries, 0);
  spool.close();
  spool = Spool.open(dir, options);
  assert.equal(spool.entries, 0);
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.seg')).length, 0, 'fully acknowledged segments are gone');
  assert.equal(spool.bytes, 0);
  // Ids keep increasing across restarts only while segments remain; an empty spool starts again at 1.
  assert.equal(spool.append(meta('a', 0, 1), payload(10, 9)), 'spooled');
  spool.close();
});

test('a torn tail is cut off and counted; the entries before it are delivered', (t) => {
  const dir = tempDir(t);
  const spool = Spool.open(dir, { ...options, segmentBytes: 1 << 20 });
  for (let i = 1; i <= 3; i++) spool.append(meta('a', 0, i), payload(500, i));
  spool.close();
  const seg = join(dir, segmentName(1));
  const size = statSync(seg).size;
  truncateSync(seg, size - 100); // a crash in the middle of the third write
  const again = Spool.open(dir, options);
  assert.equal(again.recovery.corruptEntries, 1);
  const entry = (size - SEGMENT_HEADER_BYTES) / 3;
  assert.equal(again.recovery.corruptBytes, entry - 100, 'what is left of the torn entry');
  assert.ok(again.recovery.problems[0]!.includes('torn entry'), again.recovery.problems[0]);
  assert.deepEqual(contents(again), ['a/0 #1 1 500x1', 'a/0 #2 2 500x2']);
  assert.equal(statSync(seg).size, SEGMENT_HEADER_BYTES + 2 * entry, 'the file now ends on a whole entry');
  // The next id follows the last good one: nothing is named twice.
  again.append(meta('a', 0, 4), payload(10, 4));
  assert.deepEqual(contents(again).at(-1), 'a/0 #3 4 10x4');
  again.close();
});

test('a flipped byte fails the checksum: that entry and the rest of its segment are cut off and counted', (t) => {
  const dir = tempDir(t);
  const spool = Spool.open(dir, { ...options, segmentBytes: 1 << 20 });
  for (let i = 1; i <= 3; i++) spool.append(meta('a', 0, 10 * i), payload(400, i));
  spool.close();
  const seg = join(dir, segmentName(1));
  const bytes = readFileSync(seg);
  const entry = (bytes.length - SEGMENT_HEADER_BYTES) / 3;
  bytes[SEGMENT_HEADER_BYTES + entry + 200]! ^= 0x40; // inside the second entry's payload
  writeFileSync(seg, bytes);
  const again = Spool.open(dir, options);
  assert.equal(again.recovery.corruptEntries, 1);
  assert.equal(again.recovery.corruptBytes, 2 * entry);
  assert.ok(again.recovery.problems[0]!.includes('checksum mismatch'));
  assert.deepEqual(contents(again), ['a/0 #1 10 400x1']);
  assert.equal(again.records, 10);
  again.close();
});

test('a segment of another format version, or garbage, is set aside and counted, never read', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, segmentName(1)), Buffer.from('this is not a spool segment at all'));
  const spool = Spool.open(dir, options);
  assert.equal(spool.entries, 0);
  assert.equal(spool.recovery.corruptEntries, 1);
  assert.ok(readdirSync(dir).includes(`${segmentName(1)}.unreadable`));
  spool.close();
});

test('a corrupt ledger means delivering again, never losing', (t) => {
  const dir = tempDir(t);
  const spool = Spool.open(dir, options);
  spool.append(meta('a', 0, 5), payload(100, 1));
  spool.append(meta('a', 0, 6), payload(100, 2));
  spool.ack([...spool.partitions()][0]!.entries[0]!);
  spool.close();
  writeFileSync(join(dir, 'acked'), Buffer.from('garbage!'));
  const again = Spool.open(dir, options);
  assert.equal(again.records, 11, 'the acknowledged entry is delivered again (at least once)');
  assert.ok(again.recovery.problems.some((p) => p.includes('delivered again')));
  again.close();
});

test('max_bytes: an append that would pass it is refused with "full" and writes nothing', (t) => {
  const dir = tempDir(t);
  const spool = Spool.open(dir, { ...options, maxBytes: 3000, segmentBytes: 1 << 20 });
  let spooled = 0;
  let full = 0;
  for (let i = 0; i < 10; i++) {
    if (spool.append(meta('a', 0, 7), payload(600, i)) === 'spooled') spooled++;
    else full++;
  }
  assert.ok(spool.bytes <= 3000);
  assert.equal(spooled + full, 10);
  assert.ok(full > 0 && spooled > 0);
  assert.equal(spool.records, 7 * spooled);
  assert.equal(spool.counters.writtenRecords, 7 * spooled);
  spool.close();
});

test('a full disk is an error with its code; nothing is kept of the failed write and the spool goes on', (t) => {
  const dir = tempDir(t);
  const spool = Spool.open(dir, options);
  // The next segment the spool creates is /dev/full: every write to it fails with ENOSPC.
  symlinkSync('/dev/full', join(dir, segmentName(1)));
  assert.throws(() => spool.append(meta('a', 0, 3), payload(100, 1)), (err: unknown) => err instanceof SpoolError && err.code === 'ENOSPC');
  assert.equal(spool.records, 0);
  assert.equal(spool.entries, 0);
  rmSync(join(dir, segmentName(1)), { force: true }); // the spool removed its failed segment already
  assert.equal(spool.append(meta('a', 0, 3), payload(100, 1)), 'spooled', 'a later append works once the disk has room');
  assert.equal(spool.records, 3);
  spool.close();
});

test('a directory that cannot be used, or one another live process owns, is a SpoolError', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => Spool.open(join(file, 'spool'), options), SpoolError);
  const owned = join(dir, 'owned');
  Spool.open(owned, options).close();
  writeFileSync(join(owned, 'lock'), String(process.ppid)); // our parent: alive
  assert.throws(() => Spool.open(owned, options), (err: unknown) => err instanceof SpoolError && err.code === 'ELOCKED');
  writeFileSync(join(owned, 'lock'), '999999999'); // no such process: a stale lock is taken over
  Spool.open(owned, options).close();
});

test('model-based: any sequence of appends, acknowledgements, restarts and crashes keeps the spool equal to the model', (t) => {
  const dir = tempDir(t);
  let run = 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('append' as const), partition: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 0, max: 3000 }), records: fc.integer({ min: 1, max: 50 }) }),
          fc.record({ op: fc.constant('ack' as const), partition: fc.integer({ min: 0, max: 2 }) }),
          fc.record({ op: fc.constantFrom('restart' as const, 'crash' as const) }),
        ),
        { maxLength: 40 },
      ),
      (commands) => {
        const runDir = join(dir, String(run++));
        let spool = Spool.open(runDir, { maxBytes: 1 << 30, fsyncIntervalMs: 1000, segmentBytes: 5000 });
        const model = new Map<number, { partition: number; records: number; size: number; fill: number }[]>();
        let fill = 0;
        for (const c of commands) {
          if (c.op === 'append') {
            fill = (fill + 1) % 256;
            assert.equal(spool.append(meta('t', c.partition, c.records), payload(c.size, fill)), 'spooled');
            model.set(c.partition, [...(model.get(c.partition) ?? []), { partition: c.partition, records: c.records, size: c.size, fill }]);
          } else if (c.op === 'ack') {
            const q = [...spool.partitions()].find((x) => x.partition === c.partition);
            const expected = model.get(c.partition) ?? [];
            assert.equal(q?.entries.length ?? 0, expected.length);
            if (!q) continue;
            spool.ack(q.entries[0]!);
            expected.shift();
          } else {
            // A crash abandons the object without closing: the kernel has every write, so nothing is lost.
            if (c.op === 'restart') spool.close();
            spool = Spool.open(runDir, { maxBytes: 1 << 30, fsyncIntervalMs: 1000, segmentBytes: 5000 });
            assert.equal(spool.recovery.corruptEntries, 0);
          }
          let records = 0;
          for (const [p, list] of model) {
            const q = [...spool.partitions()].find((x) => x.partition === p);
            assert.deepEqual((q?.entries ?? []).map((e) => e.meta.records), list.map((x) => x.records));
            q?.entries.forEach((e, i) => {
              const bytes = spool.read(e)!;
              assert.equal(bytes.length, list[i]!.size);
              if (bytes.length > 0) assert.equal(bytes[0], list[i]!.fill);
            });
            records += list.reduce((n, x) => n + x.records, 0);
          }
          assert.equal(spool.records, records);
        }
        spool.close();
        rmSync(runDir, { recursive: true, force: true });
      },
    ),
    { numRuns: 60 },
  );
});
