// Reading FlowGate's Protobuf output independently: Google's protobuf runtime in the Python venv
// .ci/run makes (.tools/protobuf-venv, tools/protobuf/requirements.txt), with protoc (Debian's
// protobuf-compiler) generating the message class from assembly/flow.proto.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

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
