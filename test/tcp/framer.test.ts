// IpfixFramer: messages come out whole and in order however the stream is cut into chunks; a
// header that is not IPFIX version 10 or a length under 16 stops the stream for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpfixFramer, FRAME_ERROR, FRAME_MESSAGE, FRAME_NEED_MORE } from '../../src/tcp/framer.js';
import { set, ipfix } from '../support/packets.js';

const messages = [
  ipfix({ seq: 1 }, set(2, `0106 0001 0008 0004`)),
  ipfix({ seq: 2 }, set(262, `0a000001 0a000002 0a000003`)),
  ipfix({ seq: 3 }), // header only: 16 bytes
  ipfix({ seq: 4 }, set(262, '0a'.repeat(400))),
].map((m) => Buffer.from(m));
const stream = Buffer.concat(messages);

/** Feeds `chunks` in order and returns every message handed out, and the last result. */
function frame(chunks: Buffer[], framer = new IpfixFramer()): { out: Buffer[]; last: number } {
  const out: Buffer[] = [];
  let last: number = FRAME_NEED_MORE;
  for (const chunk of chunks) {
    framer.feed(chunk);
    while ((last = framer.next()) === FRAME_MESSAGE) out.push(Buffer.from(framer.message.subarray(framer.start, framer.end)));
    if (last === FRAME_ERROR) break;
  }
  return { out, last };
}

test('every message comes out whole when the stream is split in two at any byte', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const { out, last } = frame([stream.subarray(0, cut), stream.subarray(cut)]);
    assert.equal(last, FRAME_NEED_MORE);
    assert.deepEqual(out, messages, `cut at ${cut}`);
  }
});

test('byte by byte, and several messages in one chunk', () => {
  const framer = new IpfixFramer();
  const bytes = frame([...stream].map((b) => Buffer.from([b])), framer);
  assert.deepEqual(bytes.out, messages);
  assert.equal(framer.held, 0);
  assert.deepEqual(frame([stream]).out, messages);
  assert.deepEqual(frame([Buffer.concat([stream, stream])]).out, [...messages, ...messages]);
});

test('a message in place is not copied; a partial one is kept until its end comes', () => {
  const framer = new IpfixFramer();
  framer.feed(stream);
  assert.equal(framer.next(), FRAME_MESSAGE);
  assert.equal(framer.message, stream);
  const framer2 = new IpfixFramer();
  framer2.feed(stream.subarray(0, 10));
  assert.equal(framer2.next(), FRAME_NEED_MORE);
  assert.equal(framer2.held, 10);
});

test('a version other than 10 is a framing error, also when it arrives split; so is a length under 16', () => {
  const v9 = Buffer.from(stream);
  v9.writeUInt16BE(9, messages[0]!.length); // the second message says version 9
  const r = frame([v9]);
  assert.deepEqual([r.out.length, r.last], [1, FRAME_ERROR]);
  const framer = new IpfixFramer();
  const split = frame([v9.subarray(0, messages[0]!.length + 1), v9.subarray(messages[0]!.length + 1)], framer);
  assert.deepEqual([split.out.length, split.last, framer.error], [1, FRAME_ERROR, 'bad_version']);
  // Once broken, always broken: the stream cannot be framed again.
  framer.feed(stream);
  assert.equal(framer.next(), FRAME_ERROR);

  const short = Buffer.from(messages[2]!);
  short.writeUInt16BE(15, 2);
  const framer3 = new IpfixFramer();
  assert.equal(frame([short], framer3).last, FRAME_ERROR);
  assert.equal(framer3.error, 'bad_length');
});
