// Restart to first decoded record with restored exporter state: ms from spawning `flowgate
// serve` on a state.dir that holds a capture's templates to the first record decoded from a
// datagram that carries only data (flowgate_records_received_total > 0). Without the state,
// such datagrams are held until the exporter sends its templates again (up to 30 min). Needs
// the broker running; prints every run, the median, and "ready" for comparison.
//
//   node dist/bench/state-restart.bench.js [--runs 5] [--workers 1]
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readDatagrams, dataOnly } from '../test/state/capture-split.js';
import { pcapsDir } from '../test/support/corpus.js';
import { GatewayProcess, listeningFrom } from '../test/support/gateway-process.js';
import { scrapeMetrics, total } from '../test/support/prometheus.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '1' },
    brokers: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const datagrams = readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
const dataMessages = datagrams.map((d) => dataOnly(d.payload)).filter((m): m is Uint8Array => m !== null);
const socket = createSocket('udp4');
await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
const send = (m: Uint8Array, port: number) => new Promise<void>((resolve) => socket.send(m, port, '127.0.0.1', () => resolve()));

async function received(base: string): Promise<number> {
  return total(await scrapeMetrics(base), 'flowgate_records_received_total');
}

/** Starts the gateway; `whenReady` runs once it logged ready, and the gateway is stopped after it. */
async function run<T>(configYaml: string, whenReady: (udp: number, base: string, started: number, readyAt: number) => Promise<T>): Promise<T> {
  const gw = new GatewayProcess(configYaml, { keepEvents: 100 });
  try {
    const listening = listeningFrom(await gw.waitFor('ready', { timeoutMs: 30_000 }));
    const readyAt = performance.now();
    return await whenReady(listening.udp.v4!, `http://127.0.0.1:${listening.http}`, gw.startedAt, readyAt);
  } finally {
    await gw.stop();
    await gw.dispose();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'flowgate-state-bench-'));
try {
  const config = `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: ${Number(values.workers)}
kafka: { brokers: ["${values.brokers}"] }
routing: { default_topic: bench.state }
state: { dir: ${JSON.stringify(join(dir, 'state'))} }
stats: { log_interval_s: 0 }
`;
  // Learn the templates once; the SIGTERM saves them.
  await run(config, async (udp, base) => {
    for (const d of datagrams) await send(d.payload, udp);
    while ((await received(base)) === 0) await sleep(20);
  });
  const firstRecord: number[] = [];
  const readyMs: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    await run(config, async (udp, base, started, readyAt) => {
      readyMs.push(readyAt - started);
      for (let k = 0; ; k++) {
        await send(dataMessages[k % dataMessages.length]!, udp);
        if ((await received(base)) > 0) break;
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
