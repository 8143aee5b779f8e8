// The scale-out topics, created when missing: the raw topic with scale.raw_partitions partitions
// (auto-creation would give the broker's num.partitions, often 1: one decoder), the template
// topic compacted (auto-creation would make it a delete-policy topic that loses templates after
// retention). An existing topic is used as it is; one that is not compacted is warned about.
import type { Kafka } from 'kafkajs';
import type { Logger } from '../log.js';

export interface ScaleTopics {
  raw: string | null;
  rawPartitions: number;
  templates: string | null;
}

export async function ensureScaleTopics(kafka: Kafka, topics: ScaleTopics, log: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const create: { topic: string; numPartitions: number; configEntries?: { name: string; value: string }[] }[] = [];
    if (topics.raw && !existing.has(topics.raw)) create.push({ topic: topics.raw, numPartitions: topics.rawPartitions });
    if (topics.templates && !existing.has(topics.templates)) {
      create.push({ topic: topics.templates, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] });
    }
    if (create.length > 0) {
      try {
        await admin.createTopics({ topics: create, waitForLeaders: true });
        log.info('scale topics created', { topics: create.map((t) => ({ topic: t.topic, partitions: t.numPartitions, compacted: t.configEntries !== undefined })) });
      } catch (err) {
        // Another instance may have created them at the same moment; a broker that refuses says why.
        if (!/already exists/i.test((err as Error).message)) throw err;
      }
    }
    if (topics.templates && existing.has(topics.templates)) {
      const r = await admin.describeConfigs({ resources: [{ type: 2, name: topics.templates, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      const policy = r.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? '';
      if (!policy.includes('compact')) {
        log.warn('template topic is not compacted: its templates will be deleted with the retention, not kept per key', { topic: topics.templates, cleanupPolicy: policy,
          fix: `kafka-configs --alter --entity-type topics --entity-name ${topics.templates} --add-config cleanup.policy=compact` });
      }
    }
  } finally {
    await admin.disconnect();
  }
}
