// The start-up check of the kafkajs internals FlowGate uses: the installed release passes; a
// changed release fails with one error naming what changed and what FlowGate needs. And
// FlowGate's codecs leave kafkajs's global codec table as it found it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { KAFKAJS_VERSION, checkKafkajs, kafkajsProblems, readInstalledKafkajs, type KafkajsFiles } from '../../src/kafka/kafkajs-internals.js';
import { compress } from '../../src/kafka/protocol/compression.js';
import { frameRoom, writeRequestHeader } from '../../src/kafka/protocol/request-frame.js';

const require = createRequire(import.meta.url);

function installed(): KafkajsFiles {
  const found = readInstalledKafkajs();
  return { version: found.version, files: { ...found.files } };
}

test('the installed kafkajs is the pinned release and has every shape FlowGate uses', () => {
  assert.equal(KAFKAJS_VERSION, (require('../../../package.json') as { dependencies: Record<string, string> }).dependencies.kafkajs, 'package.json pins the checked version');
  assert.deepEqual(kafkajsProblems(readInstalledKafkajs()), []);
});

test('a Cluster without a method FlowGate calls fails the check, naming the file, the method and the release needed', () => {
  const found = installed();
  const Cluster = found.files['src/cluster/index.js'] as new () => object;
  class Changed extends Cluster {}
  Object.defineProperty(Changed.prototype, 'findBroker', { value: undefined });
  found.files['src/cluster/index.js'] = Changed;
  assert.throws(() => checkKafkajs(found), (err: Error) => {
    assert.match(err.message, /kafkajs\/src\/cluster\/index\.js has no method findBroker\(\)/);
    assert.match(err.message, new RegExp(`needs kafkajs ${KAFKAJS_VERSION.replaceAll('.', '\\.')} exactly`));
    return true;
  });
});

test('another version, a missing file, a connection pool without send, an error table that renamed a code: each is named', () => {
  const found = installed();
  found.version = '2.3.0';
  delete found.files['src/network/socketFactory.js'];
  found.files['src/network/connectionPool.js'] = class {};
  const errors = (found.files['src/protocol/error.js'] as { errorCodes: { type: string; code: number; retriable: boolean }[] }).errorCodes;
  found.files['src/protocol/error.js'] = { errorCodes: errors.map((e) => (e.code === 46 ? { ...e, type: 'DUPLICATE_SEQUENCE' } : e)) };
  const problems = kafkajsProblems(found);
  assert.deepEqual(problems, [
    'kafkajs/package.json says version 2.3.0',
    'kafkajs/src/network/connectionPool.js has no method send()',
    'kafkajs/src/network/socketFactory.js is missing',
    'kafkajs/src/protocol/error.js errorCodes has DUPLICATE_SEQUENCE for code 46 (FlowGate needs DUPLICATE_SEQUENCE_NUMBER)',
  ]);
});

test('compressing with snappy does not register a codec in kafkajs\'s global table', async () => {
  const { Types, Codecs } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { Snappy: number }; Codecs: Record<number, () => unknown> };
  const records = Buffer.from('{"n":1}'.repeat(100));
  const compressed = await compress('snappy', records);
  assert.ok(compressed.length < records.length);
  // kafkajs's own entry, which refuses snappy, is still there.
  assert.throws(() => Codecs[Types.Snappy]!(), /Snappy compression not implemented/);
});

test('a kafkajs connection that has nothing pending and no throttle arms no timer (2.2.4 re-armed one every 1 ms forever)', async () => {
  await import('../../src/kafka/kafkajs-internals.js'); // loading it mends RequestQueue
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: Record<string, unknown>) => {
    pending: unknown[]; throttledUntil: number; throttleCheckTimeoutId: unknown; checkPendingRequests(): void; destroy(): void;
  };
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: true, clientId: 't', broker: 'b', logger });
  queue.checkPendingRequests(); // what every response ends with
  assert.equal(queue.throttleCheckTimeoutId, null, 'idle and unthrottled: no timer');
  queue.throttledUntil = Date.now() + 50; // a broker's throttle: the check is still scheduled for its end
  queue.checkPendingRequests();
  assert.ok(queue.throttleCheckTimeoutId, 'throttled: a check is scheduled');
  queue.destroy();
});

test('the mend refuses a RequestQueue whose scheduling code changed', () => {
  const found = installed();
  found.files['src/network/requestQueue/index.js'] = class { scheduleCheckPendingRequests() { return 0; } checkPendingRequests() {} };
  assert.throws(() => checkKafkajs(found), /requestQueue\/index\.js scheduleCheckPendingRequests\(\) no longer computes/);
});

test('a kafkajs connection sends the frame a FlowGate request brings, and frames its own requests as before', async () => {
  await import('../../src/kafka/kafkajs-internals.js'); // loading it replaces kafkajs's request framing
  const Connection = require('kafkajs/src/network/connection.js') as new (o: Record<string, unknown>) => {
    connect(): Promise<void>; disconnect(): Promise<void>;
    send(a: { request: Record<string, unknown>; response: Record<string, unknown> }): Promise<unknown>;
  };
  const socketFactory = require('kafkajs/src/network/socketFactory.js') as () => unknown;
  const { createLogger, LEVELS } = require('kafkajs/src/loggers/index.js') as { createLogger(o: unknown): unknown; LEVELS: { NOTHING: number } };
  // A peer that keeps each request frame and answers it with an empty body.
  const frames: Buffer[] = [];
  const server = createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(0, 4 + pending.readInt32BE(0));
        pending = pending.subarray(frame.length);
        frames.push(frame);
        const answer = Buffer.alloc(8);
        answer.writeInt32BE(4, 0);
        answer.writeInt32BE(frame.readInt32BE(8), 4); // the correlation id
        socket.write(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const connection = new Connection({
    host: '127.0.0.1', port, clientId: 'frame-test', requestTimeout: 5000, connectionTimeout: 5000, socketFactory: socketFactory(),
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => undefined }),
  });
  try {
    await connection.connect();
    const body = Buffer.from('flowgate body');
    const response = { decode: async () => ({}), parse: async (d: unknown) => d };
    const ownFrame = (correlationId: number, clientId: string | null): Buffer => {
      const frame = Buffer.alloc(frameRoom(clientId) + body.length);
      body.copy(frame, frameRoom(clientId));
      writeRequestHeader(frame, 0, 7, correlationId, clientId);
      return frame;
    };
    let encoded = 0;
    const encode = async () => {
      encoded++;
      return { buf: body, buffer: body };
    };
    await connection.send({ request: { apiKey: 0, apiVersion: 7, apiName: 'Produce', expectResponse: () => true, encode, frame: ownFrame }, response });
    await connection.send({ request: { apiKey: 0, apiVersion: 7, apiName: 'Produce', expectResponse: () => true, encode }, response });
    assert.equal(frames.length, 2);
    assert.equal(encoded, 1, 'the request with frame() was not encoded by kafkajs');
    // Both frames carry the same header fields and body; only the correlation id differs.
    for (const [i, frame] of frames.entries()) {
      assert.equal(frame.readInt16BE(4), 0, 'api key');
      assert.equal(frame.readInt16BE(6), 7, 'api version');
      assert.equal(frame.toString('utf8', 14, 14 + frame.readInt16BE(12)), 'frame-test', 'client id');
      assert.ok(frame.subarray(frameRoom('frame-test')).equals(body), `frame ${i} body`);
    }
    assert.notEqual(frames[0]!.readInt32BE(8), frames[1]!.readInt32BE(8), 'correlation ids');
  } finally {
    await connection.disconnect();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
