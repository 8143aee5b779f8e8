// Session eviction on crafted packets: when the session table, the template table or the held
// room is full, the least recently used unprotected session gives way; protected sessions (the
// exporters the configuration names: decode()'s protectedExporter) never do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, decodeStatuses, DECODE_PROTECTED, type DecoderOptions } from '../../src/decoder/wasm.js';
import { set, ipfix, address } from '../support/packets.js';

const T0 = 1_700_000_000_000;

// Template 256 (src, dst, proto) and one record of it.
const template = set(2, `0100 0003  0008 0004  000c 0004  0004 0001`);
const record = `c0000201 c6336407 06`;
const data = set(256, record);

/** The exporter 192.0.2.<n>. */
const exporter = (n: number) => address(`192.0.2.${n}`);

class Bench {
  readonly d: WasmDecoder;
  #now = T0;

  constructor(options: Partial<DecoderOptions>) {
    this.d = new WasmDecoder(options);
  }

  /** Sends a datagram from exporter n, one millisecond after the last one. */
  send(n: number, pkt: Uint8Array, protect = false): number {
    this.#now += 1;
    return this.d.decode(pkt, exporter(n), 4739, this.#now, protect ? DECODE_PROTECTED : 0);
  }

  /** The exporters that have a session, by n, sorted. */
  exporters(): number[] {
    return this.d.sessions().map((s) => s.address[15]!).sort((a, b) => a - b);
  }

  status(reason: string): number {
    const code = decodeStatuses().indexOf(reason);
    assert.ok(code > 0, `unknown reason ${reason}`);
    return this.d.counters().statuses[code]!;
  }
}

const exporterLimit = -decodeStatuses().indexOf('exporter_limit');

test('a full table of unprotected sessions: a newcomer, protected or not, evicts the least recently used one, whose templates go with it', () => {
  const b = new Bench({ maxSessions: 4 });
  for (const n of [1, 2, 3, 4]) assert.equal(b.send(n, ipfix({}, template)), 0);
  assert.equal(b.d.counters().templates, 4);
  assert.equal(b.send(1, ipfix({}, data)), 1, 'exporter 1 is used again: 2 is now the least recently used');
  assert.equal(b.send(10, ipfix({}, template, data), true), 1, 'a protected newcomer gets a session');
  assert.deepEqual(b.exporters(), [1, 3, 4, 10]);
  assert.equal(b.send(11, ipfix({}, template, data)), 1, 'an unprotected newcomer too');
  assert.deepEqual(b.exporters(), [1, 4, 10, 11]);
  const c = b.d.counters();
  assert.deepEqual([c.sessionsEvicted, c.sessions, c.templates], [2, 4, 4], 'each eviction counted; the evicted sessions\' templates freed');
  assert.equal(b.status('exporter_limit'), 0);
  assert.equal(b.send(1, ipfix({}, data)), 1, 'the recently used exporter kept its template');
  assert.equal(b.send(2, ipfix({}, data)), 0, 'an evicted exporter comes back without its template: its data waits for it');
  assert.equal(b.status('unknown_template'), 1);
  assert.deepEqual(b.exporters(), [1, 2, 10, 11], 'and took the place of the least recently used one (4)');
  assert.equal(b.d.counters().sessionsEvicted, 3);
});

test('protected sessions are never evicted; with every session protected, a newcomer is refused as exporter_limit', () => {
  const b = new Bench({ maxSessions: 3 });
  assert.equal(b.send(1, ipfix({}, template), true), 0);
  assert.equal(b.send(2, ipfix({}, template), true), 0);
  assert.equal(b.send(3, ipfix({}, template)), 0);
  for (let n = 20; n < 40; n++) assert.equal(b.send(n, ipfix({}, template, data)), 1, `unprotected exporter ${n} takes the one unprotected slot`);
  assert.deepEqual(b.exporters(), [1, 2, 39]);
  assert.equal(b.d.counters().sessionsEvicted, 20);
  assert.equal(b.send(1, ipfix({}, data), true), 1, 'the protected exporters still have their templates');
  assert.equal(b.send(2, ipfix({}, data), true), 1);
  assert.equal(b.send(3, ipfix({}, template), true), 0, 'a third protected exporter evicts the last unprotected session');
  assert.deepEqual(b.exporters(), [1, 2, 3]);
  assert.equal(b.send(40, ipfix({}, template, data)), exporterLimit, 'every session protected: an unprotected newcomer is refused');
  assert.equal(b.send(41, ipfix({}, template, data), true), exporterLimit, 'and so is a protected one');
  assert.equal(b.status('exporter_limit'), 2);
  assert.equal(b.d.counters().sessionsEvicted, 21);
  assert.deepEqual(b.exporters(), [1, 2, 3]);
});

test('a session follows the protection its datagrams say (a reload): protected ones leave the eviction order, unprotected ones join it', () => {
  const b = new Bench({ maxSessions: 2 });
  b.send(1, ipfix({}, template));
  b.send(2, ipfix({}, template));
  b.send(1, ipfix({}, data), true); // 1 protected now
  b.send(2, ipfix({}, data)); // 2 the most recently used: it would stay were 1 still unprotected
  assert.equal(b.send(3, ipfix({}, template, data)), 1);
  assert.deepEqual(b.exporters(), [1, 3], '2, the only unprotected session, gave way');
  b.send(1, ipfix({}, data)); // 1 unprotected again, the most recently used
  b.send(3, ipfix({}, data)); // now 3 is
  assert.equal(b.send(4, ipfix({}, template, data)), 1);
  assert.deepEqual(b.exporters(), [3, 4], '1 was the least recently used unprotected session');
  assert.equal(b.d.counters().sessionsEvicted, 2);
});

test('a full template table: a protected exporter\'s template evicts the least recently used unprotected session that owns templates', () => {
  const b = new Bench({});
  // 16 unprotected exporters with 256 templates each fill the 4,096 template slots.
  const many = set(2, Array.from({ length: 256 }, (_, i) => `${(256 + i).toString(16).padStart(4, '0')} 0001 0008 0004`).join(' '));
  b.send(100, ipfix({}, data)); // the least recently used session, but it owns no template
  for (let n = 1; n <= 16; n++) b.send(n, ipfix({}, many));
  assert.equal(b.d.counters().templates, 4096);
  b.send(1, ipfix({}, data)); // 1 used again: 2 is the least recently used owner of templates
  assert.equal(b.send(50, ipfix({}, template)), 0);
  assert.equal(b.status('template_limit'), 1, 'an unprotected exporter finds no room and evicts nobody for it');
  assert.equal(b.d.counters().sessionsEvicted, 0);
  assert.equal(b.send(60, ipfix({}, template, data), true), 1, 'a protected one gets its template');
  assert.equal(b.status('template_limit'), 1);
  assert.equal(b.d.counters().sessionsEvicted, 1);
  const left = b.exporters();
  assert.ok(!left.includes(2) && [1, 3, 100, 60].every((n) => left.includes(n)), `sessions: ${left}`);
  assert.equal(b.d.counters().templates, 4096 - 256 + 1);
});

test('held room taken by unprotected sessions: a protected exporter\'s data set evicts the least recently used holder and is decoded once its template comes', () => {
  const b = new Bench({ heldMaxBytes: 100 });
  const fourRecords = set(256, Array(4).fill(record).join(' ')); // 4 records, 36 bytes
  assert.equal(b.send(1, ipfix({}, fourRecords)), 0);
  assert.equal(b.send(2, ipfix({}, fourRecords)), 0);
  assert.deepEqual([b.d.counters().heldSets, b.d.counters().heldBytes], [2, 72]);
  assert.equal(b.send(3, ipfix({}, fourRecords)), 0);
  assert.equal(b.status('held_overflow'), 1, 'an unprotected exporter finds no room and evicts nobody for it');
  assert.equal(b.send(1, ipfix({}, set(2, '0200 0001 0008 0004'))), 0, 'exporter 1 used again: 2 is the least recently used holder');
  assert.equal(b.send(10, ipfix({}, fourRecords), true), 0);
  assert.equal(b.status('held_overflow'), 1);
  assert.equal(b.status('held_expired'), 1, 'the evicted session\'s held set is lost and counted');
  assert.equal(b.d.counters().heldBytesExpired, 36);
  assert.equal(b.d.counters().sessionsEvicted, 1);
  assert.ok(!b.exporters().includes(2));
  assert.equal(b.send(10, ipfix({}, template), true), 4, 'its template releases the held records');
});
