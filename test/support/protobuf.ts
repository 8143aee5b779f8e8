// Reading FlowGate's Protobuf output independently: Google's protobuf runtime in the Python venv
// .ci/run makes (.tools/protobuf-venv, tools/protobuf/requirements.txt), with protoc (Debian's
// protobuf-compiler) generating the message class from assembly/flow.proto.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { ETYPE_IPV4, ETYPE_IPV6, flowMessageFields, flowTypeOfVersion } from '../../src/decoder/flow-message.js';

export type Json = Record<string, unknown>;

/** The venv's python with the protobuf package, or undefined. */
export function protobufPython(): string | undefined {
  const python = join(repoRoot, '.tools', 'protobuf-venv', 'bin', 'python');
  return existsSync(python) ? python : undefined;
}

/** Why FlowMessages cannot be read back here, or undefined. */
export function protobufSkipReason(): string | undefined {
  if (spawnSync('protoc', ['--version'], { stdio: 'ignore' }).status !== 0) return 'no protoc (apt-get install protobuf-compiler; .ci/run does)';
  if (!protobufPython()) return 'no .tools/protobuf-venv (python3 -m venv .tools/protobuf-venv && .tools/protobuf-venv/bin/pip install -r tools/protobuf/requirements.txt; .ci/run does)';
  return undefined;
}

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

/** FlowMessages (a length-prefixed stream) as JSON objects, by Google's protobuf runtime; uint64 as bigint. */
export function readFlowMessages(stream: Buffer): Json[] {
  const r = spawnSync(protobufPython()!, [join(repoRoot, 'tools', 'protobuf', 'flows_to_json.py'), join(repoRoot, 'assembly', 'flow.proto')],
    { input: stream, maxBuffer: 1 << 28, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l.replace(/"(time_[a-z_]+_ns)": (\d+)/g, '"$1": "$2n"'), (k, v) =>
    typeof v === 'string' && /^\d+n$/.test(v) && k.endsWith('_ns') ? BigInt(v.slice(0, -1)) : v) as Json);
}

