// Template flood (issue 14): forged exporters, as many as --exporters, from addresses in
// 127.0.0.0/8 (bench/loadgen/flood.c, a raw socket) each define --templates IPFIX templates and
// then the malformed-but-parseable ones of bench/lib/forged-templates.ts (65,534- and 65,535-byte
// fields, zero fields, 1,000 fields, one id as data and options template), over and over, as fast
// as the sender goes. Meanwhile a real exporter (bench/loadgen, its own socket on 127.0.1.1),
// owned by a tenant, sends at a fixed rate: its records decoded and delivered per second without
// the flood, then with it, in the same run on the same gateway, and the gateway's RSS before,
// during (each half) and after. The issue's target: memory bounded, the real exporter's rate
// unchanged within 10 %.
//
//   npm run build && node dist/bench/edge-templates.bench.js [--quick]
//   options: --exporters N (10000; quick 1000)  --templates N (256; quick 64)  --first-source A
//            (127.200.0.0)  --rate D (forged datagrams/s, 0 = as fast as the sender goes)
//            --real-rate R (the real exporter's records/s, 50000; quick 20000)  --seconds S (each
//            measured phase, 10; quick 4)  --rpp N (records per datagram, 25)  --workers N (1)
//            --sink kafka|discard (kafka)  --bootstrap HOST:PORT (else the local broker, started if none)
//
// Needs root (a raw socket). Figures go to stdout and into bench/results.json (edge_templates_*).
import { parseArgs } from 'node:util';
import { total } from '../test/support/prometheus.js';
import { exporterAddress } from './loadgen/ipfix.js';
import { byLabel, brokerFor, edgeGatewayConfig, identities, labelDelta, listCell, RssPeaks, sessionsEvicted, sleep, softnetDropped } from './lib/edge.js';
import { checkForgedDelivery, FloodUnavailable, inForgedRange, lastSource, runFlood, type FloodSent } from './lib/flood.js';
import { templateFlood, templateRecordsSent } from './lib/forged-templates.js';
import { benchTopic, deleteBenchTopics, settle, startGateway, stopGateway } from './lib/gateway-step.js';
import { runLoadgen, type Sent } from './lib/loadgen.js';
import { mergeResults } from './lib/results.js';
import { fixed, int, ratio, renderTable } from './lib/table.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    exporters: { type: 'string' },
    templates: { type: 'string' },
    'first-source': { type: 'string', default: '127.200.0.0' },
    rate: { type: 'string', default: '0' },
    'real-rate': { type: 'string' },
    seconds: { type: 'string' },
    rpp: { type: 'string', default: '25' },
    workers: { type: 'string', default: '1' },
    sink: { type: 'string', default: 'kafka' },
    bootstrap: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write('usage: node dist/bench/edge-templates.bench.js [--quick] [--exporters N] [--templates N] [--first-source A] [--rate D]\n'
    + '         [--real-rate R] [--seconds S] [--rpp N] [--workers N] [--sink kafka|discard] [--bootstrap HOST:PORT]\n'
    + '(see the header of bench/edge-templates.bench.ts)\n');
  process.exit(0);
}
const quick = opts.quick;
const exporters = Number(opts.exporters ?? (quick ? 1000 : 10_000));
const templates = Number(opts.templates ?? (quick ? 64 : 256));
const firstSource = opts['first-source'];
const realRate = Number(opts['real-rate'] ?? (quick ? 20_000 : 50_000));
const seconds = Number(opts.seconds ?? (quick ? 4 : 10));
const sink = opts.sink === 'discard' ? 'discard' : 'kafka';
const REAL = exporterAddress(0); // bench/loadgen's first exporter
const log = (m: string) => process.stderr.write(`[edge-templates] ${m}\n`);
const out = (s: string) => process.stdout.write(`${s}\n`);

interface Phase {
  name: string;
  sent: Sent;
  decoded: number;
  delivered: number;
}

async function main(): Promise<number> {
  const last = lastSource(firstSource, exporters);
  if (inForgedRange(REAL, firstSource, exporters)) throw new Error(`the forged range ${firstSource}-${last} holds the real exporter ${REAL}`);
  await checkForgedDelivery(firstSource);
  const flood = templateFlood(templates);
  const broker = await brokerFor(opts.bootstrap, log);
  const config = edgeGatewayConfig({
    brokers: broker.bootstrap, workers: Number(opts.workers), sink, defaultTopic: benchTopic(), unknownExporters: 'drop',
    tenants: [{ name: 'real', topic: benchTopic(), exporters: [REAL] }],
  });
  out(`edge-templates: ${int(exporters)} forged exporters ${firstSource}-${last}, each ${int(templates)} templates + ${flood.malformed} malformed `
    + `(${flood.datagrams.length} datagrams, ${int(flood.datagrams.reduce((n, d) => n + d.length, 0))} B, in turn) at ${Number(opts.rate) ? `${int(Number(opts.rate))} datagrams/s` : 'the sender\'s highest rate'}; `
    + `real exporter ${REAL} at ${int(realRate)} records/s (${opts.rpp}/datagram) for ${seconds} s without, then with the flood; workers ${opts.workers}, sink ${sink}, broker ${broker.bootstrap}`);
  let failed = false;
  try {
    const { gw, udp } = await startGateway(config);
    const rss = new RssPeaks(gw.pid);
    const phases: Phase[] = [];
    let sent: FloodSent, mStart, mFlood, mEnd, accounting, softnet0, softnet1;
    /** The real exporter at its fixed rate for `seconds`, then every record it sent accounted for. */
    const measure = async (name: string, during?: () => void): Promise<Map<string, number>> => {
      const before = await gw.metrics();
      const timer = during ? setTimeout(during, (seconds * 1000) / 2) : undefined;
      const s = await runLoadgen(udp, ['--exporters', '1', '--rate', String(realRate), '--duration', String(seconds), '--records-per-packet', opts.rpp]);
      clearTimeout(timer);
      const after = (await settle(gw, 60_000)).m; // forged templates bring no records: this waits for the real exporter's
      const tenant = (m: Map<string, number>, metric: string) => new Map(byLabel(m, metric, 'tenant')).get('real') ?? 0;
      phases.push({ name, sent: s, decoded: tenant(after, 'flowgate_records_decoded_total') - tenant(before, 'flowgate_records_decoded_total'),
        delivered: tenant(after, 'flowgate_records_delivered_total') - tenant(before, 'flowgate_records_delivered_total') });
      return after;
    };
    try {
      mStart = await gw.metrics();
      softnet0 = softnetDropped();
      rss.phase('without the flood');
      log('the real exporter alone');
      await measure('without the flood');
      const stopFlood = new AbortController();
      rss.phase('flood, first half');
      const flooding = runFlood(udp, flood.datagrams, { sources: exporters, firstSource, rate: Number(opts.rate), seconds: seconds * 3 + 60, signal: stopFlood.signal });
      try {
        await sleep(1000); // the flood under way before the measured window
        log('the real exporter beside the flood');
        mFlood = await measure('with the flood', () => rss.phase('flood, second half'));
      } finally {
        stopFlood.abort();
        sent = await flooding;
      }
      rss.phase('after the flood');
      mEnd = (await settle(gw, 120_000)).m;
      softnet1 = softnetDropped();
      await sleep(2000); // RSS once the flood is over
      await gw.stop('SIGTERM');
      accounting = gw.accounting();
    } finally {
      rss.stop();
      await stopGateway(gw);
    }

    const [base, flooded] = phases as [Phase, Phase];
    const perS = (p: Phase, n: number) => n / p.sent.seconds;
    out('');
    out(`real exporter ${REAL} (tenant-owned), ${int(realRate)} records/s offered:`);
    out(renderTable(['phase', 'records sent', 'decoded', 'delivered', 'decoded/s', 'delivered/s', 'x without', 'RSS peak MB'], phases.map((p, i) => [
      p.name, int(p.sent.records), int(p.decoded), int(p.delivered), int(perS(p, p.decoded)), int(perS(p, p.delivered)),
      i === 0 ? '1.00x' : ratio(perS(p, p.delivered), perS(base, base.delivered)),
      i === 0 ? fixed(rss.peak('without the flood')) : fixed(Math.max(rss.peak('flood, first half'), rss.peak('flood, second half'))),
    ])));
    const rateRatio = perS(flooded, flooded.delivered) / perS(base, base.delivered);
    const received = total(mEnd, 'flowgate_datagrams_received_total') - total(mStart, 'flowgate_datagrams_received_total')
      - base.sent.datagrams - flooded.sent.datagrams;
    const drops = labelDelta(byLabel(mEnd, 'flowgate_datagrams_dropped_total', 'reason'), byLabel(mStart, 'flowgate_datagrams_dropped_total', 'reason'));
    const events = labelDelta(byLabel(mEnd, 'flowgate_decoder_events_total', 'reason'), byLabel(mStart, 'flowgate_decoder_events_total', 'reason'));
    const evicted = sessionsEvicted(mEnd);
    const backlog = softnet0 !== null && softnet1 !== null ? softnet1 - softnet0 : null;
    out('');
    out('template flood:');
    out(renderTable(['figure', 'value'], [
      ['forged datagrams sent', `${int(sent.datagrams)} (${int(sent.datagrams / sent.seconds)}/s, ${int(sent.bytes / sent.seconds / 1e6)} MB/s, sender CPU ${fixed((sent.cpu_s / sent.seconds) * 100)} %)`],
      ['template records sent', int(templateRecordsSent(flood, exporters, sent.datagrams))],
      ['forged exporters reached', int(sent.sources_reached)],
      ['received by the gateway', `${int(received)} (${fixed((received / sent.datagrams) * 100, 1)} %)`],
      ['lost in the kernel: socket buffer full / input backlog', `${int(total(mEnd, 'flowgate_udp_kernel_drops_total') - total(mStart, 'flowgate_udp_kernel_drops_total'))} / ${backlog === null ? 'n/a' : int(backlog)}`],
      ['datagrams dropped, by reason (receiver and decoder)', listCell(drops)],
      ['decoder events, by reason', listCell(events)],
      ['templates known during the flood / at the end', `${int(mFlood.get('flowgate_templates') ?? NaN)} / ${int(mEnd.get('flowgate_templates') ?? NaN)}`],
      ['exporter sessions known during the flood / at the end', `${int(mFlood.get('flowgate_exporters') ?? NaN)} / ${int(mEnd.get('flowgate_exporters') ?? NaN)}`],
      ['sessions evicted', evicted ? `${int(evicted.total)} (${evicted.series.join(', ')})` : 'n/a (no such metric in this build)'],
      ['gateway RSS peak, MB', `before ${fixed(rss.peak('start'))}, without the flood ${fixed(rss.peak('without the flood'))}, flood 1st half ${fixed(rss.peak('flood, first half'))}, `
        + `2nd half ${fixed(rss.peak('flood, second half'))}, after ${fixed(rss.peak('after the flood'))}`],
    ]));
    const id = identities(accounting);
    out('');
    out(`the real exporter's delivered rate with the flood: ${ratio(perS(flooded, flooded.delivered), perS(base, base.delivered)) || 'n/a'} of without `
      + `(target: within 10 %: ${Math.abs(1 - rateRatio) <= 0.1 ? 'met' : 'NOT met'}); RSS peak with the flood ${fixed(Math.max(rss.peak('flood, first half'), rss.peak('flood, second half')))} MB `
      + `vs ${fixed(rss.peak('without the flood'))} MB without (2nd half of the flood ${fixed(rss.peak('flood, second half'))} vs 1st ${fixed(rss.peak('flood, first half'))}: growth while flooded)`);
    out('accounting at the end (the "stopped" event):');
    out(`- ${id.datagrams}`);
    out(`- ${id.records}`);
    out(`reproduce: npm run build && node dist/bench/edge-templates.bench.js ${process.argv.slice(2).join(' ')}`.trimEnd());
    failed = !id.holds;
    mergeResults({
      edge_templates_exporters: exporters, edge_templates_per_exporter: templates, edge_templates_malformed_per_exporter: flood.malformed,
      edge_templates_sent: sent.datagrams, edge_templates_sender_datagrams_per_s: Math.round(sent.datagrams / sent.seconds), edge_templates_received: received,
      edge_templates_real_offered_records_per_s: realRate,
      edge_templates_real_without_records_per_s: Math.round(perS(base, base.delivered)), edge_templates_real_with_records_per_s: Math.round(perS(flooded, flooded.delivered)),
      edge_templates_real_ratio: Number.isFinite(rateRatio) ? Number(rateRatio.toFixed(3)) : null,
      edge_templates_real_sent: base.sent.records + flooded.sent.records, edge_templates_real_delivered: base.delivered + flooded.delivered,
      edge_templates_datagram_drops: Object.fromEntries(drops), edge_templates_decoder_events: Object.fromEntries(events),
      edge_templates_known_during: mFlood.get('flowgate_templates') ?? null, edge_templates_sessions_evicted: evicted?.total ?? null,
      edge_templates_rss_without_mb: Math.round(rss.peak('without the flood')),
      edge_templates_rss_flood_mb: Math.round(Math.max(rss.peak('flood, first half'), rss.peak('flood, second half'))),
      edge_templates_rss_after_mb: Math.round(rss.peak('after the flood')),
      edge_templates_identity_holds: id.holds,
    });
  } finally {
    await deleteBenchTopics(broker.bootstrap, log);
    await broker.release();
  }
  return failed ? 1 : 0;
}

process.exitCode = await main().catch((err: unknown) => {
  if (!(err instanceof FloodUnavailable)) throw err;
  out(`edge-templates: n/a: ${err.message}`);
  return 2; // the suite's "cannot be measured here", not a failure
});
