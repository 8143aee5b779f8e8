// Topics a benchmark makes and reads itself: a topic whose records carry the broker's append
// time (message.timestamp.type LogAppendTime, so a record's timestamp says when it reached Kafka,
// whoever produced it), its end offset, the append times of its records, and the clean-up of the
// topics and consumer groups a run leaves behind (the shared broker's disk is not ours to fill).
import kafkajs from 'kafkajs';
import { KafkaClient } from '../../src/kafka/client.js';
import { createLogger } from '../../src/log.js';

const { Kafka, logLevel } = kafkajs;

const admin = (brokers: string) => new Kafka({ brokers: [brokers], clientId: 'flowgate-bench', logLevel: logLevel.NOTHING }).admin();

async function withAdmin<T>(brokers: string, fn: (a: ReturnType<typeof admin>) => Promise<T>): Promise<T> {
  const a = admin(brokers);
  await a.connect();
  try {
    return await fn(a);
  } finally {
    await a.disconnect();
  }
}

/** A topic whose records are stamped with the broker's append time (ms). */
export function createAppendTimeTopic(brokers: string, topic: string, partitions = 1): Promise<void> {
  return withAdmin(brokers, async (a) => {
    await a.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
      waitForLeaders: true,
    });
  });
}

/** Deletes the topics (those that exist) and the consumer groups (those that exist); errors only logged by the caller. */
export function deleteTopicsAndGroups(brokers: string, topics: string[], groups: string[]): Promise<void> {
  return withAdmin(brokers, async (a) => {
    const existing = new Set(await a.listTopics());
    const gone = topics.filter((t) => existing.has(t));
    if (gone.length) await a.deleteTopics({ topics: gone, timeout: 30_000 });
    if (groups.length) await a.deleteGroups(groups).catch(() => undefined); // a group that never committed does not exist
  });
}

/** Sum of the partitions' end offsets (messages ever written), 0 for a topic not there yet. */
export function endOffset(brokers: string, topic: string): Promise<number> {
  return withAdmin(brokers, async (a) => {
    if (!(await a.listTopics()).includes(topic)) return 0;
    return (await a.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  });
}

/** Partition 0's first offset whose timestamp is at or after `ms` (its end offset when none is). */
export function offsetAtTime(brokers: string, topic: string, ms: number): Promise<number> {
  return withAdmin(brokers, async (a) => {
    const r = await a.fetchTopicOffsetsByTimestamp(topic, ms);
    const o = Number(r.find((p) => p.partition === 0)?.offset ?? -1);
    return o >= 0 ? o : Number((await a.fetchTopicOffsets(topic)).find((p) => p.partition === 0)?.high ?? 0);
  });
}

/**
 * A reader of one single-partition topic's record timestamps (the append times of a
 * LogAppendTime topic), kept connected for repeated polls.
 */
export class TopicTimes {
  readonly #client: KafkaClient;
  readonly #topic: string;
  #connected = false;

  constructor(brokers: string, topic: string) {
    this.#client = new KafkaClient({ brokers: [brokers], client_id: 'flowgate-bench', request_timeout_ms: 30_000, connection_timeout_ms: 3_000, retries: 5, ssl: false, sasl: null },
      createLogger('error'));
    this.#topic = topic;
  }

  async #connect(): Promise<void> {
    if (this.#connected) return;
    await this.#client.connect();
    await this.#client.loadTopics([this.#topic]);
    this.#connected = true;
  }

  /** Partition 0's end offset. */
  async end(): Promise<number> {
    await this.#connect();
    return Number((await this.#client.endOffsets(this.#topic)).get(0) ?? 0n);
  }

  /** Timestamps of partition 0's records from `from` (inclusive) to `to` (exclusive; default its end now), in offset order. */
  async times(from: number, to?: number): Promise<number[]> {
    await this.#connect();
    const until = to ?? (await this.end());
    const out: number[] = [];
    let at = BigInt(from);
    while (at < BigInt(until)) {
      const p = await this.#client.fetch(this.#topic, 0, at, 8 << 20);
      const messages = p.messages as { offset: string; timestamp?: string }[];
      if (messages.length === 0) break;
      for (const m of messages) {
        const o = BigInt(m.offset);
        if (o < at) continue;
        if (o >= BigInt(until)) break;
        out.push(Number(m.timestamp));
      }
      at = BigInt(messages.at(-1)!.offset) + 1n;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#client.disconnect();
  }
}
