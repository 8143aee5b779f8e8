// TcpReceiver on loopback: framed messages land in the exporter's ring flagged reliable, a closed
// connection leaves a SESSION_END slot after its last message, a full ring pauses the connection
// instead of losing, and bad streams, oversized messages, refused sources and connections over
// the cap are closed or skipped and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TcpReceiver } from '../../src/tcp/receiver.js';
import type { RingSet } from '../../src/udp/receiver.js';
import { PacketRing } from '../../src/ring/ring.js';
import { SLOT_FLAG_PROTECTED, SLOT_FLAG_RELAY, SLOT_FLAG_RELIABLE, SLOT_FLAG_SESSION_END } from '../../src/ring/slots.js';
import { parseConfig } from '../../src/config/load.js';
import { addressText } from '../../src/net/address.js';
import { createLogger } from '../../src/log.js';
import { Admission } from '../../src/udp/admission.js';
import { set, ipfix } from '../support/packets.js';

const log = createLogger('error', {}, () => undefined);

function ringSet(slots: number, slotBytes = 2048): RingSet & { ring0: PacketRing } {
  const ring0 = PacketRing.create({ slots, slotBytes });
  return { ring0, ring: () => ring0, workerFor: () => 0 };
}

interface Slot { payload: Buffer; exporter: string; port: number; flags: number }

function take(ring: PacketRing, into: Slot[]): Slot[] {
  let slot: number;
  while ((slot = ring.peek()) !== -1) {
    const at = ring.payloadOffset(slot);
    into.push({
      payload: Buffer.from(ring.bytes.subarray(at, at + ring.payloadLength(slot))),
      exporter: addressText(ring.bytes, ring.addressOffset(slot)), port: ring.port(slot), flags: ring.flags(slot),
    });
    ring.release();
  }
  return into;
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket): Promise<void> => new Promise((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())));

const messages = Array.from({ length: 20 }, (_, i) => Buffer.from(ipfix({ seq: i }, set(262, '0a0000'.repeat(i + 1) + '00'.repeat(i % 3)))));

test('messages arrive whole and in order, flagged reliable, and SESSION_END follows the last one when the connection closes', async () => {
  const rings = ringSet(64);
  const rx = new TcpReceiver(['127.0.0.1:0'], 4, rings, log);
  const [bound] = await rx.start();
  try {
    const s = await connect(bound!.port);
    const port = s.localPort;
    const all = Buffer.concat(messages);
    // Cut at odd places: framing must not care.
    for (let at = 0; at < all.length; at += 37) s.write(all.subarray(at, at + 37));
    s.end();
    const got: Slot[] = [];
    await until(() => take(rings.ring0, got).at(-1)?.flags === SLOT_FLAG_SESSION_END);
    assert.deepEqual(got.slice(0, -1).map((g) => g.payload), messages);
    assert.ok(got.slice(0, -1).every((g) => g.flags === SLOT_FLAG_RELIABLE && g.exporter === '127.0.0.1' && g.port === port));
    assert.deepEqual([got.at(-1)!.payload.length, got.at(-1)!.port], [0, port]);
    assert.deepEqual([rx.stats.messages, rx.stats.connections.accepted, rx.connections], [messages.length, 1, 0]);
  } finally {
    await rx.stop();
  }
});

test('a full ring pauses the connection and loses nothing; SESSION_END still comes last', async () => {
  const rings = ringSet(2);
  const rx = new TcpReceiver(['127.0.0.1:0'], 4, rings, log);
  const [bound] = await rx.start();
  try {
    const s = await connect(bound!.port);
    const many = Array.from({ length: 300 }, (_, i) => messages[i % messages.length]!);
    s.end(Buffer.concat(many));
    await until(() => rx.stats.backpressurePauses > 0);
    const got: Slot[] = [];
    await until(() => take(rings.ring0, got).at(-1)?.flags === SLOT_FLAG_SESSION_END);
    assert.deepEqual(got.slice(0, -1).map((g) => g.payload), many);
    assert.equal(rx.stats.dropped.ring_full, 0);
  } finally {
    await rx.stop();
  }
});

test('a message longer than a ring slot is skipped and counted too_large; the next one is framed', async () => {
  const rings = ringSet(16, 64);
  const rx = new TcpReceiver(['127.0.0.1:0'], 4, rings, log);
  const [bound] = await rx.start();
  try {
    const small = Buffer.from(ipfix({}, set(262, '0a000001')));
    const big = Buffer.from(ipfix({}, set(262, '0a000001'.repeat(40))));
    const s = await connect(bound!.port);
    s.end(Buffer.concat([small, big, small]));
    const got: Slot[] = [];
    await until(() => take(rings.ring0, got).at(-1)?.flags === SLOT_FLAG_SESSION_END);
    assert.deepEqual(got.slice(0, -1).map((g) => g.payload), [small, small]);
    assert.deepEqual([rx.stats.messages, rx.stats.dropped.too_large], [3, 1]);
  } finally {
    await rx.stop();
  }
});

test('a stream that is not IPFIX is closed and counted after the messages before it', async () => {
  const rings = ringSet(16);
  const rx = new TcpReceiver(['127.0.0.1:0'], 4, rings, log);
  const [bound] = await rx.start();
  try {
    const s = await connect(bound!.port);
    const v9 = Buffer.from(messages[1]!);
    v9.writeUInt16BE(9, 0);
    s.write(Buffer.concat([messages[0]!, v9, messages[2]!]));
    await closed(s);
    const got: Slot[] = [];
    await until(() => take(rings.ring0, got).at(-1)?.flags === SLOT_FLAG_SESSION_END);
    assert.deepEqual(got.map((g) => g.payload.length), [messages[0]!.length, 0]);
    assert.deepEqual([rx.stats.framingErrors, rx.stats.messages], [1, 1]);
  } finally {
    await rx.stop();
  }
});

test('connections over the cap are closed at once and counted; admission is decided at accept', async () => {
  const rings = ringSet(16);
  const rx = new TcpReceiver(['127.0.0.1:0'], 1, rings, log);
  rx.setAdmission(new Admission(['127.0.0.1'], null));
  const [bound] = await rx.start();
  try {
    const first = await connect(bound!.port);
    await until(() => rx.connections === 1);
    const second = await connect(bound!.port);
    await closed(second);
    assert.deepEqual([rx.stats.connections.accepted, rx.stats.connections.refused_cap, rx.connections], [1, 1, 1]);
    first.end(messages[0]);
    const got: Slot[] = [];
    await until(() => take(rings.ring0, got).at(-1)?.flags === SLOT_FLAG_SESSION_END);
    assert.equal(got[0]!.flags, SLOT_FLAG_RELIABLE | SLOT_FLAG_PROTECTED, 'on the allow list: protected');

    rx.setAdmission(new Admission(['192.0.2.0/24'], null));
    const refused = await connect(bound!.port);
    await closed(refused);
    assert.equal(rx.stats.connections.not_allowed, 1);
  } finally {
    await rx.stop();
  }
});

test('a relay\'s connection (routing.relays): its messages carry SLOT_FLAG_RELAY, as its datagrams would', async () => {
  const rings = ringSet(16);
  const rx = new TcpReceiver(['127.0.0.1:0'], 4, rings, log);
  rx.setAdmission(Admission.of(parseConfig('routing: { relays: ["127.0.0.1"] }\n')));
  const [bound] = await rx.start();
  try {
    const s = await connect(bound!.port);
    s.end(messages[0]);
    const got: Slot[] = [];
    await until(() => take(rings.ring0, got).at(-1)?.flags === SLOT_FLAG_SESSION_END);
    assert.equal(got[0]!.flags, SLOT_FLAG_RELIABLE | SLOT_FLAG_PROTECTED | SLOT_FLAG_RELAY);
  } finally {
    await rx.stop();
  }
});
