// Start-up only: ms from spawning `flowgate serve` to ready (the "ready" event, then /readyz
// 200: UDP listening, HTTP up, every worker connected to Kafka), broker up. The same measurement
// as pipeline.bench.ts's ready_ms (both through test/support/gateway-process.ts), without the rest
// of that suite, so it can be repeated cheaply. Needs the broker running (node scripts/kafka.js
// start); prints every run and the median.
//
// --role receive: a receiver (UDP to the raw topic; the issue asks for under 300 ms).
//
//   node dist/bench/ready.bench.js [--runs 5] [--workers 1] [--role all|receive] [--root DIR (another build to compare)] [--brokers HOST:PORT]
import { parseArgs } from 'node:util';
import { GatewayProcess } from '../test/support/gateway-process.js';
import { repoRoot } from '../test/support/paths.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '1' }, role: { type: 'string', default: 'all' },
    root: { type: 'string', default: repoRoot },
    brokers: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('usage: node dist/bench/ready.bench.js [--runs 5] [--workers 1] [--role all|receive] [--root DIR] [--brokers HOST:PORT]\n');
  process.exit(0);
}

if (values.role !== 'all' && values.role !== 'receive') throw new Error('--role: all or receive');
// The role line only when asked: the default config is the one older builds (--root) understand.
const config = `${values.role === 'receive' ? 'role: receive\nscale: { raw_topic: bench.ready.raw }\n' : ''}listen: { udp: ["127.0.0.1:0"], receive_buffer_bytes: 33554432 }
http: { listen: "127.0.0.1:0" }
workers: ${Number(values.workers)}
kafka: { brokers: ["${values.brokers}"], sink: kafka }
routing: { default_topic: bench.ready }
log: { level: info }
stats: { log_interval_s: 0 }
`;

async function once(): Promise<number> {
  const gw = new GatewayProcess(config, { root: values.root });
  try {
    await gw.ready(30_000);
    return gw.readyMs;
  } finally {
    await gw.stop('SIGTERM');
    await gw.dispose();
  }
}

const runs: number[] = [];
for (let i = 0; i < Number(values.runs); i++) runs.push(await once());
const sorted = [...runs].sort((a, b) => a - b);
console.log(`ready after start (role ${values.role}, broker up, ${values.workers} worker(s), ${values.root}): ${runs.map((r) => r.toFixed(0)).join(' ')} ms; median ${sorted[sorted.length >> 1]!.toFixed(0)} ms`);
