// A worker in role receive: drains its ring and writes each datagram, as received, to the raw
// topic (raw-message.ts), keyed by exporter. No decoder, no templates: the decoders (role decode)
// do that from the raw topic. The producer, its spool and the accounting are the decoding
// worker's (one raw message = one record of tenant RAW_TENANT): a broker outage spools.
import { parentPort } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { PacketRing } from '../ring/ring.js';
import { createLogger } from '../log.js';
import { addressText } from '../net/address.js';
import { encodeHeaders } from '../kafka/protocol/record-batch.js';
import { workerAccounting, Slot } from '../pipeline/accounting.js';
import type { WorkerStats } from '../pipeline/stats.js';
import { workerProducer, workerReport, failWorker } from '../decoder/worker-producer.js';
import { runRing } from '../decoder/ring-loop.js';
import type { WorkerInit, ToWorker, FromWorker } from '../decoder/worker.js';
import { RAW_HEADER_BYTES, RAW_SCHEMA, writeRawMessage } from './raw-message.js';
import { workerProgress, Cell } from './progress.js';

/** The tenant label of raw messages in the accounting and metrics. */
export const RAW_TENANT = '_raw';

export function startReceiveWorker(init: WorkerInit): void {
  const port = parentPort!;
  const log = createLogger(init.logLevel, { worker: init.index, role: 'receive' });
  const ring = PacketRing.attach(init.ring);
  const ringBytes = Buffer.from(init.ring);
  const acct = workerAccounting(init.accounting, init.index);
  const progress = workerProgress(init.progress, init.index);
  progress[Cell.INCARNATION]++;
  const stats: WorkerStats = {
    worker: init.index, incarnation: randomUUID(), decoder: emptyCounters(), decodedByTenant: {}, delivered: {},
    droppedByTenant: {}, queuedRecords: 0, queuedBytes: 0, kafkaConnected: false, kafkaErrors: {}, latencyMs: [], spool: null,
    stateFilesRejected: {},
  };
  const producer = workerProducer(init, stats, acct, log);
  const topic = init.scale.rawTopic;
  producer.start([topic]);
  const headers = encodeHeaders({ schema: RAW_SCHEMA, receiver: init.scale.instanceId });
  // One message is framed here, then copied into its Kafka batch: nothing allocated per datagram.
  const message = Buffer.alloc(RAW_HEADER_BYTES + ring.slotBytes);
  const keys = new Map<string, Buffer>();
  const lastAddress = Buffer.alloc(16, 0xff);
  let key: Buffer = Buffer.alloc(0);
  let raw = 0;

  const handle = (slot: number): void => {
    const addressOffset = ring.addressOffset(slot);
    if (ringBytes.compare(lastAddress, 0, 16, addressOffset, addressOffset + 16) !== 0) {
      const text = addressText(ringBytes, addressOffset);
      let k: Buffer | undefined = keys.get(text);
      if (!k) {
        if (keys.size > 100_000) keys.clear();
        keys.set(text, (k = Buffer.from(text)));
      }
      key = k;
      ringBytes.copy(lastAddress, 0, addressOffset, addressOffset + 16);
    }
    const now = ring.timeMs(slot);
    const length = writeRawMessage(message, ringBytes, ring.payloadOffset(slot), ring.payloadLength(slot), ringBytes, addressOffset, ring.port(slot), now);
    acct[Slot.datagrams]++;
    acct[Slot.decoded]++;
    raw++;
    producer.append(topic, RAW_TENANT, key, key.length, message, 0, length, headers, 1, now);
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
      afterBatch: () => {
        progress[Cell.TAKEN] = raw;
        progress[Cell.SETTLED] = raw;
      },
      idle: () => undefined,
      stopping: () => stopping !== undefined,
    });
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
  run().catch((err: unknown) => failWorker(err, producer, log));
}

/** A receive worker has no decoder: its report's decoder counters stay at zero. */
function emptyCounters(): WorkerStats['decoder'] {
  return { statuses: [], packets: 0, packetsByVersion: { 5: 0, 9: 0, 10: 0 }, records: 0, optionsRecords: 0, templatesDefined: 0, templatesRefreshed: 0,
    templatesWithdrawn: 0, templatesExpired: 0, heldSetsReleased: 0, heldRecordsReleased: 0, sequenceLostRecords: 0, exporterRestarts: 0, sessionsExpired: 0,
    heldBytesExpired: 0, templates: 0, sessions: 0, heldBytes: 0, heldSets: 0 };
}
