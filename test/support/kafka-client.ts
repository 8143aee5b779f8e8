// FlowGate's own Kafka client (src/kafka/client.ts) against the test broker, for the protocol tests.
import type { KafkaClient } from '../../src/kafka/client.js';

/** Connects `client` and waits until partition 0 of `topic` has a leader; returns the leader's node id. */
export async function connectedLeader(client: KafkaClient, topic: string): Promise<number> {
  await client.connect();
  for (let i = 0; i < 50; i++) {
    await client.loadTopics([topic]).catch(() => undefined);
    const leader = client.leaderOf(topic, 0);
    if (client.partitionCount(topic) > 0 && leader >= 0) return leader;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no leader for ${topic}`);
}

/**
 * A producer id from `client`, asked again while the broker answers with a retriable error (a
 * freshly started broker's transaction coordinator is still loading: COORDINATOR_LOAD_IN_PROGRESS),
 * as the sender does (src/kafka/sender.ts); any other error is thrown.
 */
export async function producerId(client: KafkaClient): Promise<{ producerId: bigint; producerEpoch: number }> {
  for (let i = 0; ; i++) {
    try {
      return await client.initProducerId();
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true || i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
