import { test } from 'node:test';
import assert from 'node:assert/strict';
import { templateFlood, templateRecordsSent } from '../../bench/lib/forged-templates.js';
import { inForgedRange, lastSource } from '../../bench/lib/flood.js';

/** Template records of one message, by walking its sets (IPFIX sets 2 and 3, v9 FlowSets 0 and 1). */
function templates(m: Uint8Array): { ids: number[]; bytes: number } {
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const version = v.getUint16(0);
  const header = version === 10 ? 16 : 20;
  if (version === 10) assert.equal(v.getUint16(2), m.length, 'IPFIX length is the message length');
  const ids: number[] = [];
  let p = header;
  while (p < m.length) {
    const setId = v.getUint16(p);
    const setLength = v.getUint16(p + 2);
    assert.ok(setLength >= 4 && p + setLength <= m.length, 'a set inside the message');
    const options = setId === 3 || setId === 1;
    for (let r = p + 4; r < p + setLength;) {
      ids.push(v.getUint16(r));
      const count = v.getUint16(r + 2);
      r += (options ? 6 : 4) + 4 * count;
      assert.ok(r <= p + setLength, 'a template record inside its set');
    }
    p += setLength;
  }
  assert.equal(p, m.length, 'the sets tile the message');
  return { ids, bytes: m.length };
}

test('a template flood: the well-formed templates once each in MTU-sized messages, then the malformed ones, every message well framed', () => {
  const f = templateFlood(256, 1_700_000_000);
  const walked = f.datagrams.map(templates);
  assert.deepEqual(walked.map((w) => w.ids.length), f.templateRecords);
  const wellFormed = walked.flatMap((w) => w.ids).slice(0, 256);
  assert.deepEqual(wellFormed, Array.from({ length: 256 }, (_, i) => 256 + i));
  assert.equal(f.templateRecords.reduce((n, r) => n + r, 0), f.wellFormed + f.malformed);
  const onlyWellFormed = walked.filter((w) => w.ids.every((id) => id >= 256 && id < 512) && f.datagrams[walked.indexOf(w)]![1] === 10);
  assert.ok(onlyWellFormed.length >= 2 && onlyWellFormed.every((w) => w.bytes <= 1400), 'well-formed templates in MTU-sized messages');
  assert.ok(walked.some((w) => w.bytes > 4000), 'the 1,000-field template');
  assert.ok(f.malformed >= 10);
});

test('template records sent: the flood sender order (payload i / sources, source i % sources), counted as sent', () => {
  const f = templateFlood(40);
  for (const [sources, datagrams] of [[3, 0], [3, 1], [3, 7], [5, 5 * f.datagrams.length * 2 + 3], [7, 123]] as const) {
    let want = 0;
    for (let i = 0; i < datagrams; i++) want += f.templateRecords[Math.floor(i / sources) % f.datagrams.length]!;
    assert.equal(templateRecordsSent(f, sources, datagrams), want, `${sources} sources, ${datagrams} datagrams`);
  }
});

test('forged ranges stay in 127.0.0.0/8', () => {
  assert.equal(lastSource('127.100.0.0', 100_000), '127.101.134.159');
  assert.throws(() => lastSource('127.255.255.0', 1000), /leave 127\.0\.0\.0\/8/);
  assert.throws(() => lastSource('10.0.0.1', 1), /127\.0\.0\.0\/8/);
  assert.ok(inForgedRange('127.100.0.5', '127.100.0.0', 10));
  assert.ok(!inForgedRange('127.0.0.11', '127.100.0.0', 100_000));
});
