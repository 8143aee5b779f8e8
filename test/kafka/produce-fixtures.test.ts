// FlowGate's Produce encoding and response handling against bytes captured from a real broker's
// traffic (test/kafka/fixtures/README.md): from the recorded inputs, the encoder must give the
// request byte for byte, and the captured responses must read as the broker meant them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '../support/paths.js';
import { BATCH_HEADER_BYTES, BatchBuilder, encodeHeaders, sealBatch } from '../../src/kafka/protocol/record-batch.js';
import { codecId, compress, type CompressionName } from '../../src/kafka/protocol/compression.js';
import { PRODUCE_API_KEY, encodeProduceRequest } from '../../src/kafka/protocol/produce-request.js';
import { frameRoom, writeRequestHeader } from '../../src/kafka/protocol/request-frame.js';
import { decodeProduceResponse } from '../../src/kafka/protocol/produce-response.js';
import { partitionResults } from '../../src/kafka/client.js';

interface Fixture {
  name: string;
  apiVersion: number;
  inputs: {
    topic: string; clientId: string; requestTimeoutMs: number; acks: number; headers: Record<string, string>;
    records: { key: null; value: string; receivedAt: number }[];
    compression: CompressionName; producerId: string; producerEpoch: number; baseSequence?: number;
  };
  request: string;
  response: string;
}

const dir = join(repoRoot, 'test', 'kafka', 'fixtures');
const fixtures = new Map<string, Fixture>(readdirSync(dir).filter((f) => f.endsWith('.json'))
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture]));

/** The request frame's parts: kafkajs's header (api key, version, correlation id, client id) and FlowGate's body. */
function requestParts(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number; clientId: string; body: Buffer } {
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'request size prefix');
  const clientIdLength = frame.readInt16BE(12);
  return {
    apiKey: frame.readInt16BE(4), apiVersion: frame.readInt16BE(6), correlationId: frame.readInt32BE(8),
    clientId: frame.toString('utf8', 14, 14 + clientIdLength), body: frame.subarray(14 + clientIdLength),
  };
}

/** The one record batch of a single-partition request body. */
function batchOf(body: Buffer): Buffer {
  let at = 2 + 2 + 4 + 4; // transactional_id (null), acks, timeout, topic count
  at += 2 + body.readInt16BE(at) + 4 + 4; // topic name, partition count, partition index
  const size = body.readInt32BE(at);
  return body.subarray(at + 4, at + 4 + size);
}

/** The first byte where two buffers differ, for a readable failure. */
function firstDifference(a: Buffer, b: Buffer): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]} (lengths ${a.length}, ${b.length})`;
  return 'none';
}

test('the fixtures are there: three codecs and a refused batch', () => {
  assert.deepEqual([...fixtures.keys()].sort(), ['produce-gzip', 'produce-none', 'produce-sequence-gap', 'produce-snappy']);
});

for (const [name, f] of fixtures) {
  test(`${name}: FlowGate's encoder gives the captured request bytes from the recorded inputs`, async () => {
    const captured = requestParts(Buffer.from(f.request, 'hex'));
    assert.equal(captured.apiKey, PRODUCE_API_KEY);
    assert.equal(captured.apiVersion, f.apiVersion);
    assert.equal(captured.clientId, f.inputs.clientId);
    const headers = encodeHeaders(f.inputs.headers);
    const builder = new BatchBuilder(1 << 20);
    for (const r of f.inputs.records) {
      const value = Buffer.from(r.value);
      assert.ok(builder.append(null, 0, -1, value, 0, value.length, headers, r.receivedAt));
    }
    let compressed: Buffer | null = null;
    const codec = f.inputs.compression;
    if (codec === 'gzip') {
      // zlib's output may change with its version: the captured gzip stream must hold exactly our
      // records, and the batch around it must be ours.
      compressed = batchOf(captured.body).subarray(BATCH_HEADER_BYTES);
      assert.ok(gunzipSync(compressed).equals(builder.records()), 'gzip payload = our records section');
    } else if (codec !== 'none') {
      compressed = await compress(codec, builder.records());
    }
    const batch = sealBatch(builder, compressed, codecId(codec),
      { producerId: BigInt(f.inputs.producerId), producerEpoch: f.inputs.producerEpoch, baseSequence: f.inputs.baseSequence ?? 0 });
    assert.equal(batch.readInt16BE(21) & 7, codecId(codec), 'attributes carry the codec id');
    const topics = [{ topic: f.inputs.topic, partitions: [{ partition: 0, batch }] }];
    const body = encodeProduceRequest(f.inputs.acks, f.inputs.requestTimeoutMs, topics);
    assert.ok(body.equals(captured.body), `request body differs at ${firstDifference(body, captured.body)}`);
    // The whole frame as FlowGate writes it (request-frame.ts, instead of kafkajs's framing): the captured bytes, header and all.
    const frame = encodeProduceRequest(f.inputs.acks, f.inputs.requestTimeoutMs, topics, frameRoom(f.inputs.clientId));
    writeRequestHeader(frame, PRODUCE_API_KEY, f.apiVersion, captured.correlationId, f.inputs.clientId);
    const request = Buffer.from(f.request, 'hex');
    assert.ok(frame.equals(request), `request frame differs at ${firstDifference(frame, request)}`);
  });

  test(`${name}: the captured response reads as the broker's answer for the request's partition`, () => {
    const request = requestParts(Buffer.from(f.request, 'hex'));
    const frame = Buffer.from(f.response, 'hex');
    assert.equal(frame.readInt32BE(0), frame.length - 4, 'response size prefix');
    assert.equal(frame.readInt32BE(4), request.correlationId, 'the response answers the request');
    const response = decodeProduceResponse(f.apiVersion, frame.subarray(8));
    const results = partitionResults(response);
    assert.equal(results.length, 1);
    const [r] = results;
    assert.equal(r!.topic, f.inputs.topic);
    assert.equal(r!.partition, 0);
    if (name === 'produce-sequence-gap') {
      assert.deepEqual({ errorCode: r!.errorCode, type: r!.type, retriable: r!.retriable }, { errorCode: 45, type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false });
      assert.equal(response.topics[0]!.partitions[0]!.baseOffset, -1n);
    } else {
      assert.deepEqual({ errorCode: r!.errorCode, type: r!.type }, { errorCode: 0, type: 'NONE' });
      assert.ok(response.topics[0]!.partitions[0]!.baseOffset >= 0n);
    }
    assert.ok(response.throttleTimeMs >= 0);
  });
}

test('a response cut short or with bytes past its end is refused, not misread', () => {
  const body = Buffer.from(fixtures.get('produce-none')!.response, 'hex').subarray(8);
  assert.throws(() => decodeProduceResponse(7, body.subarray(0, body.length - 1)), /ends at byte/);
  assert.throws(() => decodeProduceResponse(7, Buffer.concat([body, Buffer.alloc(1)])), /past its end/);
  // v3 and v4 have no log_start_offset: the same bytes are too long for them.
  assert.throws(() => decodeProduceResponse(4, body), /past its end/);
});
