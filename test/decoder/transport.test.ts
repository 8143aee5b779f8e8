// Transport semantics (RFC 7011 section 8): messages that came over TCP (DECODE_RELIABLE, the
// ring slot's SLOT_FLAG_RELIABLE) have their withdrawals honoured and their session's templates
// kept for as long as the connection lives; endTransportSession frees them when it closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, decodeStatuses, DECODE_RELIABLE, type DecoderOptions } from '../../src/decoder/wasm.js';
import { set, ipfix, address } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const exporter = address('192.0.2.1');
const TCP_PORT = 40001;

function decode(d: WasmDecoder, pkt: Uint8Array, o: { reliable?: boolean; now?: number; port?: number; addr?: Uint8Array } = {}): number {
  return d.decode(pkt, o.addr ?? exporter, o.port ?? TCP_PORT, o.now ?? T0, o.reliable ? DECODE_RELIABLE : 0);
}

function decoder(options: Partial<DecoderOptions> = {}): WasmDecoder {
  return new WasmDecoder(options);
}

function unknownTemplate(d: WasmDecoder): number {
  return d.counters().statuses[decodeStatuses().indexOf('unknown_template')]!;
}

const template = ipfix({}, set(2, `0106 0001 0008 0004   0107 0001 0008 0004`));
const withdrawal = ipfix({}, set(2, `0106 0000`));

test('over a reliable transport a withdrawal removes the template, with udp_withdrawals at its default (ignore)', () => {
  const d = decoder();
  decode(d, template, { reliable: true });
  decode(d, withdrawal, { reliable: true });
  assert.deepEqual([d.counters().templates, d.counters().withdrawalsApplied, d.counters().withdrawalsIgnored], [1, 1, 0]);
  assert.equal(decode(d, ipfix({}, set(262, `0a000001`)), { reliable: true }), 0);
  assert.equal(unknownTemplate(d), 1);
  assert.equal(decode(d, ipfix({}, set(263, `0a000001`)), { reliable: true }), 1);
});

test('the same withdrawal over UDP (no reliable flag) is still ignored', () => {
  const d = decoder();
  decode(d, template, { reliable: true });
  decode(d, withdrawal);
  assert.deepEqual([d.counters().templates, d.counters().withdrawalsApplied, d.counters().withdrawalsIgnored], [2, 0, 1]);
});

test('a reliable session\'s templates outlive template_lifetime_s, on use and at sweep; a UDP session\'s do not', () => {
  const d = decoder({ templateLifetimeSec: 10 });
  decode(d, template, { reliable: true });
  decode(d, template, { port: 4739 }); // UDP, another session
  const later = T0 + 3_600_000;
  d.sweep(later);
  assert.equal(d.counters().templatesExpired, 2, 'the UDP session\'s two templates expired');
  assert.equal(d.counters().templates, 2);
  assert.equal(decode(d, ipfix({}, set(262, `0a000001`)), { reliable: true, now: later }), 1);
  assert.equal(d.counters().sessions, 1, 'the idle UDP session was swept, the reliable one stays');
  d.sweep(later * 2);
  assert.equal(d.counters().sessions, 1);
});

test('endTransportSession frees every session of the address and port (any domain) with its templates and held data', () => {
  const d = decoder({ templateLifetimeSec: 10 });
  decode(d, template, { reliable: true });
  decode(d, ipfix({ domain: 7 }, set(2, `0108 0001 0008 0004`), set(300, `0a000001`)), { reliable: true }); // held: no template 300
  decode(d, template, { port: 4739 }); // the same address over UDP: untouched
  assert.deepEqual([d.counters().sessions, d.counters().templates, d.counters().heldSets], [3, 5, 1]);
  assert.equal(d.endTransportSession(exporter, 0, TCP_PORT), 2);
  assert.deepEqual([d.counters().sessions, d.counters().templates, d.counters().heldSets], [1, 2, 0]);
  assert.equal(d.counters().transportSessionsEnded, 2);
  assert.equal(d.counters().sessionsEvicted, 0, 'a closed connection is not an eviction');
  // A new connection (same address, another port) starts without templates.
  assert.equal(decode(d, ipfix({}, set(262, `0a000001`)), { reliable: true, port: TCP_PORT + 1 }), 0);
  assert.equal(unknownTemplate(d), 2);
  assert.equal(d.endTransportSession(exporter, 0, 9), 0, 'no session: nothing freed');
});
