// The gateway's components, built in data-path order and stopped in reverse:
//   UdpReceiver -> PacketRing (per worker) -> worker: WasmDecoder -> TenantRouter -> RecordProducer -> Kafka
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DecoderPool, type PoolOptions } from './decoder/pool.js';
import { discardPrewarmedWorkers } from './decoder/prewarm.js';
import { UdpReceiver, type ReceiverStats } from './udp/receiver.js';
import type { AccountingTotals } from './pipeline/accounting.js';
import { fieldMask } from './decoder/wasm.js';
import { supportedCompressions } from './kafka/names.js';
import type { Config } from './config/schema.js';
import type { Logger, LogLevel } from './log.js';

/** What the `stats` and `stopped` log lines, the metrics and the tests read: receiver counters and the one accounting sum. */
export interface Accounting {
  datagrams: { received: number; dropped: ReceiverStats['dropped']; decoded: number };
  records: Omit<AccountingTotals, 'datagrams'>;
}

export interface Gateway {
  readonly config: Config;
  readonly addresses: AddressInfo[];
  readonly pool: DecoderPool;
  readonly receiver: UdpReceiver;
  accounting(): Accounting;
  /** Applies what can change while running (routing); returns what needs a restart instead. */
  reload(next: Config): string[];
  /** Stops receiving, drains the rings, flushes Kafka within kafka.flush_timeout_ms. */
  stop(): Promise<void>;
}

/** Keys that a reload cannot change: they shape sockets, threads and memory. */
const restartKeys = ['listen', 'workers', 'ring', 'decoder', 'kafka', 'spool', 'http', 'state'] as const;

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  // What the workers would refuse fails here, once, before any worker gets its configuration.
  fieldMask(config.decoder.fields.length ? config.decoder.fields : undefined);
  if (!supportedCompressions.includes(config.kafka.compression)) {
    throw new Error(`kafka.compression "${config.kafka.compression}" needs a codec this build does not include (available: ${supportedCompressions.join(', ')})`);
  }
  const pool = new DecoderPool(poolOptions(config, log));
  await pool.start();
  await discardPrewarmedWorkers();
  const receiver = new UdpReceiver(config.listen.udp, config.listen.receive_buffer_bytes, pool, log);
  let addresses: AddressInfo[];
  try {
    addresses = await receiver.start();
  } catch (err) {
    await receiver.stop();
    await pool.stop(0);
    throw err;
  }
  let current = config;
  const accounting = (): Accounting => {
    const { datagrams, ...records } = pool.accounting();
    return { datagrams: { received: receiver.stats.datagrams, dropped: { ...receiver.stats.dropped }, decoded: datagrams }, records };
  };
  const statsTimer = config.stats.log_interval_s > 0
    ? setInterval(() => log.info('stats', { ...accounting(), workerRestarts: pool.restarts }), config.stats.log_interval_s * 1000).unref()
    : undefined;
  return {
    get config() {
      return current;
    },
    addresses,
    pool,
    receiver,
    accounting,
    reload(next: Config): string[] {
      const needRestart = restartKeys.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(current[k]));
      pool.reload(next.routing);
      current = { ...current, routing: next.routing, stats: next.stats, log: next.log };
      return needRestart.map((k) => `${k}: changed, takes effect after a restart`);
    },
    async stop(): Promise<void> {
      if (statsTimer) clearInterval(statsTimer);
      await receiver.stop();
      await pool.stop(current.kafka.flush_timeout_ms);
      log.info('stopped', { ...accounting() });
    },
  };
}

/** The decoder pool a configuration asks for: worker count, rings, and what each worker starts with. */
export function poolOptions(config: Config, log: Logger): PoolOptions {
  const workers = config.workers || availableParallelism();
  const spool = config.spool;
  return {
    workers,
    ring: config.ring,
    log,
    init: {
      decoder: {
        templateLifetimeSec: config.decoder.template_lifetime_s,
        ignoreExporterPort: config.decoder.ignore_exporter_port,
        fields: config.decoder.fields.length ? config.decoder.fields : undefined,
        heldMaxBytes: config.decoder.held_max_bytes,
        heldPerTemplateBytes: config.decoder.held_per_template_bytes,
        heldMaxAgeMs: config.decoder.held_max_age_ms,
        maxTemplatesPerExporter: config.decoder.max_templates_per_exporter,
        maxSessions: config.decoder.max_sessions,
      },
      kafka: config.kafka,
      routing: config.routing,
      output: { key: config.kafka.key, records_per_message: config.kafka.records_per_message },
      // Each worker spools into a directory of its own, with an equal share of spool.max_bytes.
      spool: spool.dir === '' ? null : {
        dir: resolve(spool.dir), maxBytes: Math.floor(spool.max_bytes / workers), fsyncIntervalMs: spool.fsync_interval_ms,
        segmentBytes: spool.segment_bytes, queueHighWater: spool.queue_high_water,
      },
      logLevel: config.log.level as LogLevel,
      state: { ...config.state, workers },
    },
  };
}
