// A worker's Kafka producer, wired to the worker's accounting block and report: shared by the
// decoding worker (decoder/worker.ts) and the raw-forwarding one (scale/receive-worker.ts).
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { RecordProducer } from '../kafka/producer.js';
import { Slot } from '../pipeline/accounting.js';
import type { WorkerStats } from '../pipeline/stats.js';
import type { Logger } from '../log.js';
import type { WorkerInit } from './worker.js';

export function workerProducer(init: WorkerInit, stats: WorkerStats, acct: Float64Array, log: Logger): RecordProducer {
  const spool = init.spool ? { ...init.spool, ...spoolDirs(init.spool.dir, init.index, init.state.workers) } : null;
  return new RecordProducer({ ...init.kafka, spool }, {
    delivered(tenant, topic, records, latencyMs) {
      const key = `${tenant}\t${topic}`;
      stats.delivered[key] = (stats.delivered[key] ?? 0) + records;
      acct[Slot.delivered] += records;
      if (stats.latencyMs.length < 10_000) stats.latencyMs.push(latencyMs);
    },
    dropped(reason, tenant, records) {
      acct[Slot[reason]] += records;
      stats.droppedByTenant[tenant] = (stats.droppedByTenant[tenant] ?? 0) + records;
    },
    spooled(delta) {
      acct[Slot.spooled] += delta;
    },
    recovered(records) {
      acct[Slot.recovered] += records;
      acct[Slot.spooled] += records;
    },
    error(code) {
      stats.kafkaErrors[code] = (stats.kafkaErrors[code] ?? 0) + 1;
    },
  }, log);
}

/**
 * This worker's spool directory, and those of workers that no longer exist (the worker count went
 * down) that fall to it (worker-j for j >= workers, j mod workers = index): it replays them.
 */
function spoolDirs(parent: string, index: number, workers: number): { dir: string; adopt: string[] } {
  const adopt: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(parent);
  } catch {
    // Not there yet: the spool creates it.
  }
  for (const name of names) {
    const j = /^worker-(\d+)$/.exec(name)?.[1];
    if (j !== undefined && Number(j) >= workers && Number(j) % workers === index) adopt.push(join(parent, name));
  }
  return { dir: join(parent, `worker-${index}`), adopt };
}

/**
 * The worker's report: `stats` with the producer's figures, copied. `latency`: hand over (and
 * forget) the latency samples; only the metrics scrape takes them.
 */
export function workerReport(stats: WorkerStats, producer: RecordProducer, latency: boolean): WorkerStats {
  stats.queuedRecords = producer.queuedRecords;
  stats.queuedBytes = producer.queuedBytes;
  stats.kafkaConnected = producer.connected;
  stats.kafkaConnectError = producer.connectError;
  stats.spool = producer.spoolStats();
  const copy = structuredClone(stats);
  if (latency) stats.latencyMs.length = 0;
  else copy.latencyMs = [];
  return copy;
}

/** The worker's loop failed (a bug): what it holds in memory goes to the spool first, then the thread ends (the pool counts the rest as worker_failed). */
export function failWorker(err: unknown, producer: RecordProducer, log: Logger, beforeEvacuate?: () => void): never {
  log.error('worker failed', { error: (err as Error).stack ?? String(err) });
  try {
    beforeEvacuate?.();
    producer.evacuate();
  } catch (e) {
    log.error('worker could not spool its queue before exiting', { error: (e as Error).message });
  }
  process.exit(1);
}
