// Restart to first decoded record with restored exporter state: ms from spawning `flowgate
// serve` on a state.dir that holds a capture's templates to the first record decoded from a
// datagram that carries only data (flowgate_records_received_total > 0). Without the state,
// such datagrams are held until the exporter sends its templates again (up to 30 min). Needs
// the broker running; prints every run, the median, and "ready" for comparison.
//
//   node dist/bench/state-restart.bench.js [--runs 5] [--workers 1]
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readDatagrams, dataOnly } from '../test/state/capture-split.js';
import { pcapsDir } from '../test/support/corpus.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '1' },
    brokers: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const root = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const datagrams = readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
const dataMessages = datagrams.map((d) => dataOnly(d.payload)).filter((m): m is Uint8Array => m !== null);
const socket = createSocket('udp4');
await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
const send = (m: Uint8Array, port: number) => new Promise<void>((resolve) => socket.send(m, port, '127.0.0.1', () => resolve()));

async function received(http: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  const m = /^flowgate_records_received_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Starts the gateway; `whenReady` runs once it logged ready, and the gateway is stopped after it. */
async function run<T>(config: string, whenReady: (udp: number, http: number, started: number, readyAt: number) => Promise<T>): Promise<T> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin', 'flowgate.js'), 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let ready: { udp: string[]; http: number } | undefined;
  let readyAt = 0;
  let pending = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let k = pending.indexOf('\n'); k >= 0; k = pending.indexOf('\n')) {
      const line = pending.slice(0, k);
      pending = pending.slice(k + 1);
      if (line.includes('"msg":"ready"')) {
        ready = JSON.parse(line) as typeof ready;
        readyAt = performance.now();
      }
    }
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 30_000;
    while (!ready && Date.now() < deadline) await sleep(1);
    if (!ready) throw new Error('gateway never became ready');
    const udp = Number(ready.udp[0]!.slice(ready.udp[0]!.lastIndexOf(':') + 1));
    return await whenReady(udp, ready.http, started, readyAt);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'flowgate-state-bench-'));
try {
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: ${Number(values.workers)}
kafka: { brokers: ["${values.brokers}"] }
routing: { default_topic: bench.state }
state: { dir: ${JSON.stringify(join(dir, 'state'))} }
stats: { log_interval_s: 0 }
`);
  // Learn the templates once; the SIGTERM saves them.
  await run(config, async (udp, http) => {
    for (const d of datagrams) await send(d.payload, udp);
    while ((await received(http)) === 0) await sleep(20);
  });
  const firstRecord: number[] = [];
  const readyMs: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    await run(config, async (udp, http, started, readyAt) => {
      readyMs.push(readyAt - started);
      for (let k = 0; ; k++) {
        await send(dataMessages[k % dataMessages.length]!, udp);
        if ((await received(http)) > 0) break;
      }
      firstRecord.push(performance.now() - started);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`restart to first decoded record, restored state (${values.workers} worker(s)): ${firstRecord.map((r) => r.toFixed(0)).join(' ')} ms; median ${median(firstRecord).toFixed(0)} ms`);
  console.log(`  of which start to ready: ${readyMs.map((r) => r.toFixed(0)).join(' ')} ms; median ${median(readyMs).toFixed(0)} ms`);
} finally {
  socket.close();
  rmSync(dir, { recursive: true, force: true });
}
