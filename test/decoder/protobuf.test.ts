// kafka.format protobuf: every corpus capture decoded as goflow2 FlowMessages (`flowgate decode
// --format protobuf`, the same bytes the workers put on Kafka), read back by Google's protobuf
// runtime with assembly/flow.proto (tools/protobuf/flows_to_json.py), agrees field for field with
// the JSON records of the same capture (which the corpus tests hold to Wireshark's decoding). The
// mapping asserted here is the one docs/protobuf.md documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { capturePath, corpusCaptures } from '../support/corpus.js';
import { flowgateBin, repoRoot } from '../support/paths.js';
import { protobufPython, protobufSkipReason } from '../support/protobuf.js';

type Json = Record<string, unknown>;

const FLOW_TYPE: Record<number, string> = { 5: 'NETFLOW_V5', 9: 'NETFLOW_V9', 10: 'IPFIX' };

/** The FlowMessage a JSON record becomes (proto3: zero values absent), time_received_ns aside. */
export function expectedFlowMessage(r: Json): Json {
  const out: Json = {};
  const put = (name: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== 0) out[name] = v;
  };
  const ns = (ms: unknown) => (typeof ms === 'number' ? BigInt(ms) * 1_000_000n : undefined);
  put('type', FLOW_TYPE[r.version as number]);
  put('sampling_rate', r.sampling);
  put('src_addr', r.src);
  put('dst_addr', r.dst);
  put('bytes', r.bytes);
  put('packets', r.pkts);
  put('sampler_address', r.dvc);
  put('next_hop', r.next_hop);
  put('src_as', r.src_as);
  put('dst_as', r.dst_as);
  put('in_if', r.in_if);
  put('out_if', r.out_if);
  put('proto', r.proto);
  put('src_port', r.srcp);
  put('dst_port', r.dstp);
  put('ip_tos', r.tos);
  put('tcp_flags', r.flags);
  if (typeof r.src === 'string') put('etype', r.src.includes(':') ? 0x86dd : 0x0800);
  put('icmp_type', r.icmp_type);
  put('icmp_code', r.icmp_code);
  put('src_vlan', r.vlan);
  put('observation_domain_id', r.odid);
  const start = ns(r.start);
  if (start) out.time_flow_start_ns = start;
  const end = ns(r.end);
  if (end) out.time_flow_end_ns = end;
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
