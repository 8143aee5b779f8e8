// Noisy exporter (issue 14): one exporter sending at --factor (10) times its neighbours' rate, all
// of them on the same decoder worker (workers: 1 by default; with more, bench/loadgen's addresses
// are checked against src/net/exporter-owner.ts and the table says whether they share one), each
// a real socket (two bench/loadgen processes: the neighbours on 127.0.1.1 on, the noisy one on the
// next address). Two runs on fresh gateways: with admission.rate_limit set so that the noisy one
// is limited and the neighbours are not (by default twice a neighbour's datagram rate), and
// without it. Must hold: every neighbour record sent is delivered with the limit; the noisy one's
// excess is counted rate_limited, by exporter. Without the limit: what the neighbours lose, if
// anything (ring_full, kernel drops), beside the noisy one.
//
//   npm run build && node dist/bench/edge-noisy.bench.js [--quick]
//   options: --neighbours N (4)  --neighbour-rate R (records/s each, 40000; quick 5000)  --factor F (10)
//            --seconds S (10; quick 3)  --rpp N (records per datagram, 25)  --limit D (datagrams/s per
//            exporter; default twice a neighbour's)  --burst D (default --limit)  --workers N (1)
//            --sink kafka|discard (kafka)  --bootstrap HOST:PORT (else the local broker, started if none)
//
// Figures go to stdout and into bench/results.json (edge_noisy_limited_*, edge_noisy_unlimited_*).
import { parseArgs } from 'node:util';
import { parseIP } from '../src/config/addresses.js';
import { ownerWorker } from '../src/net/exporter-owner.js';
import { total } from '../test/support/prometheus.js';
import { exporterAddress } from './loadgen/ipfix.js';
import { byLabel, brokerFor, edgeGatewayConfig, identities, listCell } from './lib/edge.js';
import { benchTopic, deleteBenchTopics, settle, startGateway, stopGateway } from './lib/gateway-step.js';
import { runLoadgen, type Sent } from './lib/loadgen.js';
import { mergeResults } from './lib/results.js';
import { fixed, int, renderTable } from './lib/table.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    neighbours: { type: 'string', default: '4' },
    'neighbour-rate': { type: 'string' },
    factor: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    rpp: { type: 'string', default: '25' },
    limit: { type: 'string' },
    burst: { type: 'string' },
    workers: { type: 'string', default: '1' },
    sink: { type: 'string', default: 'kafka' },
    bootstrap: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write('usage: node dist/bench/edge-noisy.bench.js [--quick] [--neighbours N] [--neighbour-rate R] [--factor F] [--seconds S] [--rpp N]\n'
    + '         [--limit D] [--burst D] [--workers N] [--sink kafka|discard] [--bootstrap HOST:PORT]\n'
    + '(see the header of bench/edge-noisy.bench.ts)\n');
  process.exit(0);
}
const quick = opts.quick;
const neighbours = Number(opts.neighbours);
const neighbourRate = Number(opts['neighbour-rate'] ?? (quick ? 5000 : 40_000));
const factor = Number(opts.factor);
const seconds = Number(opts.seconds ?? (quick ? 3 : 10));
const rpp = Number(opts.rpp);
const workers = Number(opts.workers);
const sink = opts.sink === 'discard' ? 'discard' : 'kafka';
// A neighbour's datagrams/s: its data datagrams and bench/loadgen's template message every 20 of them.
const neighbourDatagrams = (neighbourRate / rpp) * (21 / 20);
const limit = Number(opts.limit ?? Math.ceil(2 * neighbourDatagrams));
const burst = Number(opts.burst ?? limit);
const neighbourAddresses = Array.from({ length: neighbours }, (_, i) => exporterAddress(i));
const noisyAddress = exporterAddress(neighbours);
const log = (m: string) => process.stderr.write(`[edge-noisy] ${m}\n`);
const out = (s: string) => process.stdout.write(`${s}\n`);

const worker = (address: string): number => {
  const ip = parseIP(address);
  if (!ip || ip.family !== 4) throw new Error(`not an IPv4 address: ${address}`);
  const mapped = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ip.v4 >>> 24, (ip.v4 >>> 16) & 0xff, (ip.v4 >>> 8) & 0xff, ip.v4 & 0xff]);
  return ownerWorker(mapped, 0, workers);
};

interface Outcome {
  limited: boolean;
  neighbours: Sent;
  noisy: Sent;
  delivered: Map<string, number>;
  decoded: Map<string, number>;
  rateLimited: Map<string, number>;
  drops: [string, number][];
  kernelDrops: number;
  identity: ReturnType<typeof identities>;
}

/** One run on a fresh gateway: both generators at once for `seconds`, then everything accounted for. */
async function run(brokers: string, limited: boolean): Promise<Outcome> {
  const config = edgeGatewayConfig({
    brokers, workers, sink, defaultTopic: benchTopic(), unknownExporters: 'drop',
    tenants: [{ name: 'neighbours', topic: benchTopic(), exporters: neighbourAddresses }, { name: 'noisy', topic: benchTopic(), exporters: [noisyAddress] }],
    admissionYaml: limited ? `  rate_limit: { datagrams_per_s: ${limit}, burst: ${burst} }\n` : '',
  });
  const { gw, udp } = await startGateway(config);
  try {
    const before = await gw.metrics();
    const rppArgs = ['--records-per-packet', String(rpp), '--duration', String(seconds)];
    const [n, x] = await Promise.all([
      runLoadgen(udp, ['--exporters', String(neighbours), '--rate', String(neighbourRate * neighbours), ...rppArgs]),
      runLoadgen(udp, ['--exporters', '1', '--first-exporter', String(neighbours), '--rate', String(neighbourRate * factor), ...rppArgs]),
    ]);
    const m = (await settle(gw, 120_000)).m;
    await gw.stop('SIGTERM');
    const identity = identities(gw.accounting());
    const drops = byLabel(m, 'flowgate_datagrams_dropped_total', 'reason');
    const beforeDrops = new Map(byLabel(before, 'flowgate_datagrams_dropped_total', 'reason'));
    return {
      limited, neighbours: n, noisy: x,
      delivered: new Map(byLabel(m, 'flowgate_records_delivered_total', 'tenant')),
      decoded: new Map(byLabel(m, 'flowgate_records_decoded_total', 'tenant')),
      rateLimited: new Map(byLabel(m, 'flowgate_exporter_datagrams_rate_limited_total', 'exporter')),
      drops: drops.map(([k, v]): [string, number] => [k, v - (beforeDrops.get(k) ?? 0)]).filter(([, v]) => v > 0),
      kernelDrops: total(m, 'flowgate_udp_kernel_drops_total') - total(before, 'flowgate_udp_kernel_drops_total'),
      identity,
    };
  } finally {
    await stopGateway(gw);
  }
}

async function main(): Promise<number> {
  const broker = await brokerFor(opts.bootstrap, log);
  const sameWorker = [...neighbourAddresses, noisyAddress].every((a) => worker(a) === worker(noisyAddress));
  out(`edge-noisy: ${neighbours} neighbours (${neighbourAddresses[0]}-${neighbourAddresses.at(-1)}) at ${int(neighbourRate)} records/s each (~${int(neighbourDatagrams)} datagrams/s), `
    + `the noisy ${noisyAddress} at ${factor}x (${int(neighbourRate * factor)} records/s), ${rpp} records/datagram, ${seconds} s; workers ${workers} `
    + `(all on worker ${worker(noisyAddress)}: ${sameWorker ? 'yes' : 'NO'}); rate limit ${int(limit)} datagrams/s, burst ${int(burst)}; sink ${sink}, broker ${broker.bootstrap}`);
  const outcomes: Outcome[] = [];
  try {
    for (const limited of [true, false]) {
      log(limited ? 'with admission.rate_limit' : 'without a rate limit');
      outcomes.push(await run(broker.bootstrap, limited));
      await deleteBenchTopics(broker.bootstrap, log);
    }
  } finally {
    await deleteBenchTopics(broker.bootstrap, log);
    await broker.release();
  }
  const rows: string[][] = [];
  for (const o of outcomes) {
    const label = o.limited ? `rate limit ${int(limit)}/s` : 'no rate limit';
    const neighboursLimited = neighbourAddresses.reduce((n, a) => n + (o.rateLimited.get(a) ?? 0), 0);
    const nDelivered = o.delivered.get('neighbours') ?? 0;
    const xDelivered = o.delivered.get('noisy') ?? 0;
    rows.push([label, `neighbours (${neighbours})`, int(o.neighbours.records), int(o.neighbours.records / o.neighbours.seconds), int(nDelivered), int(o.neighbours.records - nDelivered),
      nDelivered === o.neighbours.records ? 'all' : 'NOT all', int(neighboursLimited)]);
    rows.push([label, 'noisy', int(o.noisy.records), int(o.noisy.records / o.noisy.seconds), int(xDelivered), int(o.noisy.records - xDelivered),
      fixed((xDelivered / o.noisy.records) * 100, 1) + ' %', int(o.rateLimited.get(noisyAddress) ?? 0)]);
  }
  out('');
  out(renderTable(['run', 'exporter', 'records sent', 'sent/s', 'delivered', 'not delivered', 'delivered share', 'datagrams rate_limited'], rows,
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right']));
  out('');
  for (const o of outcomes) {
    out(`${o.limited ? 'with the rate limit' : 'without'}: datagrams dropped by reason ${listCell(o.drops)}; kernel drops ${int(o.kernelDrops)}`);
    out(`  ${o.identity.datagrams}`);
    out(`  ${o.identity.records}`);
  }
  out(`reproduce: npm run build && node dist/bench/edge-noisy.bench.js ${process.argv.slice(2).join(' ')}`.trimEnd());
  const results: Record<string, unknown> = { edge_noisy_neighbours: neighbours, edge_noisy_neighbour_records_per_s: neighbourRate, edge_noisy_factor: factor,
    edge_noisy_limit_datagrams_per_s: limit, edge_noisy_burst: burst, edge_noisy_same_worker: sameWorker };
  for (const o of outcomes) {
    const k = o.limited ? 'edge_noisy_limited_' : 'edge_noisy_unlimited_';
    Object.assign(results, {
      [`${k}neighbours_sent`]: o.neighbours.records, [`${k}neighbours_delivered`]: o.delivered.get('neighbours') ?? 0,
      [`${k}noisy_sent`]: o.noisy.records, [`${k}noisy_delivered`]: o.delivered.get('noisy') ?? 0,
      [`${k}noisy_rate_limited`]: o.rateLimited.get(noisyAddress) ?? 0,
      [`${k}neighbours_rate_limited`]: neighbourAddresses.reduce((n, a) => n + (o.rateLimited.get(a) ?? 0), 0),
      [`${k}datagram_drops`]: Object.fromEntries(o.drops), [`${k}kernel_drops`]: o.kernelDrops, [`${k}identity_holds`]: o.identity.holds,
    });
  }
  mergeResults(results);
  return outcomes.every((o) => o.identity.holds) ? 0 : 1;
}

process.exitCode = await main();
