// The container image: its size, and ms from `podman run` to /readyz 200 (container created and
// started, Node 24 booted, workers connected to Kafka), and from the container's start (podman's
// StartedAt) to the gateway's "ready" log line. Broker up (node scripts/kafka.js start).
// Builds the image first unless --tag names one that exists; prints every run and the medians.
//
//   node dist/bench/image.bench.js [--runs 5] [--tag localhost/flowgate:latest] [--build] [--brokers HOST:PORT]
import { parseArgs } from 'node:util';
import { httpGet } from '../test/support/http.js';
import { freeTcpPort, freeUdpPort, imageSkipReason, imageTools, podman } from '../test/support/image.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' }, tag: { type: 'string', default: 'localhost/flowgate:latest' },
    build: { type: 'boolean', default: false },
    brokers: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('usage: node dist/bench/image.bench.js [--runs 5] [--tag NAME] [--build] [--brokers HOST:PORT]\n');
  process.exit(0);
}
const skip = imageSkipReason();
if (skip) {
  process.stdout.write(`image bench skipped: ${skip}\n`);
  process.exit(0);
}

const tag = values.tag;
if (values.build || podman(['image', 'exists', tag]).status !== 0) {
  const built = imageTools.buildImage({ tag, quiet: true });
  process.stdout.write(`built ${tag} in ${built.seconds.toFixed(0)} s\n`);
}
const size = Number(podman(['image', 'inspect', '--format', '{{.Size}}', tag]).stdout.trim());

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function once(i: number): Promise<{ toReady: number; inside: number }> {
  const name = `flowgate-bench-${process.pid}-${i}`;
  const [udp, http] = [await freeUdpPort(), await freeTcpPort()];
  const t0 = Date.now();
  const started = podman(['run', '-d', '--name', name, ...imageTools.podmanRunArgs, '--read-only', '--tmpfs', '/var/lib/flowgate/spool:rw,mode=1777', '--tmpfs', '/var/lib/flowgate/state:rw,mode=1777',
    '-e', `FLOWGATE_KAFKA__BROKERS=["${values.brokers}"]`, '-e', `FLOWGATE_LISTEN__UDP=["127.0.0.1:${udp}"]`, '-e', `FLOWGATE_HTTP__LISTEN=127.0.0.1:${http}`,
    '-e', 'FLOWGATE_WORKERS=1', '-e', 'FLOWGATE_ROUTING__DEFAULT_TOPIC=bench.image', tag]);
  try {
    if (started.status !== 0) throw new Error(`podman run: ${started.stderr}`);
    for (;;) {
      if ((await httpGet(`http://127.0.0.1:${http}/readyz`).catch(() => ({ status: 0 }))).status === 200) break;
      if (Date.now() - t0 > 60_000) throw new Error('not ready within 60 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    const toReady = Date.now() - t0;
    const startedAt = Date.parse(podman(['inspect', '--format', '{{.State.StartedAt}}', name]).stdout.trim().replace(/ \+0000 UTC$/, 'Z').replace(' ', 'T'));
    const log = podman(['logs', name]);
    const ready = (log.stderr + log.stdout).split('\n').find((l) => l.includes('"msg":"ready"'));
    const inside = ready ? Date.parse((JSON.parse(ready) as { time: string }).time) - startedAt : NaN;
    return { toReady, inside };
  } finally {
    podman(['rm', '--force', '--time', '10', name]);
  }
}

const runs = [];
for (let i = 0; i < Number(values.runs); i++) runs.push(await once(i));
console.log(`image ${tag}: ${(size / 1e6).toFixed(1)} MB`);
console.log(`podman run -> /readyz 200: ${runs.map((r) => r.toReady).join(' ')} ms; median ${median(runs.map((r) => r.toReady))} ms`);
console.log(`container start -> "ready" log line: ${runs.map((r) => r.inside).join(' ')} ms; median ${median(runs.map((r) => r.inside))} ms`);
