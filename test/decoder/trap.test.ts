// A decoder trap is a bug, not the end of the worker (design.md: "count it, restart the
// instance, save the input"). The trap build (asconfig.json target "trap", tests only) traps
// on a datagram of version 0xdead; the release build has no such hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, compileDecoder, decodeStatuses } from '../../src/decoder/wasm.js';
import { decoderWasmPath } from '../../src/paths.js';
import { hex, set, ipfix, address } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const exporter = address('192.0.2.1');
const trapModule = compileDecoder(decoderWasmPath('trap'));

const template = set(2, `
  0100 0004                     # template 256, 4 fields
  0008 0004  000c 0004          # sourceIPv4Address, destinationIPv4Address
  0001 0008  0002 0008          # octetDeltaCount, packetDeltaCount`);
const records = set(256, `
  c0000201 c6336407 00000000000005dc 000000000000000a
  c0000202 c6336407 00000000000005dd 000000000000000b`);
/** A datagram the trap build traps on (version 0xdead), and the release build rejects as bad_version. */
const poison = hex('dead 0010 00000000 00000000 00000000 0102030405');

function code(name: string): number {
  const c = decodeStatuses().indexOf(name);
  assert.ok(c > 0, `no status ${name}`);
  return c;
}

function lines(d: WasmDecoder): string[] {
  return Buffer.from(d.output.subarray(0, d.outputLength())).toString().trimEnd().split('\n');
}

test('a trap is counted as decoder_trap, the datagram kept, the instance restarted, and decoding goes on', () => {
  const d = new WasmDecoder({}, trapModule);
  const trap = code('decoder_trap');
  assert.equal(d.abi.trapStatus, trap);
  assert.ok(d.abi.datagramStatuses.includes('decoder_trap'), 'a trap drops the whole datagram');

  assert.equal(d.decode(ipfix({}, template, records), exporter, 40000, T0), 2);
  assert.equal(d.counters().templates, 1);
  const outputBefore = d.output;

  assert.equal(d.decode(poison, exporter, 40001, T0 + 1), -trap);
  assert.deepEqual(d.lastTrap?.bytes, poison);
  assert.deepEqual(d.lastTrap?.address, exporter);
  assert.equal(d.lastTrap?.port, 40001);
  assert.equal(d.lastTrap?.receivedMs, T0 + 1);
  assert.notEqual(d.output, outputBefore, 'the output is a view of the new instance');
  assert.equal(d.outputLength(), 0);

  // The same through decodeFrom (a ring slot): the bytes kept are the datagram's, copied out.
  const ring = Buffer.alloc(256, 0xee);
  ring.set(poison, 100);
  ring.set(address('198.51.100.7'), 20);
  assert.equal(d.decodeFrom(ring, 100, poison.length, 20, 40002, T0 + 2), -trap);
  ring.fill(0);
  assert.deepEqual(d.lastTrap?.bytes, poison);
  assert.deepEqual(d.lastTrap?.address, address('198.51.100.7'));
  assert.equal(d.lastTrap?.port, 40002);

  const c = d.counters();
  assert.equal(c.statuses[trap], 2, 'each trap counted once');
  assert.equal(c.packets, 1, 'counters of the replaced instance are carried over');
  assert.equal(c.records, 2);
  assert.equal(c.templates, 0, 'a new instance has no templates (the durability issue restores them)');
  assert.equal(c.statuses[code('bad_version')], 0, 'a trap is not counted as anything else');

  // Decoding goes on: the template is gone, so the data set is held until it is sent again.
  assert.equal(d.decode(ipfix({ seq: 2 }, records), exporter, 40000, T0 + 3), 0);
  assert.equal(d.counters().statuses[code('unknown_template')], 1);
  assert.equal(d.decode(ipfix({ seq: 4 }, template, records), exporter, 40000, T0 + 4), 4, 'the held records and the new ones');
  assert.equal(lines(d).length, 4);
  assert.equal(JSON.parse(lines(d)[3]!).src, '192.0.2.2');
  assert.equal(d.counters().statuses[trap], 2);
  assert.equal(d.counters().records, 6);
});

test('the release build has no trap hook: the same datagram is a bad_version', () => {
  const d = new WasmDecoder();
  assert.equal(d.decode(poison, exporter, 40001, T0), -code('bad_version'));
  assert.equal(d.counters().statuses[code('decoder_trap')], 0);
  assert.equal(d.lastTrap, undefined);
});
