// UdpReceiver on loopback: every datagram lands in its exporter's ring with address, port and a
// receive time, and is counted, through the handle hook and through dgram's public event alike;
// a full ring and an oversized datagram are dropped and counted by reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpReceiver, type RingSet } from '../../src/udp/receiver.js';
import { PacketRing } from '../../src/ring/ring.js';
import { SLOT_FLAG_PROTECTED } from '../../src/ring/slots.js';
import { addressText } from '../../src/net/address.js';
import { createLogger } from '../../src/log.js';
import type { DatagramPath } from '../../src/udp/datagram-hook.js';
import { Admission } from '../../src/udp/admission.js';
import { parseConfig } from '../../src/config/load.js';

const log = createLogger('error', {}, () => undefined);

function ringSet(count: number, slots: number, slotBytes: number): RingSet & { rings: PacketRing[] } {
  const rings = Array.from({ length: count }, () => PacketRing.create({ slots, slotBytes }));
  return { rings, ring: (i) => rings[i]!, workerFor: (address) => address[15]! % count };
}

async function send(from: string, to: number, payloads: Buffer[]): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  for (const p of payloads) await new Promise<void>((resolve, reject) => socket.send(p, to, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const port = socket.address().port;
  socket.close();
  return port;
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

function drain(ring: PacketRing): { payload: Buffer; exporter: string; port: number; timeMs: number; protect: boolean }[] {
  const out = [];
  let slot: number;
  while ((slot = ring.peek()) !== -1) {
    const at = ring.payloadOffset(slot);
    out.push({
      payload: Buffer.from(ring.bytes.subarray(at, at + ring.payloadLength(slot))),
      exporter: addressText(ring.bytes, ring.addressOffset(slot)), port: ring.port(slot), timeMs: ring.timeMs(slot),
      protect: (ring.flags(slot) & SLOT_FLAG_PROTECTED) !== 0,
    });
    ring.release();
  }
  return out;
}

for (const path of ['handle', 'event'] as DatagramPath[]) {
  test(`datagrams reach their exporter's ring, counted (${path} path)`, async () => {
    const rings = ringSet(2, 16, 64);
    const receiver = new UdpReceiver(['127.0.0.1:0'], 1 << 20, rings, log, { datagramPath: path });
    const [bound] = await receiver.start();
    try {
      assert.deepEqual(receiver.datagramPaths, [path], 'Node 20 dgram has the handle shape the hook expects');
      const before = Date.now();
      const a = [Buffer.from('one'), Buffer.from('two'), Buffer.alloc(0)];
      const b = [Buffer.from('three')];
      const portA = await send('127.0.1.2', bound!.port, a); // workerFor: 2 % 2 = ring 0
      const portB = await send('127.0.1.3', bound!.port, b); // ring 1
      await until(() => receiver.stats.datagrams === 4);
      assert.equal(receiver.stats.bytes, 3 + 3 + 0 + 5);
      const got0 = drain(rings.rings[0]!);
      const got1 = drain(rings.rings[1]!);
      assert.deepEqual(got0.map((d) => d.payload.toString()), ['one', 'two', '']);
      assert.deepEqual(got1.map((d) => d.payload.toString()), ['three']);
      for (const d of got0) assert.deepEqual([d.exporter, d.port], ['127.0.1.2', portA]);
      assert.deepEqual([got1[0]!.exporter, got1[0]!.port], ['127.0.1.3', portB]);
      for (const d of [...got0, ...got1]) assert.ok(d.timeMs >= before - 1 && d.timeMs <= Date.now() + 1, 'stamped with the receive time');
      assert.deepEqual(receiver.stats.dropped, { ring_full: 0, too_large: 0, not_allowed: 0, rate_limited: 0 });
    } finally {
      await receiver.stop();
    }
  });
}

test('a full ring and a datagram longer than a slot are dropped and counted, the others kept', async () => {
  const rings = ringSet(1, 2, 8);
  const receiver = new UdpReceiver(['127.0.0.1:0'], 1 << 20, rings, log);
  const [bound] = await receiver.start();
  try {
    await send('127.0.1.4', bound!.port, [Buffer.from('a'), Buffer.alloc(9, 1), Buffer.from('b'), Buffer.from('c'), Buffer.from('d')]);
    await until(() => receiver.stats.datagrams === 5);
    assert.deepEqual(receiver.stats.dropped, { ring_full: 2, too_large: 1, not_allowed: 0, rate_limited: 0 });
    assert.deepEqual(drain(rings.rings[0]!).map((d) => d.payload.toString()), ['a', 'b']);
  } finally {
    await receiver.stop();
  }
});

test('a source the admission rules refuse is counted not_allowed and never reaches a ring; a new rule set applies at once', async () => {
  const rings = ringSet(1, 16, 64);
  const receiver = new UdpReceiver(['127.0.0.1:0'], 1 << 20, rings, log);
  receiver.setAdmission(new Admission(['127.0.1.5'], null));
  const [bound] = await receiver.start();
  try {
    await send('127.0.1.5', bound!.port, [Buffer.from('in')]);
    await send('127.0.1.6', bound!.port, [Buffer.from('out'), Buffer.from('out')]);
    await until(() => receiver.stats.datagrams === 3);
    assert.deepEqual(receiver.stats.dropped, { ring_full: 0, too_large: 0, not_allowed: 2, rate_limited: 0 });
    assert.deepEqual(drain(rings.rings[0]!).map((d) => [d.exporter, d.payload.toString()]), [['127.0.1.5', 'in']]);
    receiver.setAdmission(null); // a reload that lets every source in: the cached refusal is forgotten
    await send('127.0.1.6', bound!.port, [Buffer.from('now')]);
    await until(() => receiver.stats.datagrams === 4);
    assert.deepEqual(drain(rings.rings[0]!).map((d) => [d.exporter, d.payload.toString()]), [['127.0.1.6', 'now']]);
  } finally {
    await receiver.stop();
  }
});

test('each datagram\'s ring slot says whether its exporter is protected (a tenant\'s or on the allow list), also with no admission rule; a reload changes it', async () => {
  const rings = ringSet(1, 16, 64);
  const receiver = new UdpReceiver(['127.0.0.1:0'], 1 << 20, rings, log);
  const tenantsOf = (exporter: string) => Admission.of(parseConfig(`routing: { tenants: [{ name: acme, topic: flows.acme, exporters: ["${exporter}"] }] }\n`));
  receiver.setAdmission(tenantsOf('127.0.1.7'));
  const [bound] = await receiver.start();
  try {
    await send('127.0.1.7', bound!.port, [Buffer.from('tenant')]);
    await send('127.0.1.8', bound!.port, [Buffer.from('stranger')]);
    await until(() => receiver.stats.datagrams === 2);
    assert.deepEqual(drain(rings.rings[0]!).map((d) => [d.exporter, d.payload.toString(), d.protect]),
      [['127.0.1.7', 'tenant', true], ['127.0.1.8', 'stranger', false]]);
    receiver.setAdmission(tenantsOf('127.0.1.8')); // a reload: the exporter changed hands
    await send('127.0.1.7', bound!.port, [Buffer.from('tenant')]);
    await send('127.0.1.8', bound!.port, [Buffer.from('stranger')]);
    await until(() => receiver.stats.datagrams === 4);
    assert.deepEqual(drain(rings.rings[0]!).map((d) => [d.exporter, d.protect]), [['127.0.1.7', false], ['127.0.1.8', true]]);
    receiver.setAdmission(new Admission(['127.0.1.7'], null)); // an allow list protects too
    await send('127.0.1.7', bound!.port, [Buffer.from('allowed')]);
    await until(() => receiver.stats.datagrams === 5);
    assert.deepEqual(drain(rings.rings[0]!).map((d) => [d.exporter, d.protect]), [['127.0.1.7', true]]);
    assert.equal(receiver.stats.dropped.not_allowed, 0);
  } finally {
    await receiver.stop();
  }
});
