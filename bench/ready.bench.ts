// Start-up only: ms from spawning `flowgate serve` to ready (the "ready" log line, then /readyz
// 200: UDP listening, HTTP up, every worker connected to Kafka), broker up. The same measurement
// as pipeline.bench.ts's ready_ms, without the rest of that suite, so it can be repeated cheaply.
// Needs the broker running (node scripts/kafka.js start); prints every run and the median.
//
//   node dist/bench/ready.bench.js [--runs 5] [--workers 1] [--root DIR (another build to compare)]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { projectRoot } from '../src/paths.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '1' },
    root: { type: 'string', default: projectRoot() },
    brokers: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function once(config: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(values.root, 'bin', 'flowgate.js'), 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let http = 0;
  let pending = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let k = pending.indexOf('\n'); k >= 0; k = pending.indexOf('\n')) {
      const line = pending.slice(0, k);
      pending = pending.slice(k + 1);
      if (line.includes('"msg":"ready"')) http = (JSON.parse(line) as { http: number }).http;
    }
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 30_000;
    while (!http && Date.now() < deadline) await sleep(2);
    while (Date.now() < deadline) {
      const r = await fetch(`http://127.0.0.1:${http}/readyz`).catch(() => undefined);
      if (r?.status === 200) return performance.now() - started;
      await sleep(5);
    }
    throw new Error('gateway never became ready');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'flowgate-ready-'));
try {
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `listen: { udp: ["127.0.0.1:0"], receive_buffer_bytes: 33554432 }
http: { listen: "127.0.0.1:0" }
workers: ${Number(values.workers)}
kafka: { brokers: ["${values.brokers}"], sink: kafka }
routing: { default_topic: bench.ready }
log: { level: info }
stats: { log_interval_s: 0 }
`);
  const runs: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) runs.push(await once(config));
  const sorted = [...runs].sort((a, b) => a - b);
  console.log(`ready after start (broker up, ${values.workers} worker(s), ${values.root}): ${runs.map((r) => r.toFixed(0)).join(' ')} ms; median ${sorted[sorted.length >> 1]!.toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
