// kafka.format protobuf: every corpus capture decoded as goflow2 FlowMessages (`flowgate decode
// --format protobuf`, the same bytes the workers put on Kafka), read back by Google's protobuf
// runtime with assembly/flow.proto (tools/protobuf/flows_to_json.py), agrees field for field with
// the JSON records of the same capture (which the corpus tests hold to Wireshark's decoding). The
// mapping is src/decoder/flow-message.ts's table, which docs/protobuf.md lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { capturePath, corpusCaptures } from '../support/corpus.js';
import { flowgateBin, repoRoot } from '../support/paths.js';
import { protobufPython, protobufSkipReason } from '../support/protobuf.js';
import { ETYPE_IPV4, ETYPE_IPV6, flowMessageFields, flowTypeOfVersion } from '../../src/decoder/flow-message.js';

type Json = Record<string, unknown>;

/** The FlowMessage a JSON record becomes (proto3: zero values absent), time_received_ns aside. */
export function expectedFlowMessage(r: Json): Json {
  const out: Json = {};
  for (const [record, { field, value }] of Object.entries(flowMessageFields)) {
    const v = r[record];
    if (v === undefined || v === null || v === 0) continue;
    out[field] = value === 'ms_to_ns' ? BigInt(v as number) * 1_000_000n : value === 'version_to_type' ? flowTypeOfVersion[v as number] : v;
  }
  if (typeof r.src === 'string') out.etype = r.src.includes(':') ? ETYPE_IPV6 : ETYPE_IPV4;
  return out;
}

function decode(capture: string, format: 'json' | 'protobuf'): Buffer {
  const r = spawnSync(process.execPath, [flowgateBin(), 'decode', capturePath(capture), '--format', format], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

/** FlowMessages (a length-prefixed stream) as JSON objects, by Google's protobuf runtime; uint64 as bigint. */
export function readFlowMessages(stream: Buffer): Json[] {
  const r = spawnSync(protobufPython()!, [join(repoRoot, 'tools', 'protobuf', 'flows_to_json.py'), join(repoRoot, 'assembly', 'flow.proto')],
    { input: stream, maxBuffer: 1 << 28, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l.replace(/"(time_[a-z_]+_ns)": (\d+)/g, '"$1": "$2n"'), (k, v) =>
    typeof v === 'string' && /^\d+n$/.test(v) && k.endsWith('_ns') ? BigInt(v.slice(0, -1)) : v) as Json);
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
