// Does the live tap slow ingest? The same gateway (pipeline.bench's configuration, acks -1) at
// the same sustained offered rate, twice in one run: without tap clients, then with --clients
// WebSocket clients connected to /tap for the whole send. Each run on a fresh, warm gateway and
// topic. Reports records delivered to Kafka in each, and their ratio (with / without: 1.00 = the
// tap cost ingest nothing), the gateway's CPU, and what the clients got and what the tap skipped.
//
//   npm run build && node dist/bench/tap-load.bench.js [--rate 100000] [--seconds 10] [--clients 32]
//        [--client-rate 1000] [--filters mixed|plain|fine] [--repeat 1] [--workers 1] [--rpp 25] [--bootstrap HOST:PORT]
//
// Filters: plain = {} (the workers forward only what the clients' max_rate adds up to, capped);
// fine = {"proto":6} (the workers forward up to their cap, TAP_WORKER_MAX each, and the main
// thread parses every forwarded record); mixed = half each. Every client asks for --client-rate
// records/s (max_rate). The clients run in this process and only count lines, on the same
// machine as the gateway: what they cost the CPU is part of the figure. Not a test: figures,
// with the command that reproduces them; keys tap_load_* in bench/results.json.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ensureBroker } from '../test/support/broker.js';
import { benchTopic, counterDelta, deleteBenchTopics, gatewayConfig, settle, stopGateway, warmGateway } from './lib/gateway-step.js';
import { runLoadgen, type Sent } from './lib/loadgen.js';
import { cpuSeconds, rssMb } from './lib/proc.js';
import { mergeResults } from './lib/results.js';
import { fixed, int, ratio, renderTable } from './lib/table.js';
import { projectRoot } from '../src/paths.js';

const { values: opts } = parseArgs({
  options: {
    rate: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '32' },
    'client-rate': { type: 'string', default: '1000' },
    filters: { type: 'string', default: 'mixed' },
    repeat: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    rpp: { type: 'string', default: '25' },
    bootstrap: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write('usage: node dist/bench/tap-load.bench.js [--rate R] [--seconds S] [--clients N] [--client-rate R] [--filters mixed|plain|fine] [--repeat N] [--workers N] [--rpp N] [--bootstrap HOST:PORT]\n(see the header of bench/tap-load.bench.ts)\n');
  process.exit(0);
}
const rate = Number(opts.rate);
const seconds = Number(opts.seconds);
const clientCount = Number(opts.clients);
const clientRate = Number(opts['client-rate']);
const filters = opts.filters;
if (!['mixed', 'plain', 'fine'].includes(filters)) throw new Error(`--filters: mixed, plain or fine, not ${filters}`);
const log = (m: string) => process.stderr.write(`${m}\n`);

/** The filter client `i` sends. */
function filterOf(i: number): Record<string, number> {
  const fine = filters === 'fine' || (filters === 'mixed' && i % 2 === 1);
  return fine ? { proto: 6, max_rate: clientRate } : { max_rate: clientRate };
}

/** One tap connection that counts the record lines it gets (control lines start with {"type"). */
class CountingClient {
  readonly ws: WebSocket;
  records = 0;
  closedEarly = false;
  #accepted!: () => void;
  readonly accepted = new Promise<void>((resolve) => (this.#accepted = resolve));

  constructor(url: string, filter: Record<string, number>) {
    this.ws = new WebSocket(url);
    this.ws.on('open', () => this.ws.send(JSON.stringify(filter)));
    this.ws.on('message', (data: WebSocket.RawData) => {
      const text = data.toString();
      let start = 0;
      while (start < text.length) {
        let end = text.indexOf('\n', start);
        if (end < 0) end = text.length;
        if (text.startsWith('{"type"', start)) {
          if (text.startsWith('{"type":"filter"', start)) this.#accepted();
        } else this.records++;
        start = end + 1;
      }
    });
    this.ws.on('close', () => (this.closedEarly = true));
    this.ws.on('error', (err) => log(`tap client: ${err.message}`));
  }

  close(): void {
    this.closedEarly = false;
    this.ws.removeAllListeners('close');
    this.ws.terminate();
  }
}

interface TapRun {
  sent: Sent;
  delivered: number;
  droppedRecords: number;
  /** Datagrams dropped by the gateway (ring, decoder) and by the kernel for its sockets. */
  droppedDatagrams: number;
  /** Of those, the kernel's (the socket's buffer full: the receiving main thread fell behind). */
  kernelDrops: number;
  cpuPct: number;
  rssMb: number;
  tapRecords: number;
  tapSent: number;
  tapSkipped: Record<string, number>;
  clientsAtEnd: number;
  clientsClosedEarly: number;
}

async function runOnce(brokers: string, clients: number): Promise<TapRun> {
  const config = gatewayConfig({
    brokers, sink: 'kafka', topic: benchTopic(), workers: Number(opts.workers), recordsPerMessage: 1,
    extraYaml: `tap: { max_clients: ${Math.max(32, clients)} }\n`,
  });
  const { gw, udp, before } = await warmGateway(config, opts.rpp);
  const open: CountingClient[] = [];
  try {
    const url = `ws://127.0.0.1:${gw.listening!.http}/tap`;
    for (let i = 0; i < clients; i++) open.push(new CountingClient(url, filterOf(i)));
    await Promise.all(open.map((c) => c.accepted));
    const cpu0 = cpuSeconds(gw.pid);
    const t0 = performance.now();
    const sent = await runLoadgen(udp, ['--rate', String(rate), '--duration', String(seconds), '--records-per-packet', opts.rpp]);
    const { m } = await settle(gw);
    const elapsed = (performance.now() - t0) / 1000;
    const skipped: Record<string, number> = {};
    for (const [k, v] of m) {
      const reason = /^flowgate_tap_records_skipped_total\{reason="(\w+)"\}$/.exec(k)?.[1];
      if (reason) skipped[reason] = v - (before.get(k) ?? 0);
    }
    return {
      sent,
      delivered: counterDelta(m, before, 'flowgate_records_delivered_total'),
      droppedRecords: counterDelta(m, before, 'flowgate_records_dropped_total'),
      droppedDatagrams: counterDelta(m, before, 'flowgate_datagrams_dropped_total') + counterDelta(m, before, 'flowgate_udp_kernel_drops_total'),
      kernelDrops: counterDelta(m, before, 'flowgate_udp_kernel_drops_total'),
      cpuPct: ((cpuSeconds(gw.pid) - cpu0) / elapsed) * 100,
      rssMb: rssMb(gw.pid),
      tapRecords: open.reduce((n, c) => n + c.records, 0),
      tapSent: counterDelta(m, before, 'flowgate_tap_records_sent_total'),
      tapSkipped: skipped,
      clientsAtEnd: m.get('flowgate_tap_clients') ?? 0,
      clientsClosedEarly: open.filter((c) => c.closedEarly).length,
    };
  } finally {
    for (const c of open) c.close();
    await stopGateway(gw);
    await deleteBenchTopics(brokers, log);
  }
}

async function main(): Promise<void> {
  const broker = opts.bootstrap ? { bootstrap: opts.bootstrap, release: async () => undefined } : await ensureBroker(undefined, log);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const args = process.argv.slice(2).join(' ');
  try {
    const brokers = broker.bootstrap;
    out(`tap load: ${int(rate)} records/s offered for ${seconds} s, workers ${opts.workers}, ${opts.rpp} records/datagram; `
      + `with: ${clientCount} tap clients, filters ${filters}, max_rate ${int(clientRate)} each; broker ${brokers}`);
    const rows: string[][] = [];
    const pairs: { without: TapRun; with: TapRun }[] = [];
    for (let i = 0; i < Number(opts.repeat); i++) {
      const without = await runOnce(brokers, 0);
      log(`without tap: delivered ${without.delivered}/${without.sent.records}, cpu ${without.cpuPct.toFixed(0)} %`);
      const withTap = await runOnce(brokers, clientCount);
      log(`with ${clientCount} tap clients: delivered ${withTap.delivered}/${withTap.sent.records}, cpu ${withTap.cpuPct.toFixed(0)} %, clients got ${withTap.tapRecords}`);
      pairs.push({ without, with: withTap });
      for (const [label, r] of [['without tap', without], [`${clientCount} tap clients`, withTap]] as const) {
        rows.push([label, int(r.sent.records), int(r.delivered), fixed((r.delivered / r.sent.records) * 100, 2), int(r.droppedRecords), `${int(r.droppedDatagrams)} (kernel ${int(r.kernelDrops)})`,
          fixed(r.cpuPct), fixed(r.rssMb), int(r.tapRecords), Object.entries(r.tapSkipped).map(([k, v]) => `${k} ${int(v)}`).join(', ') || '-',
          r === withTap ? `${r.clientsAtEnd}/${clientCount}` : '-', r === withTap ? ratio(r.delivered / r.sent.records, without.delivered / without.sent.records) : '']);
      }
    }
    out('');
    out(renderTable(['run', 'sent', 'delivered', 'delivered %', 'records dropped', 'datagrams dropped', 'cpu %', 'rss MB', 'tap records', 'tap skipped', 'clients at end', 'ratio'], rows));
    out('');
    out('ratio = delivered share with the tap clients / delivered share without (same offered rate, same run): 1.00 = the tap took nothing from ingest.');
    const last = pairs.at(-1)!;
    mergeResults({
      tap_load_offered_records_per_s: rate, tap_load_seconds: seconds, tap_load_clients: clientCount, tap_load_filters: filters, tap_load_client_max_rate: clientRate,
      tap_load_runs: pairs.map((p) => ({
        without: { sent: p.without.sent.records, delivered: p.without.delivered, cpu_pct: Math.round(p.without.cpuPct) },
        with: { sent: p.with.sent.records, delivered: p.with.delivered, cpu_pct: Math.round(p.with.cpuPct), tap_records: p.with.tapRecords, tap_sent: p.with.tapSent, tap_skipped: p.with.tapSkipped, clients_at_end: p.with.clientsAtEnd },
        ratio: (p.with.delivered / p.with.sent.records) / (p.without.delivered / p.without.sent.records),
      })),
      tap_load_ratio: (last.with.delivered / last.with.sent.records) / (last.without.delivered / last.without.sent.records),
      tap_load_cpu_without_pct: Math.round(last.without.cpuPct),
      tap_load_cpu_with_pct: Math.round(last.with.cpuPct),
      tap_load_tap_records: last.with.tapRecords,
      tap_load_bench_command: `node dist/bench/tap-load.bench.js ${args}`.trim(),
    });
    out(`reproduce: cd ${projectRoot()} && npm run build && node dist/bench/tap-load.bench.js ${args}`);
  } finally {
    await broker.release();
  }
}

await main();
