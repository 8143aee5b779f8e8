// A worker in role receive: drains its ring and writes each datagram, as received, to the raw
// topic (raw-message.ts), keyed by exporter, an exporter's datagrams of scale.raw_linger_ms in one message. No decoder, no templates: the decoders (role decode)
// do that from the raw topic. The producer, its spool and the accounting are the decoding
// worker's (one raw message = one record of tenant RAW_TENANT): a broker outage spools.
import { parentPort } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { PacketRing } from '../ring/ring.js';
import { SLOT_FLAG_RELIABLE, SLOT_FLAG_SESSION_END } from '../ring/slots.js';
import { createLogger } from '../log.js';
import { addressText } from '../net/address.js';
import { encodeHeaders } from '../kafka/protocol/record-batch.js';
import { workerAccounting, Slot } from '../pipeline/accounting.js';
import type { WorkerStats } from '../pipeline/stats.js';
import { workerProducer, workerReport, failWorker } from '../decoder/worker-producer.js';
import { runRing } from '../decoder/ring-loop.js';
import type { WorkerInit, ToWorker, FromWorker } from '../decoder/worker.js';
import { RAW_ENTRY_BYTES, RAW_FLAG_RELIABLE, RAW_FLAG_SESSION_END, RAW_HEADER_BYTES, RAW_MAX_DATAGRAMS, RAW_MESSAGE_BYTES, RAW_SCHEMA, appendRawDatagram,
  startRawMessage } from './raw-message.js';

/** The tenant label of raw messages in the accounting and metrics. */
export const RAW_TENANT = '_raw';

export function startReceiveWorker(init: WorkerInit): void {
  const port = parentPort!;
  const log = createLogger(init.logLevel, { worker: init.index, role: 'receive' });
  const ring = PacketRing.attach(init.ring);
  // Datagrams wait for scale.raw_linger_ms in their raw message anyway: the ring is looked at as
  // often (a lingering message counts from its first datagram's receipt, so the wait does not add).
  ring.lightPollMs = Math.max(1, init.scale.rawLingerMs);
  const ringBytes = Buffer.from(init.ring);
  const acct = workerAccounting(init.accounting, init.index);
  const stats: WorkerStats = {
    worker: init.index, incarnation: randomUUID(), decoder: emptyCounters(), decodedByTenant: {}, delivered: {},
    droppedByTenant: {}, queuedRecords: 0, queuedBytes: 0, kafkaConnected: false, kafkaConnectError: null, kafkaErrors: {}, latencyMs: [], spool: null,
    stateFilesRejected: {},
  };
  const producer = workerProducer(init, stats, acct, log);
  const topic = init.scale.rawTopic;
  producer.start([topic]);
  const headers = encodeHeaders({ schema: RAW_SCHEMA, receiver: init.scale.instanceId });
  // Per exporter, one open message gathering its datagrams (raw-message.ts) until it is
  // scale.raw_linger_ms old or full; then it is copied into its Kafka batch and its buffer serves
  // the next one: no allocation per datagram.
  interface OpenMessage { exporter: string; key: Buffer; buffer: Buffer; length: number; datagrams: number; entries: number; openedAt: number; firstReceivedAt: number }
  const open = new Map<string, OpenMessage>();
  const spare: Buffer[] = [];
  const capacity = Math.max(RAW_MESSAGE_BYTES, RAW_HEADER_BYTES + ring.slotBytes);
  const lingerMs = init.scale.rawLingerMs;
  const keys = new Map<string, Buffer>();
  const lastAddress = Buffer.alloc(16, 0xff);
  let exporter = '';
  let key: Buffer = Buffer.alloc(0);
  let raw = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (m: OpenMessage): void => {
    open.delete(m.exporter);
    producer.append(topic, RAW_TENANT, m.key, m.key.length, m.buffer, 0, m.length, headers, m.datagrams, m.firstReceivedAt);
    if (spare.length < 64) spare.push(m.buffer);
  };
  /** Sends the messages `lingerMs` old (all with `all`); re-arms the timer for the rest. */
  const flushDue = (all: boolean): void => {
    const now = Date.now();
    let next = Infinity;
    for (const m of open.values()) {
      if (all || now - m.openedAt >= lingerMs) flush(m);
      else next = Math.min(next, m.openedAt + lingerMs - now);
    }
    clearTimeout(timer);
    timer = next === Infinity ? undefined : setTimeout(() => flushDue(false), Math.max(1, next));
  };

  const handle = (slot: number): void => {
    // IPFIX over TCP: the entry says so (RAW_FLAG_RELIABLE), and a connection's end travels as an
    // entry of its own after the exporter's last message, for the decoder's sessions; it is no
    // datagram: not counted (a raw message holding only such an entry carries 0 records).
    const slotFlags = ring.flags(slot);
    const ended = (slotFlags & SLOT_FLAG_SESSION_END) !== 0;
    const transportFlags = ended ? RAW_FLAG_SESSION_END : (slotFlags & SLOT_FLAG_RELIABLE) !== 0 ? RAW_FLAG_RELIABLE : 0;
    const addressOffset = ring.addressOffset(slot);
    if (ringBytes.compare(lastAddress, 0, 16, addressOffset, addressOffset + 16) !== 0) {
      exporter = addressText(ringBytes, addressOffset);
      let k: Buffer | undefined = keys.get(exporter);
      if (!k) {
        if (keys.size > 100_000) keys.clear();
        keys.set(exporter, (k = Buffer.from(exporter)));
      }
      key = k;
      ringBytes.copy(lastAddress, 0, addressOffset, addressOffset + 16);
    }
    const now = ring.timeMs(slot);
    const length = ended ? 0 : ring.payloadLength(slot);
    const counted = ended ? 0 : 1;
    acct[Slot.datagrams] += counted;
    acct[Slot.decoded] += counted;
    raw += counted;
    let m = open.get(exporter);
    if (m && (m.length + RAW_ENTRY_BYTES + length > capacity || m.entries === RAW_MAX_DATAGRAMS)) {
      flush(m);
      m = undefined;
    }
    if (!m) {
      const buffer = spare.pop() ?? Buffer.allocUnsafe(capacity);
      m = { exporter, key, buffer, length: startRawMessage(buffer), datagrams: 0, entries: 0, openedAt: Math.min(now, Date.now()), firstReceivedAt: now };
      open.set(exporter, m);
      if (lingerMs === 0) {
        m.length = appendRawDatagram(buffer, m.length, ringBytes, ring.payloadOffset(slot), length, ringBytes, addressOffset, ring.port(slot), now, transportFlags);
        m.datagrams = counted;
        m.entries = 1;
        flush(m);
        return;
      }
      timer ??= setTimeout(() => flushDue(false), lingerMs);
    }
    m.length = appendRawDatagram(m.buffer, m.length, ringBytes, ring.payloadOffset(slot), length, ringBytes, addressOffset, ring.port(slot), now, transportFlags);
    m.datagrams += counted;
    m.entries++;
  };

  const snapshot = (latency: boolean): WorkerStats => {
    stats.decodedByTenant[RAW_TENANT] = raw;
    return workerReport(stats, producer, latency);
  };

  let stopping: number | undefined;
  const run = async (): Promise<void> => {
    await runRing(ring, {
      handle,
      pauseReplay: (paused) => (producer.replayPaused = paused),
      afterBatch: () => undefined,
      idle: () => undefined,
      stopping: () => stopping !== undefined,
    });
    flushDue(true);
    await producer.close(stopping);
    port.postMessage({ type: 'stopped', stats: snapshot(true) } satisfies FromWorker);
    port.close();
  };

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'stats') port.postMessage({ type: 'stats', id: msg.id, stats: snapshot(msg.latency) } satisfies FromWorker);
    else if (msg.type === 'stop') stopping = msg.flushTimeoutMs;
    else if (msg.type === 'describe') port.postMessage({ type: 'describe', id: msg.id, exporters: [], templates: [] } satisfies FromWorker);
    else if (msg.type === 'templates') port.postMessage({ type: 'templates', id: msg.id, sessions: 0, rejected: 0 } satisfies FromWorker);
    // reload (routing) and tap: nothing to route or show before decoding
  });
  port.postMessage({ type: 'ready', index: init.index } satisfies FromWorker);
  // Failing, what the open messages hold goes to the producer first (and from it to the spool).
  run().catch((err: unknown) => failWorker(err, producer, log, () => flushDue(true)));
}

/** A receive worker has no decoder: its report's decoder counters stay at zero. */
function emptyCounters(): WorkerStats['decoder'] {
  return { statuses: [], packets: 0, packetsByVersion: { 5: 0, 9: 0, 10: 0 }, records: 0, optionsRecords: 0, templatesDefined: 0, templatesRefreshed: 0,
    templatesWithdrawn: 0, templatesExpired: 0, heldSetsReleased: 0, heldRecordsReleased: 0, sequenceLostRecords: 0, exporterRestarts: 0, sessionsExpired: 0, sessionsEvicted: 0, transportSessionsEnded: 0,
    relayStated: 0, relayNoStatedExporter: 0, relayTableFull: 0,
    optionsRecordsWritten: 0, namesLearnt: 0, namesRefused: { exporter_limit: 0, table_full: 0 }, names: 0,
    heldBytesExpired: 0, withdrawalsIgnored: 0, withdrawalsApplied: 0, sequenceOutOfWindow: 0, sequenceResets: 0, templates: 0, sessions: 0, heldBytes: 0, heldSets: 0 };
}
