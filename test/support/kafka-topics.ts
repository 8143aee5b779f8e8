// Reading what the gateway produced, with kafkajs, from a test broker: fresh topic names,
// message counts, and every message of a topic with its key and headers.
import kafkajs from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { kafkajsConsumerCodecs } from '../../src/kafka/protocol/compression.js';

const { Kafka, logLevel, CompressionCodecs } = kafkajs;
/** Codec ids (batch attributes) of the batches this process has decompressed: which codec a topic was written with. */
export const codecsRead = new Set<number>();
// The gateway may compress with any codec; kafkajs has only gzip (the same table FlowGate's own consumers use).
for (const [id, codec] of kafkajsConsumerCodecs()) {
  (CompressionCodecs as Record<number, unknown>)[id] = () => {
    codecsRead.add(id);
    return codec();
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function uniqueTopic(prefix: string): string {
  return `${prefix}.${randomBytes(4).toString('hex')}`;
}

/**
 * Message counts per topic (sum of partition high watermarks); 0 for a topic that does not exist.
 * Retries errors the broker calls retriable (a broker that just started has no leaders yet).
 * `written`: every message ever appended (the high watermarks alone), also those the broker's
 * retention (log.retention.bytes) has deleted since; else the messages it still holds.
 */
export async function topicCounts(brokers: string[], topics: string[], timeoutMs = 15_000, o: { written?: boolean } = {}): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await countOnce(brokers, topics, o.written ?? false);
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

async function countOnce(brokers: string[], topics: string[], written: boolean): Promise<Record<string, number>> {
  const admin = new Kafka({ brokers, clientId: 'flowgate-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const out: Record<string, number> = {};
    for (const t of topics) {
      if (!existing.has(t)) {
        out[t] = 0;
        continue;
      }
      const offsets = await admin.fetchTopicOffsets(t);
      out[t] = offsets.reduce((n, p) => n + Number(p.high) - (written ? 0 : Number(p.low)), 0);
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

export interface Consumed {
  value: string;
  /** The value's bytes (binary values: kafka.format protobuf). */
  bytes: Buffer;
  key: string | null;
  headers: Record<string, string>;
  partition: number;
}

/** Creates `topic` with `partitions` partitions. */
export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'flowgate-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Waits until `topic` holds at least `expected` messages (it may not exist yet); returns the count seen last. */
export async function waitForCount(brokers: string[], topic: string, expected: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < deadline) {
    n = (await topicCounts(brokers, [topic]))[topic]!;
    if (n >= expected) return n;
    await sleep(200);
  }
  return n;
}

/** Reads every message of `topic` from the beginning, once it holds `expected` (or the timeout passed). */
export async function readTopic(brokers: string[], topic: string, expected: number, timeoutMs = 30_000): Promise<Consumed[]> {
  if ((await waitForCount(brokers, topic, expected, timeoutMs)) === 0) return [];
  const kafka = new Kafka({ brokers, clientId: 'flowgate-test', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `flowgate-test-${randomBytes(4).toString('hex')}` });
  const got: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          got.push({ value: message.value?.toString() ?? '', bytes: message.value ?? Buffer.alloc(0), key: message.key?.toString() ?? null, headers, partition });
          if (got.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}
