// Shared helpers for the baseline benchmarks (bench/baselines/): fresh
// topics with broker append times, and counting and scanning what reached a topic. Only 127.0.0.0/8 or ::1 brokers are accepted.
import kafkajs from 'kafkajs';
import { splitHostPort } from '../../src/config/addresses.js';
import { topicCounts } from '../../test/support/kafka-topics.js';
import { isLoopback } from '../lib/loopback.js';

// kafkajs is CommonJS: Node's ESM loader does not see all of its exports by name.
const { Kafka, logLevel } = kafkajs;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Refuses anything but loopback brokers: these benchmarks never send traffic elsewhere. */
export function loopbackBrokers(bootstrap: string): string[] {
  const brokers = bootstrap.split(',').map((s) => s.trim()).filter(Boolean);
  if (brokers.length === 0) throw new Error('empty bootstrap');
  for (const b of brokers) {
    if (!isLoopback(splitHostPort(b, true).host, true)) {
      throw new Error(`broker ${b} is not on 127.0.0.0/8 or ::1: refused`);
    }
  }
  return brokers;
}

function client(bootstrap: string, clientId = 'flowgate-baseline') {
  return new Kafka({ brokers: loopbackBrokers(bootstrap), clientId, logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

/**
 * Creates a new topic (fails if it exists: every run wants an empty one). With logAppendTime the broker
 * stamps each batch with its append time (message.timestamp.type=LogAppendTime), which is what
 * "when did the record reach Kafka" means.
 */
export async function createFreshTopic(
  bootstrap: string,
  topic: string,
  opts: { partitions?: number; logAppendTime?: boolean } = {},
): Promise<void> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) throw new Error(`topic ${topic} already exists: use a fresh name`);
    const configEntries = opts.logAppendTime ? [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] : [];
    const ok = await admin.createTopics({
      topics: [{ topic, numPartitions: opts.partitions ?? 1, replicationFactor: 1, configEntries }],
      waitForLeaders: true,
    });
    if (!ok) throw new Error(`topic ${topic} was not created`);
  } finally {
    await admin.disconnect();
  }
}

/** Messages in a topic (sum over partitions of high - low watermark); 0 when it does not exist. */
export async function topicMessageCount(bootstrap: string, topic: string): Promise<number> {
  return (await topicCounts(loopbackBrokers(bootstrap), [topic]))[topic]!;
}

/** A long-lived admin connection for polling a topic's message count cheaply. */
export async function offsetPoller(bootstrap: string, topic: string) {
  const admin = client(bootstrap).admin();
  await admin.connect();
  return {
    count: async () => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
    close: () => admin.disconnect(),
  };
}

export interface TopicScan {
  messages: number;
  /** JSON records: each non-empty line of a message that parses as a JSON object (a message may batch several). */
  records: number;
  /** Lines that were not a JSON object (counted, not records). */
  bad_lines: number;
  /** Records / messages at offsets < splitOffset (partition 0 only is supported for the split). */
  records_before_split: number;
  messages_before_split: number;
  /** Broker timestamps (LogAppendTime on topics created with logAppendTime), epoch ms. */
  first_ts: number | null;
  last_ts_before_split: number | null;
  last_ts: number | null;
}

/**
 * Reads every message of a single-partition topic from offset 0 up to its current end, counting JSON
 * records per line. `accept(obj)` decides whether a parsed object is a record (default: any object).
 */
export async function scanTopic(
  bootstrap: string,
  topic: string,
  opts: { splitOffset?: number; accept?: (o: Record<string, unknown>) => boolean; timeoutMs?: number } = {},
): Promise<TopicScan> {
  const kafka = client(bootstrap, 'flowgate-baseline-scan');
  const end = await topicMessageCount(bootstrap, topic);
  const split = opts.splitOffset ?? Number.MAX_SAFE_INTEGER;
  const accept = opts.accept ?? (() => true);
  const out: TopicScan = {
    messages: 0, records: 0, bad_lines: 0, records_before_split: 0, messages_before_split: 0,
    first_ts: null, last_ts_before_split: null, last_ts: null,
  };
  if (end === 0) return out;
  const consumer = kafka.consumer({
    groupId: `flowgate-baseline-${process.pid}-${Date.now()}`,
    maxBytes: 64 << 20,
    maxBytesPerPartition: 32 << 20,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`scan of ${topic} timed out after ${out.messages}/${end} messages`)),
        opts.timeoutMs ?? 600_000,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const off = Number(m.offset);
              const ts = Number(m.timestamp);
              const before = off < split;
              out.messages++;
              if (before) out.messages_before_split++;
              const text = m.value ? m.value.toString('utf8') : '';
              for (const line of text.split('\n')) {
                if (!line.trim()) continue;
                let obj: unknown;
                try {
                  obj = JSON.parse(line);
                } catch {
                  out.bad_lines++;
                  continue;
                }
                if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
                  out.bad_lines++;
                  continue;
                }
                if (!accept(obj as Record<string, unknown>)) continue;
                out.records++;
                if (before) out.records_before_split++;
              }
              if (out.first_ts === null || ts < out.first_ts) out.first_ts = ts;
              if (out.last_ts === null || ts > out.last_ts) out.last_ts = ts;
              if (before && (out.last_ts_before_split === null || ts > out.last_ts_before_split)) out.last_ts_before_split = ts;
              if (out.messages >= end) {
                clearTimeout(timer);
                resolve();
                return;
              }
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
