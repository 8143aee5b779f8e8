// Spoofed flood (issue 14): forged exporters, as many as --sources, from addresses in
// 127.0.0.0/8 (bench/loadgen/flood.c, a raw socket), send valid-looking softflowd IPFIX datagrams
// (a corpus capture's templates and data, in capture order, to every forged source) as fast as the
// sender goes, while five real exporters (their own sockets on 127.0.0.11-15, the corpus replay
// tool) replay corpus captures, each owned by a tenant (so their sessions are "protected"). Do
// the real exporters lose anything, what happens to the forged datagrams, what does it cost?
//
//   npm run build && node dist/bench/edge-spoof.bench.js [--quick]
//   options: --sources N (100000; quick 10000)  --first-source A (127.100.0.0)  --rate D (forged
//            datagrams/s, 0 = as fast as the sender goes)  --seconds S (20; quick 6: the flood's
//            length, the real exporters' replays spread over it)  --loops N (3; quick 1: times each
//            capture is replayed)  --capture NAME (softflowd_v10_mixed: the forged payloads)
//            --workers N (1)  --admission open|tenants_only (open: the flood reaches the decoders)
//            --unknown drop|default (drop: forged records counted no_tenant, kept out of Kafka)
//            --sink kafka|discard (kafka)  --bootstrap HOST:PORT (else the local broker, started if none)
//            --firewall (apply `flowgate firewall`'s nftables ruleset for the gateway's port while it
//            runs, table flowgate_bench_<pid>, deleted at the end: the kernel drops what admission
//            refuses before the socket buffer; most useful with --admission tenants_only)
//
// Expected records per real exporter: its capture decoded `loops` times over by the production
// decoder (WasmDecoder), as one exporter sends it; Wireshark's count of flow records (the truth
// file, options records left out) times `loops` beside it. Forged datagrams received = the
// gateway's datagrams received minus the real exporters' datagrams sent (a lower bound: the real
// exporters share the socket's buffer with the flood, and what the kernel drops of theirs is
// missing from both). Needs root (a raw socket).
// Figures go to stdout and into bench/results.json (edge_spoof_*).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { renderNftables } from '../src/net/nftables.js';
import { WasmDecoder } from '../src/decoder/wasm.js';
import { readDatagrams } from '../test/state/capture-split.js';
import { capturePath, replayAsync, truth } from '../test/support/corpus.js';
import { total } from '../test/support/prometheus.js';
import { byLabel, brokerFor, edgeGatewayConfig, identities, labelDelta, listCell, RssPeaks, sessionsEvicted, sleep, softnetDropped } from './lib/edge.js';
import { checkForgedDelivery, FloodUnavailable, inForgedRange, lastSource, runFlood } from './lib/flood.js';
import { benchTopic, deleteBenchTopics, settle, startGateway, stopGateway } from './lib/gateway-step.js';
import { mergeResults } from './lib/results.js';
import { fixed, int, renderTable } from './lib/table.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sources: { type: 'string' },
    'first-source': { type: 'string', default: '127.100.0.0' },
    rate: { type: 'string', default: '0' },
    seconds: { type: 'string' },
    loops: { type: 'string' },
    capture: { type: 'string', default: 'softflowd_v10_mixed' },
    workers: { type: 'string', default: '1' },
    admission: { type: 'string', default: 'open' },
    unknown: { type: 'string', default: 'drop' },
    sink: { type: 'string', default: 'kafka' },
    firewall: { type: 'boolean', default: false },
    bootstrap: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write('usage: node dist/bench/edge-spoof.bench.js [--quick] [--sources N] [--first-source A] [--rate D] [--seconds S] [--loops N]\n'
    + '         [--capture NAME] [--workers N] [--admission open|tenants_only] [--unknown drop|default] [--sink kafka|discard] [--bootstrap HOST:PORT]\n'
    + '(see the header of bench/edge-spoof.bench.ts)\n');
  process.exit(0);
}
const quick = opts.quick;
const sources = Number(opts.sources ?? (quick ? 10_000 : 100_000));
const firstSource = opts['first-source'];
const floodSeconds = Number(opts.seconds ?? (quick ? 6 : 20));
const loops = Number(opts.loops ?? (quick ? 1 : 3));
const admission = opts.admission === 'tenants_only' ? 'tenants_only' : 'open';
const unknown = opts.unknown === 'default' ? 'default' : 'drop';
const sink = opts.sink === 'discard' ? 'discard' : 'kafka';
const log = (m: string) => process.stderr.write(`[edge-spoof] ${m}\n`);
const out = (s: string) => process.stdout.write(`${s}\n`);

/** The real exporters: a capture each, from an address of their own; each one a tenant's. */
const REAL = [
  { capture: 'softflowd_v10_mixed', address: '127.0.0.11' },
  { capture: 'pmacct_v10_mixed', address: '127.0.0.12' },
  { capture: 'softflowd_v9_mixed', address: '127.0.0.13' },
  { capture: 'softflowd_v10_bidir_mixed', address: '127.0.0.14' },
  { capture: 'fprobe_v5_mixed', address: '127.0.0.15' },
] as const;

const mapped = (address: string): Uint8Array => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...address.split('.').map(Number)]);

/** Records the gateway should decode from one exporter sending the capture `loops` times (the production decoder, the same order). */
function expectedRecords(capture: string, address: string): { datagrams: number; records: number; truthFlows: number } {
  const datagrams = readDatagrams(capturePath(capture));
  const d = new WasmDecoder();
  const from = mapped(address);
  let records = 0;
  let now = Date.now();
  for (let l = 0; l < loops; l++) for (const g of datagrams) records += Math.max(0, d.decode(g.payload, from, 40000, now++));
  const truthFlows = truth(capture).filter((r) => !r.options).length * loops;
  return { datagrams: datagrams.length * loops, records, truthFlows };
}

const nftTable = `flowgate_bench_${process.pid}`;

/** Applies the gateway's admission rules, for its UDP port, as nftables rules in this namespace. */
function applyFirewall(configYaml: string, udpPort: number): void {
  const config = parseConfig(configYaml);
  const rules = renderNftables({ ...config, listen: { ...config.listen, udp: [`127.0.0.1:${udpPort}`] } }, nftTable, 'edge-spoof');
  const r = spawnSync('nft', ['-f', '-'], { input: rules, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft -f: ${r.error?.message ?? r.stderr}`);
}

/** The firewall's counters (packets), or null when it was not applied. */
function firewallCounters(): Record<string, number> | null {
  const r = spawnSync('nft', ['-j', 'list', 'counters', 'table', 'inet', nftTable], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const parsed = JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] };
  return Object.fromEntries(parsed.nftables.flatMap((e) => (e.counter ? [[e.counter.name, e.counter.packets]] : [])));
}

function removeFirewall(): void {
  spawnSync('nft', ['delete', 'table', 'inet', nftTable]);
}

async function main(): Promise<number> {
  const last = lastSource(firstSource, sources);
  for (const r of REAL) if (inForgedRange(r.address, firstSource, sources)) throw new Error(`the forged range ${firstSource}-${last} holds the real exporter ${r.address}`);
  await checkForgedDelivery(firstSource);
  const forged = readDatagrams(capturePath(opts.capture)).map((d) => d.payload);
  const real = REAL.map((r, i) => ({ ...r, tenant: `real${i + 1}`, topic: benchTopic(), ...expectedRecords(r.capture, r.address) }));
  const realDatagrams = real.reduce((n, r) => n + r.datagrams, 0);
  const broker = await brokerFor(opts.bootstrap, log);
  const config = edgeGatewayConfig({
    brokers: broker.bootstrap, workers: Number(opts.workers), sink, defaultTopic: benchTopic(), unknownExporters: unknown,
    tenants: real.map((r) => ({ name: r.tenant, topic: r.topic, exporters: [r.address] })),
    admissionYaml: admission === 'tenants_only' ? '  tenants_only: true\n' : '',
  });
  out(`edge-spoof: ${int(sources)} forged sources ${firstSource}-${last} sending ${opts.capture} (${forged.length} datagrams each, in turn) at ${Number(opts.rate) ? `${int(Number(opts.rate))} datagrams/s` : 'the sender\'s highest rate'} `
    + `for ~${floodSeconds} s; 5 real exporters replaying captures ${loops}x; workers ${opts.workers}, admission ${admission}${opts.firewall ? ' (also in the kernel: flowgate firewall)' : ''}, unknown_exporters ${unknown}, sink ${sink}, broker ${broker.bootstrap}`);
  let failed = false;
  try {
    const { gw, udp } = await startGateway(config);
    if (opts.firewall) applyFirewall(config, udp);
    const rss = new RssPeaks(gw.pid);
    let flood, m0, m1, accounting, softnet0, softnet1, firewall: Record<string, number> | null = null;
    try {
      m0 = await gw.metrics();
      softnet0 = softnetDropped();
      const stopFlood = new AbortController();
      rss.phase('flood');
      const flooding = runFlood(udp, forged, { sources, firstSource, rate: Number(opts.rate), seconds: floodSeconds * 3 + 60, signal: stopFlood.signal });
      try {
        await sleep(1000); // forged sessions first: the real exporters arrive into a full table
        const replaySeconds = Math.max(1, floodSeconds - 2);
        log(`flood running; replaying the real exporters' captures over ~${replaySeconds} s`);
        await Promise.all(real.map((r) => replayAsync(r.capture, `127.0.0.1:${udp}`, {
          bind: r.address, loop: loops, pps: Math.max(1, Math.ceil(r.datagrams / replaySeconds)),
        })));
        await sleep(1000);
      } finally {
        stopFlood.abort();
        flood = await flooding;
      }
      rss.phase('drain');
      log(`flood stopped: ${int(flood.datagrams)} datagrams in ${flood.seconds.toFixed(1)} s; waiting until every record is accounted for`);
      m1 = (await settle(gw, 180_000)).m;
      firewall = firewallCounters();
      softnet1 = softnetDropped();
      await gw.stop('SIGTERM');
      accounting = gw.accounting();
    } finally {
      rss.stop();
      if (opts.firewall) removeFirewall();
      await stopGateway(gw);
    }

    // Real exporters.
    const delivered = new Map(byLabel(m1, 'flowgate_records_delivered_total', 'tenant'));
    const decoded = new Map(byLabel(m1, 'flowgate_records_decoded_total', 'tenant'));
    const realRows = real.map((r) => {
      const got = delivered.get(r.tenant) ?? 0;
      return [`${r.address} ${r.capture}`, int(r.records), int(r.truthFlows), int(decoded.get(r.tenant) ?? 0), int(got), int(r.records - got), got === r.records ? 'all' : 'NOT all'];
    });
    const realExpected = real.reduce((n, r) => n + r.records, 0);
    const realDelivered = real.reduce((n, r) => n + (delivered.get(r.tenant) ?? 0), 0);
    out('');
    out('real exporters (tenant-owned), records:');
    out(renderTable(['exporter', 'expected (decoder)', 'truth flows', 'decoded', 'delivered', 'missing', ''], [...realRows,
      ['all five', int(realExpected), int(real.reduce((n, r) => n + r.truthFlows, 0)), int(real.reduce((n, r) => n + (decoded.get(r.tenant) ?? 0), 0)), int(realDelivered), int(realExpected - realDelivered), realDelivered === realExpected ? 'all' : 'NOT all']]));

    // Forged datagrams.
    const received = total(m1, 'flowgate_datagrams_received_total') - total(m0, 'flowgate_datagrams_received_total');
    const forgedReceived = received - realDatagrams;
    const kernelDrops = total(m1, 'flowgate_udp_kernel_drops_total') - total(m0, 'flowgate_udp_kernel_drops_total');
    const backlogDrops = softnet0 !== null && softnet1 !== null ? softnet1 - softnet0 : null;
    const receiverDrops = labelDelta(byLabel(m1, 'flowgate_datagrams_dropped_total', 'reason'), byLabel(m0, 'flowgate_datagrams_dropped_total', 'reason'));
    const decoderEvents = labelDelta(byLabel(m1, 'flowgate_decoder_events_total', 'reason'), byLabel(m0, 'flowgate_decoder_events_total', 'reason'));
    const recordDrops = labelDelta(byLabel(m1, 'flowgate_records_dropped_total', 'reason'), byLabel(m0, 'flowgate_records_dropped_total', 'reason'));
    const evicted = sessionsEvicted(m1);
    const senderRate = flood.datagrams / flood.seconds;
    out('');
    out('forged datagrams:');
    out(renderTable(['figure', 'value'], [
      ['sent (handed to the kernel)', int(flood.datagrams)],
      ['sender rate, datagrams/s', `${int(senderRate)} (${int(flood.bytes / flood.seconds / 1e6)} MB/s, sender CPU ${fixed((flood.cpu_s / flood.seconds) * 100)} %)`],
      ['forged sources reached', int(flood.sources_reached)],
      ['received by the gateway (at least)', `${int(forgedReceived)} (${fixed((forgedReceived / flood.datagrams) * 100, 1)} %)`],
      ['dropped by the firewall (nftables counters)', firewall ? Object.entries(firewall).map(([k, v]) => `${k} ${int(v)}`).join(', ') : 'n/a (no --firewall)'],
      ['lost in the kernel: socket buffer full', int(kernelDrops)],
      ['lost in the kernel: input backlog (softnet_stat)', backlogDrops === null ? 'n/a' : int(backlogDrops)],
      ['datagrams dropped, by reason (receiver and decoder)', listCell(receiverDrops)],
      ['decoder events, by reason', listCell(decoderEvents)],
      ['records dropped, by reason (all exporters)', listCell(recordDrops)],
      ['records decoded from unknown exporters', int(decoded.get('_unknown') ?? 0)],
      ['sessions evicted', evicted ? `${int(evicted.total)} (${evicted.series.join(', ')})` : 'n/a (no such metric in this build)'],
      ['exporter sessions known at the end', int(m1.get('flowgate_exporters') ?? NaN)],
      ['gateway RSS peak, MB', `${fixed(rss.peak())} (before the flood ${fixed(rss.peak('start'))}, during ${fixed(rss.peak('flood'))}, draining ${fixed(rss.peak('drain'))})`],
    ]));
    const id = identities(accounting);
    out('');
    out('accounting at the end (the "stopped" event):');
    out(`- ${id.datagrams}`);
    out(`- ${id.records}`);
    out(`reproduce: npm run build && node dist/bench/edge-spoof.bench.js ${process.argv.slice(2).join(' ')}`.trimEnd());
    failed = !id.holds;
    mergeResults({
      edge_spoof_sources: sources, edge_spoof_admission: admission, edge_spoof_loops: loops,
      edge_spoof_real_expected: realExpected, edge_spoof_real_delivered: realDelivered,
      edge_spoof_real_by_exporter: Object.fromEntries(real.map((r) => [r.address, { capture: r.capture, expected: r.records, truth_flows: r.truthFlows, delivered: delivered.get(r.tenant) ?? 0 }])),
      edge_spoof_sent: flood.datagrams, edge_spoof_sender_datagrams_per_s: Math.round(senderRate), edge_spoof_received: forgedReceived,
      edge_spoof_kernel_drops: kernelDrops, edge_spoof_backlog_drops: backlogDrops,
      edge_spoof_receiver_drops: Object.fromEntries(receiverDrops), edge_spoof_decoder_events: Object.fromEntries(decoderEvents),
      edge_spoof_record_drops: Object.fromEntries(recordDrops), edge_spoof_sessions_evicted: evicted?.total ?? null,
      edge_spoof_rss_peak_mb: Math.round(rss.peak()), edge_spoof_rss_before_mb: Math.round(rss.peak('start')),
      edge_spoof_identity_holds: id.holds, edge_spoof_firewall: firewall,
    });
  } finally {
    await deleteBenchTopics(broker.bootstrap, log);
    await broker.release();
  }
  return failed ? 1 : 0;
}

process.exitCode = await main().catch((err: unknown) => {
  if (!(err instanceof FloodUnavailable)) throw err;
  out(`edge-spoof: n/a: ${err.message}`);
  return 2; // the suite's "cannot be measured here", not a failure
});
