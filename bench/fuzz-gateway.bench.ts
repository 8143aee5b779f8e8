// Fuzzing the whole running gateway, not only the decoder: millions of structure-aware mutations
// of every corpus datagram (bench/lib/mutate.ts) sent over UDP to a `flowgate serve` process, as
// fast as it takes them (the sender waits while the gateway's socket queue is over a window, so
// the kernel drops little and almost every mutation reaches the decoder). At the end: the
// process never died, no decoder trap, no worker restart, RSS under a bound the whole run, every
// datagram received accounted for (decoded or dropped by reason), the records' accounting
// identity exact, and SIGTERM answered with exit 0. Exit code 1 when any of that fails.
//
//   node dist/bench/fuzz-gateway.bench.js [--mutations 10000000] [--seed 1] [--sink discard|kafka]
//                                         [--workers 2] [--rss-bound-mb 768]
//
// The default sink is discard (kafka.sink: discard): ten million mutated datagrams decode to
// some hundred million records, more than is worth writing to this machine's disk; --sink kafka
// runs the same through the broker on 127.0.0.1:9092 (started if none answers; its topic deleted).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readCapture } from '../src/capture/pcap-reader.js';
import { corpusCaptures, pcapsDir } from '../test/support/corpus.js';
import { ensureBroker } from '../test/support/broker.js';
import { GatewayProcess } from '../test/support/gateway-process.js';
import { total } from '../test/support/prometheus.js';
import { Mutator, MUTATIONS } from './lib/mutate.js';
import { rssMb } from './lib/proc.js';
import { udpSocketCounters } from './lib/proc-net-udp.js';
import { benchTopic, deleteBenchTopics } from './lib/gateway-step.js';
import { mergeResults } from './lib/results.js';
import { renderTable, int, fixed } from './lib/table.js';

const { values } = parseArgs({
  options: {
    mutations: { type: 'string', default: '10000000' },
    seed: { type: 'string', default: '1' },
    sink: { type: 'string', default: 'discard' },
    workers: { type: 'string', default: '2' },
    sockets: { type: 'string', default: '16' },
    'rss-bound-mb': { type: 'string', default: '768' },
    'window-bytes': { type: 'string', default: '4194304' },
    brokers: { type: 'string', default: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const mutations = Number(values.mutations);
const sink = values.sink === 'kafka' ? 'kafka' : 'discard';
const rssBoundMb = Number(values['rss-bound-mb']);
const windowBytes = Number(values['window-bytes']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`${line}\n`);

const seeds: Uint8Array[] = [];
for (const capture of corpusCaptures) {
  readCapture(readFileSync(join(pcapsDir, `${capture}.pcap`)), (d) => seeds.push(Uint8Array.from(d.payload)));
}
const mutator = new Mutator(seeds, Number(values.seed));

const broker = sink === 'kafka' ? await ensureBroker(Number(values.brokers.split(':')[1]), log) : null;
const topic = benchTopic();
const gw = new GatewayProcess(`listen: { udp: ["127.0.0.1:0"], receive_buffer_bytes: 33554432 }
http: { listen: "127.0.0.1:0" }
workers: ${Number(values.workers)}
kafka: { brokers: ["${values.brokers}"], sink: ${sink} }
routing: { default_topic: ${topic} }
log: { level: info }
stats: { log_interval_s: 0 }
`, { keepEvents: 200 });
const failures: string[] = [];
try {
  const udp = (await gw.ready()).udp.v4!;
  const pid = gw.child.pid!;
  const rssStart = rssMb(pid);
  let rssPeak = rssStart;
  const sampler = setInterval(() => {
    const r = rssMb(pid);
    if (r > rssPeak) rssPeak = r;
  }, 250);

  const sockets: dgram.Socket[] = [];
  for (let i = 0; i < Number(values.sockets); i++) {
    const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
    await new Promise<void>((resolve) => s.bind(0, `127.0.7.${i + 1}`, resolve));
    sockets.push(s);
  }
  let sent = 0;
  let inFlight = 0;
  const done = (): void => {
    inFlight--;
  };
  const started = performance.now();
  let lastReport = started;
  for (let i = 0; i < mutations; i++) {
    sockets[i % sockets.length]!.send(mutator.next(), udp, '127.0.0.1', done);
    inFlight++;
    sent++;
    if ((i & 255) === 255) {
      // Let send callbacks run; wait while the gateway's socket holds more than the window.
      do await new Promise((r) => setImmediate(r));
      while (inFlight > 4096);
      while ((udpSocketCounters(udp, '127.0.0.1')?.rxQueue ?? 0) > windowBytes) await sleep(1);
      if (!gw.running) break;
      const now = performance.now();
      if (now - lastReport > 10_000) {
        log(`  ${int(sent)} sent, ${int(sent / ((now - started) / 1000))}/s, gateway RSS ${fixed(rssMb(pid))} MB`);
        lastReport = now;
      }
    }
  }
  while (inFlight > 0) await new Promise((r) => setImmediate(r));
  const sendSeconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.close();

  // Every datagram the kernel handed over is decoded or dropped, every record settled.
  const kernelDrops = () => udpSocketCounters(udp, '127.0.0.1')?.drops ?? 0;
  let m = new Map<string, number>();
  const settleBy = Date.now() + 120_000;
  for (;;) {
    if (!gw.running) break;
    m = await gw.metrics();
    const received = total(m, 'flowgate_datagrams_received_total');
    const receiverDropped = ['ring_full', 'too_large', 'not_allowed', 'rate_limited'].reduce((n, r) => n + (m.get(`flowgate_datagrams_dropped_total{reason="${r}"}`) ?? 0), 0);
    const settled = received + kernelDrops() >= sent && total(m, 'flowgate_datagrams_decoded_total') + receiverDropped === received
      && total(m, 'flowgate_kafka_queue_records') === 0;
    if (settled || Date.now() > settleBy) break;
    await sleep(200);
  }
  clearInterval(sampler);
  const rssEnd = rssMb(pid);
  if (!gw.running) failures.push(`the gateway died: exit ${gw.child.exitCode}, signal ${gw.child.signalCode}`);
  const traps = m.get('flowgate_datagrams_dropped_total{reason="decoder_trap"}') ?? 0;
  const restarts = total(m, 'flowgate_worker_restarts_total');
  if (traps > 0) failures.push(`${traps} decoder traps`);
  if (restarts > 0) failures.push(`${restarts} worker restarts`);
  if (rssPeak > rssBoundMb) failures.push(`RSS peaked at ${fixed(rssPeak)} MB, over the ${rssBoundMb} MB bound`);
  const stopped = await gw.stop('SIGTERM');
  if (stopped.code !== 0) failures.push(`SIGTERM: exit ${stopped.code}`);
  const a = gw.accounting();
  const receivedDropped = Object.values(a.datagrams.dropped).reduce((x, y) => x + y, 0);
  const recordsDropped = Object.values(a.records.dropped).reduce((x, y) => x + y, 0);
  const datagramsExact = a.datagrams.received === a.datagrams.decoded + receivedDropped;
  const recordsExact = a.records.decoded + a.records.recovered === a.records.delivered + recordsDropped + a.records.queued + a.records.spooled;
  if (!datagramsExact) failures.push(`datagrams: received ${a.datagrams.received} != decoded ${a.datagrams.decoded} + dropped ${receivedDropped}`);
  if (!recordsExact) failures.push(`records: ${JSON.stringify(a.records)} do not balance`);

  const byReason = [...m].filter(([k, v]) => k.startsWith('flowgate_decoder_events_total{') && v > 0).sort((x, y) => y[1] - x[1]);
  log(`\nWhole-gateway fuzz: ${int(sent)} mutated datagrams of ${seeds.length} corpus datagrams (seed ${values.seed}), ${values.workers} workers, sink ${sink}`);
  log(renderTable(['figure', 'value'], [
    ['mutations sent', int(sent)],
    ['send time, s', fixed(sendSeconds, 1)],
    ['mutations/s', int(sent / sendSeconds)],
    ['received by the gateway', int(a.datagrams.received)],
    ['kernel drops (socket)', int(kernelDrops())],
    ['dropped by the receiver', Object.entries(a.datagrams.dropped).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${int(n)}`).join(', ') || '0'],
    ['decoded by the workers', int(a.datagrams.decoded)],
    ['datagrams rejected whole by the decoder', int(total(m, 'flowgate_datagrams_dropped_total') - receivedDropped)],
    ['records decoded', int(a.records.decoded)],
    ['records delivered', int(a.records.delivered)],
    ['records dropped', int(recordsDropped)],
    ['decoder traps', int(traps)],
    ['worker restarts', int(restarts)],
    ['RSS start / peak / end, MB', `${fixed(rssStart)} / ${fixed(rssPeak)} / ${fixed(rssEnd)}`],
    ['exit code after SIGTERM', String(stopped.code)],
    ['accounting identity exact', datagramsExact && recordsExact ? 'yes' : 'NO'],
  ]));
  log('decoder events by reason:');
  log(renderTable(['reason', 'count'], byReason.map(([k, v]) => [/reason="([^"]+)"/.exec(k)![1]!, int(v)])));
  log(`mutations applied: ${MUTATIONS.map((x) => `${x} ${int(mutator.applied[x])}`).join(', ')}`);
  mergeResults({
    fuzz_gateway: {
      mutations: sent, seconds: sendSeconds, per_s: sent / sendSeconds, received: a.datagrams.received, kernel_drops: kernelDrops(),
      records_decoded: a.records.decoded, traps, restarts, rss_mb: { start: rssStart, peak: rssPeak, end: rssEnd, bound: rssBoundMb },
      exit_code: stopped.code, identity_exact: datagramsExact && recordsExact, failures,
    },
  });
} finally {
  await gw.dispose();
  if (sink === 'kafka') await deleteBenchTopics(values.brokers, log);
  await broker?.release();
}
if (failures.length) {
  log(`FAILED:\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
} else {
  log('passed: no crash, no trap, no restart, RSS bounded, every datagram and record accounted for');
}
