// A Fetch exchange captured from the real broker (test/kafka/fixtures/fetch/codecs.json,
// tools/capture-fetch.mjs): FlowGate's encoder gives exactly the request body sent, and the
// broker's response body decodes, and its batches (one per codec) read, into exactly the records
// written: offsets, keys, null keys, values and null values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFetchRequest, type FetchRequest } from '../../src/kafka/protocol/fetch-request.js';
import { decodeFetchResponse } from '../../src/kafka/protocol/fetch-response.js';
import { RecordBatchReader } from '../../src/kafka/protocol/record-batch-reader.js';
import { repoRoot } from '../support/paths.js';

interface Fixture {
  apiVersion: number;
  request: FetchRequest;
  requestBody: string;
  responseBody: string;
  records: { offset: number; key: string | null; value: string | null }[];
}

const fixture = JSON.parse(readFileSync(join(repoRoot, 'test', 'kafka', 'fixtures', 'fetch', 'codecs.json'), 'utf8')) as Fixture;

test('the Fetch request body is the one captured', () => {
  assert.equal(encodeFetchRequest(fixture.apiVersion, fixture.request).toString('hex'), fixture.requestBody);
});

test('the captured response reads back into the records written, one batch per codec', async () => {
  const body = Buffer.from(fixture.responseBody, 'hex');
  const response = decodeFetchResponse(fixture.apiVersion, body);
  assert.equal(response.errorCode, 0);
  assert.equal(response.partitions.length, 1);
  const p = response.partitions[0]!;
  assert.deepEqual([p.topic, p.partition, p.errorCode, p.highWatermark, p.logStartOffset], [fixture.request.topics[0]!.topic, 0, 0, fixture.records.length, 0]);
  const reader = new RecordBatchReader().reset(response.body, p.recordsStart, p.recordsEnd);
  const read: Fixture['records'] = [];
  const codecs: number[] = [];
  while (reader.nextBatch()) {
    assert.equal(reader.problem, null);
    codecs.push(reader.codec);
    if (reader.compressed) await reader.decompress();
    while (reader.nextRecord()) {
      const b = reader.buffer;
      read.push({
        offset: reader.offset,
        key: reader.keyLength < 0 ? null : b.toString('utf8', reader.keyStart, reader.keyStart + reader.keyLength),
        value: reader.valueLength < 0 ? null : b.toString('utf8', reader.valueStart, reader.valueStart + reader.valueLength),
      });
    }
  }
  assert.deepEqual(codecs, [0, 1, 2, 3, 4]);
  assert.deepEqual(read, fixture.records);
  assert.equal(reader.truncated, false);
});
