// kafka.format protobuf: every corpus capture decoded as goflow2 FlowMessages (`flowgate decode
// --format protobuf`, the same bytes the workers put on Kafka), read back by Google's protobuf
// runtime with assembly/flow.proto (tools/protobuf/flows_to_json.py), agrees field for field with
// the JSON records of the same capture (which the corpus tests hold to Wireshark's decoding). The
// mapping is src/decoder/flow-message.ts's table, which docs/protobuf.md lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { capturePath, corpusCaptures } from '../support/corpus.js';
import { flowgateBin } from '../support/paths.js';
import { expectedFlowMessage, protobufSkipReason, readFlowMessages, type Json } from '../support/protobuf.js';

function decode(capture: string, format: 'json' | 'protobuf'): Buffer {
  const r = spawnSync(process.execPath, [flowgateBin(), 'decode', capturePath(capture), '--format', format], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

const SKIP = protobufSkipReason();

for (const capture of corpusCaptures) {
  test(`${capture}: FlowMessages read by the protobuf runtime equal the JSON records, field for field`, { skip: SKIP }, () => {
    const json = decode(capture, 'json').toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
    const messages = readFlowMessages(decode(capture, 'protobuf'));
    assert.equal(messages.length, json.length, 'one FlowMessage per record');
    for (let i = 0; i < json.length; i++) {
      const { time_received_ns: received, ...rest } = messages[i]!;
      assert.equal(typeof received, 'bigint', `record ${i}: time_received_ns (the datagram's capture time) is set`);
      assert.deepEqual(rest, expectedFlowMessage(json[i]!), `record ${i} of ${capture}: ${JSON.stringify(json[i])}`);
    }
  });
}
