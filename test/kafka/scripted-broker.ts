// A scripted broker for the producer's and the sender's tests: one partition, a log of the
// records written, and Kafka's sequence checks (the next batch must start at the last sequence
// + 1; a resend of one of the last five batches is a duplicate, acknowledged and not written
// again). Faults are injected per request number.
import { createRequire } from 'node:module';
import type { PartitionResult, ProduceClient, ProduceTopic } from '../../src/kafka/client.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  producerId: string; producerEpoch: number; firstSequence: number; records: { value: Buffer }[];
}>;

export type Fault = 'none' | 'fail-before-write' | 'lose-response' | 'NOT_LEADER_OR_FOLLOWER' | 'forget-producer' | 'TOPIC_AUTHORIZATION_FAILED';

export class ScriptedBroker implements ProduceClient {
  connected = false;
  readonly log: string[] = [];
  requests = 0;
  /** Produce requests received and not answered yet, now and at most. */
  outstanding = 0;
  maxOutstanding = 0;
  #producerIds = 0n;
  #state = new Map<bigint, { epoch: number; next: number; recent: { seq: number; count: number }[] }>();
  constructor(readonly fault: (request: number) => Fault, readonly delayMs = 1, readonly reachable = true) {}

  async connect(): Promise<void> {
    if (!this.reachable) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    this.connected = true;
  }
  async loadTopics(): Promise<void> {}
  partitionCount(): number {
    return 1;
  }
  leaderOf(): number {
    return 1;
  }
  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const id = ++this.#producerIds;
    this.#state.set(id, { epoch: 0, next: 0, recent: [] });
    return { producerId: id, producerEpoch: 0 };
  }
  async disconnect(): Promise<void> {
    this.connected = false;
  }

  async produce(node: number, acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]> {
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    try {
      return await this.#produce(node, acks, topics);
    } finally {
      this.outstanding--;
    }
  }

  async #produce(_node: number, _acks: number, topics: ProduceTopic[]): Promise<PartitionResult[]> {
    const n = this.requests++;
    const fault = this.fault(n);
    const batch = topics[0]!.partitions[0]!.batch;
    const copy = Buffer.from(batch); // as the wire would: the producer may reuse its buffer later
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (fault === 'fail-before-write') throw Object.assign(new Error('connection reset'), { name: 'KafkaJSConnectionError' });
    const result = (type: string): PartitionResult[] => [{ topic: topics[0]!.topic, partition: 0, errorCode: type === 'NONE' ? 0 : 1, type, retriable: type === 'NOT_LEADER_OR_FOLLOWER' }];
    if (fault === 'NOT_LEADER_OR_FOLLOWER' || fault === 'TOPIC_AUTHORIZATION_FAILED') return result(fault);
    if (fault === 'forget-producer') this.#state.clear();
    const decoded = await decodeBatch(new Decoder(copy));
    const state = this.#state.get(BigInt(decoded.producerId));
    if (!state) return result('UNKNOWN_PRODUCER_ID');
    const seq = decoded.firstSequence;
    if (state.recent.some((r) => r.seq === seq && r.count === decoded.records.length)) return result('DUPLICATE_SEQUENCE_NUMBER');
    if (seq !== state.next) return result('OUT_OF_ORDER_SEQUENCE_NUMBER');
    for (const r of decoded.records) this.log.push(r.value.toString());
    state.next += decoded.records.length;
    state.recent = [...state.recent, { seq, count: decoded.records.length }].slice(-5);
    if (fault === 'lose-response') throw Object.assign(new Error('request timed out'), { name: 'KafkaJSRequestTimeoutError' });
    return result('NONE');
  }
}

