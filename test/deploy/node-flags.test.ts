// The gateway's node flags (src/node-flags.ts): every launcher the project ships passes them, and a
// gateway started without them says so at start. (The Kubernetes manifests are checked in
// kubernetes.test.ts, with the rest of each workload.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from '../../src/node-flags.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic } from '../support/kafka-topics.js';
import { repoRoot } from '../support/paths.js';

const WARNING = "node started without the gateway's flags: more CPU goes to garbage collection";

test('missingNodeFlags: each gateway flag not given by name is missing; an operator\'s own value for one counts as given', () => {
  assert.deepEqual(missingNodeFlags([]), [...GATEWAY_NODE_FLAGS]);
  assert.deepEqual(missingNodeFlags(['--max-old-space-size=512', '--enable-source-maps']), [...GATEWAY_NODE_FLAGS]);
  assert.deepEqual(missingNodeFlags([...GATEWAY_NODE_FLAGS]), []);
  // V8 reads '_' and '-' alike; a different size is the operator's choice, not a missing flag.
  const renamed = GATEWAY_NODE_FLAGS.map((f) => f.split('=')[0]!.replaceAll('-', '_').replace(/^__/, '--') + '=256');
  assert.deepEqual(missingNodeFlags(renamed), []);
});

test('every launcher the project ships starts node with the gateway flags', () => {
  const read = (...p: string[]) => readFileSync(join(repoRoot, ...p), 'utf8');
  const words = (line: string) => line.trim().split(/\s+/);
  const carries = (args: readonly string[], where: string) => {
    for (const f of GATEWAY_NODE_FLAGS) assert.ok(args.includes(f), `${where} passes ${f}: ${args.join(' ')}`);
  };
  // The bin's #! line: `./bin/flowgate.js`, `npx flowgate` and installed bins run through it.
  const shebang = read('bin', 'flowgate.js').split('\n')[0]!;
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /, 'the bin runs node through env -S (several words on the #! line)');
  carries(words(shebang.slice(2)), 'bin/flowgate.js #!');
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
  carries(words(start), 'npm start');
  const entry = read('deploy', 'container', 'Containerfile').split('\n').find((l) => l.startsWith('ENTRYPOINT '))!;
  const entryArgs = JSON.parse(entry.slice('ENTRYPOINT '.length)) as string[];
  assert.ok(entryArgs[0]!.endsWith('/node'), 'the image starts node itself');
  carries(entryArgs.slice(1, entryArgs.findIndex((a) => a.endsWith('flowgate.js'))), 'the image entry point (before the script)');
  const execStart = read('deploy', 'flowgate.service').split('\n').find((l) => l.startsWith('ExecStart='))!;
  const unit = words(execStart.slice('ExecStart='.length));
  carries(unit.slice(1, unit.findIndex((a) => a.endsWith('flowgate.js'))), 'deploy/flowgate.service ExecStart (before the script)');
});

const config = (topic: string) => `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())} }
routing: { default_topic: ${topic} }
stats: { log_interval_s: 0 }
`;

test('a gateway started with the flags starts quietly; one started by bare node warns once, naming the missing flags', { timeout: 120_000 }, async (t) => {
  const topic = uniqueTopic('node-flags');
  const flagged = new GatewayProcess(config(topic));
  t.after(() => flagged.dispose());
  const bare = new GatewayProcess(config(topic), { bareNode: true });
  t.after(() => bare.dispose());
  await Promise.all([flagged.ready(), bare.ready()]);
  assert.equal(flagged.count(WARNING), 0, 'no warning with the flags');
  assert.equal(bare.count(WARNING), 1, 'one warning without them');
  const warning = bare.events.find((e) => e.msg === WARNING)!;
  assert.equal(warning.level, 'warn');
  assert.deepEqual(warning.missing, [...GATEWAY_NODE_FLAGS]);
  assert.equal((await bare.stop('SIGTERM')).code, 0, 'and it runs and stops as usual');
  assert.equal((await flagged.stop('SIGTERM')).code, 0);
});
