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
