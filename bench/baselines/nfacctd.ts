// Baseline: pmacct's nfacctd (Debian package `pmacct`) with its Kafka plugin, fed IPFIX on loopback,
// counted in Kafka. Same question as for FlowGate: how many flow records per second reach a topic.
//
//   apt-get install -y pmacct            (Debian 12: pmacct 1.7.7, built with --enable-kafka, librdkafka 2.0.2)
//   npx tsc -p tsconfig.json
//   node dist/bench/baselines/nfacctd.js --pcap ../shared/corpus/pcaps/softflowd_v10_mixed.pcap --loop 1 --pps 2000
//   node dist/bench/baselines/nfacctd.js --loadgen '--max --duration 10 --exporters 16'
//   node dist/bench/baselines/nfacctd.js --info          (version and Kafka support only)
//   node dist/bench/baselines/nfacctd.js --search 50000,100000,200000 --seconds 5 [--loadgen '--exporters 16
//        --records-per-packet 25'] [--merge]    highest lossless offered rate (nfacctdSearch), as the
//        pipeline benchmark asks it; --merge writes nfacctd_records_per_s etc. into bench/results.json
//
// What runs: `nfacctd -f <tmpdir>/nfacctd.conf` as a child process (foreground), listening on
// 127.0.0.1:<listenPort>, one `kafka` plugin instance ("k") writing JSON to a fresh topic (1 partition,
// message.timestamp.type=LogAppendTime, so each message carries the time the broker appended it).
//
// nfacctd is an aggregator, not a pass-through: the kafka plugin keeps a cache keyed by the
// `aggregate` primitives and purges it every kafka_refresh_time seconds, one JSON object (one Kafka
// message, kafka_multi_values 0) per cache entry. Records that share every primitive within one refresh
// interval come out as ONE record with summed counters. To make it pass records through, `aggregate`
// lists every primitive nfacctd can fill from a FlowGate-like IPFIX record (DEFAULT_AGGREGATE), including
// timestamp_arrival (collector receive time, microseconds) and export_proto_seqno, so that a datagram
// replayed twice (a looped capture) is still two sets of records.
//
// Measurement (nfacctdThroughput):
//   t0 = wall clock just before send(port); the caller's send() pushes IPFIX to the port;
//   the topic's end offset is then polled until it has not grown for settleMs (default 3 refresh
//   intervals + 1 s) while no purge writer process ran and the core and plugin used no CPU — that is
//   "stopped growing";
//   nfacctd's core process hands records to the plugin in chunks of plugin_buffer_size bytes and has no
//   flush timer, so the last partial chunk (< plugin_buffer_size) stays in the core until more data comes
//   or the daemon stops: it is stopped with SIGINT (pmacct's graceful stop: the core flushes its
//   buffer, the plugin purges its cache; SIGTERM does nothing useful in 1.7.7), then SIGTERM / SIGKILL of
//   the process group if it hangs;
//   the topic is read from offset 0: records = JSON objects (per line, in case a message batches
//   several), event_type "purge" only (markers are off anyway).
//   records_per_s = records that were in Kafka when it stopped growing / (broker append time of the
//                   last of them - t0);   records_in_kafka = every record, including the shutdown flush.
//
// Settings (written to the temp config; all overridable, see NfacctdOptions):
//   nfacctd_ip 127.0.0.1, nfacctd_port listenPort, nfacctd_time_new true, nfacctd_pipe_size 8 MiB (the
//   socket receive buffer, what FlowGate's config.yaml asks for too; the kernel caps it at rmem_max);
//   plugin_pipe_size 100 MB and plugin_buffer_size 100 KB (ratio 1:1000, the top of the range CONFIG-KEYS
//   recommends; the 4 MB default pipe loses data under load: "missing data detected");
//   kafka_refresh_time 1 (s), kafka_cache_entries 131071 (~1.2 M entries, ~500 MB: CONFIG-KEYS says ~10 entries
//   per bucket; at the default 16411 a refresh interval holds only ~150 k records);
//   kafka_output json, kafka_multi_values 0 (one record per message: pmacct's default; the value is a buffer size in bytes,
//   e.g. 65536 batches ~100 newline-separated JSON records per message);
//   librdkafka via kafka_config_file: queue.buffering.max.messages 2000000 (librdkafka's default 100000
//   makes a purge of more than 100 k records fail with "Queue full", pmacct/pmacct#261); everything else
//   librdkafka 2.0.2 defaults (acks=all, linger 5 ms, no compression).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitHostPort } from '../../src/config/addresses.js';
import { capturePath, replayTool } from '../../test/support/corpus.js';
import { runLoadgen } from '../lib/loadgen.js';
import { isLossless, searchLosslessRate, sentRate, type SearchResult, type StepOutcome } from '../lib/lossless-search.js';
import { isMainModule } from '../lib/main-module.js';
import { udpSocketCounters } from '../lib/proc-net-udp.js';
import { mergeResults } from '../lib/results.js';
import { createFreshTopic, loopbackBrokers, offsetPoller, scanTopic, sleep, type TopicScan } from './kafka-util.js';

/** Kernel drops on nfacctd's socket (127.0.0.1:port); null off Linux. */
const udpDrops = (port: number): number | null => udpSocketCounters(port, '127.0.0.1')?.drops ?? null;

/** Every primitive nfacctd 1.7.7 can fill from a plain IPFIX flow record (no BGP, no maps, no GeoIP). */
export const DEFAULT_AGGREGATE = [
  'peer_src_ip', 'src_host', 'dst_host', 'src_port', 'dst_port', 'proto', 'tos', 'tcpflags',
  'in_iface', 'out_iface', 'src_as', 'dst_as', 'src_mask', 'dst_mask', 'vlan', 'sampling_rate',
  'export_proto_version', 'export_proto_sysid', 'export_proto_seqno',
  'timestamp_start', 'timestamp_end', 'timestamp_export', 'timestamp_arrival',
];

export interface NfacctdOptions {
  bootstrap: string;
  listenPort: number;
  topic: string;
  send: (port: number) => Promise<{ records: number; seconds: number }>;
  /** Limit for the whole measurement after send() returned (settling + stop + read). Default 300 s. */
  timeoutMs?: number;
  aggregate?: string[];
  refreshS?: number;
  pluginPipeSize?: number;
  pluginBufferSize?: number;
  cacheEntries?: number;
  multiValues?: number;
  socketBuffer?: number;
  /** librdkafka settings (kafka_config_file, type "global"). */
  librdkafka?: Record<string, string>;
  /** No growth for this long = stopped growing. Default 3 × refresh + 1 s. */
  settleMs?: number;
  /** Keep the temp dir (config, log) for inspection. */
  keepDir?: boolean;
  nfacctdPath?: string;
  log?: (msg: string) => void;
  /** Read every record back to check it (default true); false counts offsets (multiValues 0 only). */
  scan?: boolean;
}

export interface NfacctdResult {
  records_per_s: number;
  records_in_kafka: number;
  sent: number;
  raw?: string;
  details: {
    version: string;
    kafka_plugin: boolean;
    rdkafka: string | null;
    topic: string;
    send_seconds: number;
    offered_records_per_s: number;
    /** From t0 to the broker append time of the last record before the shutdown flush. */
    seconds_to_last_record: number;
    /** From the end of send() to the last record before the stop: the backlog it still had to drain. */
    drain_seconds: number;
    records_before_stop: number;
    records_flushed_at_stop: number;
    kafka_messages: number;
    first_record_after_ms: number | null;
    lost_or_merged: number;
    udp_drops: number | null;
    log_warnings: Record<string, number>;
    warning_lines: string[];
    /** Highest memory of nfacctd's processes (core, plugin, purge writers; PSS summed, RSS where PSS is unreadable) from the end of send() until it settled, MB. */
    peak_rss_mb: number;
    /** From the plugin's "Purging cache - END (PID, QN: n/m, ET: s)" lines: what the plugin got and wrote. */
    purges: { count: number; non_empty: number; records: number; max_seconds: number; max_concurrent_writers: number };
    config: string;
    stop: string;
    workdir: string | null;
  };
}

export interface NfacctdInfo {
  found: boolean;
  version: string;
  kafka_configured: boolean; // '--enable-kafka' among the configure arguments
  kafka_plugin: boolean; // 'kafka' in the Plugins list
  rdkafka: string | null;
  jansson: boolean;
  raw: string;
}

/** `nfacctd -V`: version, configure arguments, linked libraries, compiled-in plugins. */
export function nfacctdInfo(bin = 'nfacctd'): NfacctdInfo {
  const r = spawnSync(bin, ['-V'], { encoding: 'utf8' });
  if (r.error) {
    return { found: false, version: '', kafka_configured: false, kafka_plugin: false, rdkafka: null, jansson: false, raw: String(r.error.message) };
  }
  const raw = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const version = /nfacctd\s+([^\s]+)/.exec(raw)?.[1] ?? '';
  const plugins = /Plugins:\s*\n([\s\S]*?)(?:\n\s*\n|$)/.exec(raw)?.[1]?.split('\n').map((s) => s.trim()) ?? [];
  return {
    found: true,
    version,
    kafka_configured: raw.includes("'--enable-kafka'"),
    kafka_plugin: plugins.includes('kafka'),
    rdkafka: /rdkafka\s+([^\s]+)/.exec(raw)?.[1] ?? null,
    jansson: /jansson\s+\d/.test(raw),
    raw,
  };
}

export class NotMeasurable extends Error {}

function renderConfig(o: Required<Pick<NfacctdOptions, 'listenPort' | 'topic'>> & {
  host: string; port: number; aggregate: string[]; refreshS: number; pluginPipeSize: number; pluginBufferSize: number;
  cacheEntries: number; multiValues: number; socketBuffer: number; logfile: string; rdkafkaFile: string;
}): string {
  return [
    '! written by bench/baselines/nfacctd.ts',
    'daemonize: false',
    `logfile: ${o.logfile}`,
    'nfacctd_ip: 127.0.0.1',
    `nfacctd_port: ${o.listenPort}`,
    `nfacctd_pipe_size: ${o.socketBuffer}`,
    'nfacctd_time_new: true',
    'plugins: kafka[k]',
    `aggregate[k]: ${o.aggregate.join(', ')}`,
    `plugin_pipe_size[k]: ${o.pluginPipeSize}`,
    `plugin_buffer_size[k]: ${o.pluginBufferSize}`,
    `kafka_broker_host[k]: ${o.host}`,
    `kafka_broker_port[k]: ${o.port}`,
    `kafka_topic[k]: ${o.topic}`,
    `kafka_refresh_time[k]: ${o.refreshS}`,
    `kafka_cache_entries[k]: ${o.cacheEntries}`,
    `kafka_multi_values[k]: ${o.multiValues}`,
    'kafka_output[k]: json',
    `kafka_config_file[k]: ${o.rdkafkaFile}`,
    '',
  ].join('\n');
}

const WARN_PATTERNS: Record<string, RegExp> = {
  missing_data: /missing data detected/i,
  finished_cache_entries: /Finished cache entries/i,
  produce_failed: /Failed to produce/i,
  connection_failed: /Connection failed to Kafka/i,
  delivery_failed: /message delivery failed/i,
  max_writers: /max_writers|writers.*(limit|reached)/i,
  error: /\bERROR\b/,
  warn: /\bWARN\b/,
};

/** Purge statistics from the kafka plugin's log: records purged (= handed to librdkafka), writer time, overlap. */
function purgeStats(log: string): { count: number; non_empty: number; records: number; max_seconds: number; max_concurrent_writers: number } {
  let count = 0;
  let nonEmpty = 0;
  let records = 0;
  let maxEt = 0;
  let running = 0;
  let maxRunning = 0;
  for (const l of log.split('\n')) {
    if (/Purging cache - START/.test(l)) {
      running++;
      maxRunning = Math.max(maxRunning, running);
      continue;
    }
    const m = /Purging cache - END \(PID: \d+, QN: (\d+)\/(\d+), ET: (\d+)\)/.exec(l);
    if (!m) continue;
    running = Math.max(0, running - 1);
    count++;
    const n = Number(m[1]);
    records += n;
    if (n > 0) nonEmpty++;
    maxEt = Math.max(maxEt, Number(m[3]));
  }
  return { count, non_empty: nonEmpty, records, max_seconds: maxEt, max_concurrent_writers: maxRunning };
}

function countWarnings(log: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, re] of Object.entries(WARN_PATTERNS)) {
    const n = log.split('\n').filter((l) => re.test(l)).length;
    if (n) out[k] = n;
  }
  return out;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(child) && Date.now() < deadline) await sleep(50);
  return !alive(child);
}

/** SIGINT (graceful: flush + purge), then SIGTERM, then SIGKILL to the process group of our child only. */
async function stopNfacctd(child: ChildProcess, graceMs: number): Promise<string> {
  const pid = child.pid!;
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the child was spawned detached: its own process group (core + plugins + writers)
    } catch {}
  };
  if (!alive(child)) return `already exited (code ${child.exitCode}, signal ${child.signalCode})`;
  try {
    process.kill(pid, 'SIGINT'); // the core propagates it to its plugins
  } catch {}
  if (await waitExit(child, graceMs)) {
    await sleep(200);
    group('SIGKILL'); // stray writer processes, if any (normally none: no-op)
    return 'SIGINT';
  }
  group('SIGTERM');
  if (await waitExit(child, 5000)) return 'SIGINT timed out; SIGTERM';
  group('SIGKILL');
  await waitExit(child, 5000);
  return 'SIGINT timed out; SIGTERM timed out; SIGKILL';
}

/** Proportional set size in 4 KiB pages (shared pages split between the forked core, plugin and writers). */
function pssPages(pid: number): number | null {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 4 : null;
  } catch {
    return null;
  }
}

/** CPU ticks (utime + stime) of pid and its descendants, and how many are grandchildren (purge writers). */
function treeStats(root: number): { cpuTicks: number; writers: number; procs: number; rssMb: number } {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  const rssPages = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "(comm) ": state ppid pgrp ... utime is field 14, stime 15 (1-based) -> index 11, 12 here
    parent.set(Number(e), Number(f[1]));
    ticks.set(Number(e), Number(f[11]) + Number(f[12]));
    rssPages.set(Number(e), Number(f[21])); // field 24, rss in pages
  }
  const depth = (pid: number): number => {
    let d = 0;
    for (let p = pid; p > 1 && d < 16; d++) {
      if (p === root) return d;
      p = parent.get(p) ?? 0;
    }
    return -1;
  };
  let cpuTicks = 0;
  let writers = 0;
  let procs = 0;
  let pages = 0;
  for (const pid of parent.keys()) {
    const d = depth(pid);
    if (d < 0) continue;
    procs++;
    pages += pssPages(pid) ?? rssPages.get(pid) ?? 0;
    cpuTicks += ticks.get(pid) ?? 0;
    if (d >= 2) writers++;
  }
  return { cpuTicks, writers, procs, rssMb: (pages * 4096) / 2 ** 20 };
}

export async function nfacctdThroughput(opts: NfacctdOptions): Promise<NfacctdResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[nfacctd] ${m}\n`));
  const brokers = loopbackBrokers(opts.bootstrap);
  const broker = splitHostPort(brokers[0]!, true);
  const bin = opts.nfacctdPath ?? 'nfacctd';
  const info = nfacctdInfo(bin);
  if (!info.found) throw new NotMeasurable(`nfacctd not found (${info.raw}); install the Debian package pmacct`);
  if (!info.kafka_plugin || !info.kafka_configured) {
    throw new NotMeasurable(
      `nfacctd ${info.version} has no Kafka plugin (--enable-kafka: ${info.kafka_configured}, 'kafka' in Plugins: ${info.kafka_plugin}); ` +
        'the Kafka baseline is not measurable with this build',
    );
  }
  if (!info.jansson) throw new NotMeasurable(`nfacctd ${info.version} is built without Jansson: no kafka_output json`);

  const refreshS = opts.refreshS ?? 1;
  const settleMs = opts.settleMs ?? refreshS * 3000 + 1000;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-nfacctd-'));
  const logfile = path.join(dir, 'nfacctd.log');
  const rdkafkaFile = path.join(dir, 'librdkafka.csv');
  const rdkafka = { 'queue.buffering.max.messages': '2000000', ...(opts.librdkafka ?? {}) };
  fs.writeFileSync(rdkafkaFile, Object.entries(rdkafka).map(([k, v]) => `global, ${k}, ${v}`).join('\n') + '\n');
  const config = renderConfig({
    listenPort: opts.listenPort,
    topic: opts.topic,
    // An IPv6 broker keeps its brackets in kafka_broker_host, as it always has been written here.
    host: broker.host.includes(':') ? `[${broker.host}]` : broker.host,
    port: broker.port,
    aggregate: opts.aggregate ?? DEFAULT_AGGREGATE,
    refreshS,
    pluginPipeSize: opts.pluginPipeSize ?? 102_400_000,
    pluginBufferSize: opts.pluginBufferSize ?? 102_400,
    cacheEntries: opts.cacheEntries ?? 131_071,
    multiValues: opts.multiValues ?? 0,
    socketBuffer: opts.socketBuffer ?? 8_388_608,
    logfile,
    rdkafkaFile,
  });
  const confFile = path.join(dir, 'nfacctd.conf');
  fs.writeFileSync(confFile, config);

  await createFreshTopic(opts.bootstrap, opts.topic, { partitions: 1, logAppendTime: true });

  const stdoutFile = path.join(dir, 'nfacctd.out');
  const outFd = fs.openSync(stdoutFile, 'a');
  const child = spawn(bin, ['-f', confFile], { detached: true, stdio: ['ignore', outFd, outFd] });
  fs.closeSync(outFd);
  child.on('error', () => {});
  let stopHow = 'not stopped';
  const cleanup = async () => {
    if (child.pid && alive(child)) stopHow = await stopNfacctd(child, 30_000);
  };
  const onExit = () => {
    if (child.pid && alive(child)) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  };
  process.once('exit', onExit);

  try {
    // Ready when the core listens and the plugin has allocated its cache.
    const readyDeadline = Date.now() + 60_000;
    for (;;) {
      const text = readText(logfile);
      if (/waiting for NetFlow\/IPFIX data on/.test(text) && /\( k\/kafka \): cache entries=/.test(text)) break;
      if (!alive(child)) {
        throw new Error(`nfacctd exited at start-up (code ${child.exitCode}):\n${text.slice(-3000)}${readText(stdoutFile).slice(-2000)}`);
      }
      if (Date.now() > readyDeadline) throw new Error(`nfacctd not ready after 60 s:\n${text.slice(-3000)}`);
      await sleep(100);
    }
    await sleep(500);
    log(`nfacctd ${info.version} (pid ${child.pid}) on 127.0.0.1:${opts.listenPort} -> ${opts.bootstrap} topic ${opts.topic}; config ${confFile}`);

    const drops0 = udpDrops(opts.listenPort);
    const poller = await offsetPoller(opts.bootstrap, opts.topic);
    let sendRes: { records: number; seconds: number };
    const t0 = Date.now();
    try {
      sendRes = await opts.send(opts.listenPort);
    } catch (err) {
      await poller.close();
      throw err;
    }
    const sendEnd = Date.now();
    log(`send: ${sendRes.records} records in ${sendRes.seconds.toFixed(3)} s; waiting for the topic to stop growing (${settleMs} ms)`);

    // Until the topic has not grown for settleMs, with something in it, no purge writer running and the
    // core and plugin idle (their CPU time unchanged) over that window; or the timeout.
    const hardDeadline = sendEnd + timeoutMs;
    let last = await poller.count();
    let lastCpu = treeStats(child.pid!);
    let lastChange = Date.now();
    let peakRss = lastCpu.rssMb;
    // Without a scan, the broker time of the last record is taken as the poll that saw the count grow last (±200 ms).
    let lastGrowth = last > 0 ? Date.now() : NaN;
    let firstSeen = last > 0 ? Date.now() : NaN;
    while (Date.now() < hardDeadline) {
      await sleep(200);
      const n = await poller.count();
      const st = treeStats(child.pid!);
      peakRss = Math.max(peakRss, st.rssMb);
      if (n > last) {
        lastGrowth = Date.now();
        if (Number.isNaN(firstSeen)) firstSeen = lastGrowth;
      }
      if (n !== last || st.writers > 0 || st.cpuTicks - lastCpu.cpuTicks > 1 || (n === 0 && Date.now() - sendEnd < 60_000)) {
        last = n;
        lastChange = Date.now();
      }
      lastCpu = st;
      if (Date.now() - lastChange >= settleMs) break;
    }
    await poller.close();
    const stableOffset = last;
    const drops1 = udpDrops(opts.listenPort);

    stopHow = await stopNfacctd(child, 30_000);
    // Let the shutdown purge land.
    const poller2 = await offsetPoller(opts.bootstrap, opts.topic);
    let fin = await poller2.count();
    let finChange = Date.now();
    while (Date.now() - finChange < 1500 && Date.now() < hardDeadline) {
      await sleep(200);
      const n = await poller2.count();
      if (n !== fin) {
        fin = n;
        finChange = Date.now();
      }
    }
    await poller2.close();

    // One message per record (kafka_multi_values 0) lets offsets count records; a scan also checks each is a JSON purge record.
    const scan: TopicScan = opts.scan === false
      ? {
        messages: fin, records: fin, bad_lines: 0, records_before_split: stableOffset, messages_before_split: stableOffset,
        first_ts: Number.isNaN(firstSeen) ? null : firstSeen, last_ts_before_split: Number.isNaN(lastGrowth) ? null : lastGrowth,
        last_ts: Number.isNaN(lastGrowth) ? null : lastGrowth,
      }
      : await scanTopic(opts.bootstrap, opts.topic, {
        splitOffset: stableOffset,
        accept: (o) => o.event_type === undefined || o.event_type === 'purge',
        timeoutMs: Math.max(60_000, hardDeadline - Date.now()),
      });
    const lastTs = scan.last_ts_before_split;
    const seconds = lastTs !== null ? (lastTs - t0) / 1000 : NaN;
    const nfLog = readText(logfile);
    const result: NfacctdResult = {
      records_per_s: lastTs !== null && seconds > 0 ? scan.records_before_split / seconds : 0,
      records_in_kafka: scan.records,
      sent: sendRes.records,
      raw: nfLog
        .split('\n')
        .filter((l) => l && !/QN: 0\/0|Purging cache - START|Reading librdkafka/.test(l))
        .slice(-80)
        .join('\n'),
      details: {
        version: info.version,
        kafka_plugin: info.kafka_plugin,
        rdkafka: info.rdkafka,
        topic: opts.topic,
        send_seconds: sendRes.seconds,
        offered_records_per_s: sendRes.seconds > 0 ? sendRes.records / sendRes.seconds : NaN,
        seconds_to_last_record: seconds,
        drain_seconds: lastTs !== null ? (lastTs - sendEnd) / 1000 : NaN,
        records_before_stop: scan.records_before_split,
        records_flushed_at_stop: scan.records - scan.records_before_split,
        kafka_messages: scan.messages,
        first_record_after_ms: scan.first_ts !== null ? scan.first_ts - t0 : null,
        lost_or_merged: sendRes.records - scan.records,
        udp_drops: drops0 !== null && drops1 !== null ? drops1 - drops0 : null,
        log_warnings: countWarnings(nfLog),
        warning_lines: nfLog.split('\n').filter((l) => /\b(WARN|ERROR)\b/.test(l)).slice(0, 50),
        peak_rss_mb: Math.round(peakRss),
        purges: purgeStats(nfLog),
        config,
        stop: stopHow,
        workdir: opts.keepDir ? dir : null,
      },
    };
    return result;
  } finally {
    await cleanup();
    process.removeListener('exit', onExit);
    if (!opts.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Senders for the CLI

/** Corpus replay: tools/replay PCAP 127.0.0.1:PORT --loop N --pps R (test/support/corpus.ts finds the tool). */
export function replaySender(pcap: string, loop: number, pps: number, flowRecords?: number) {
  return (port: number) =>
    new Promise<{ records: number; seconds: number }>((resolve, reject) => {
      const args = [replayTool, pcap, `127.0.0.1:${port}`, '--loop', String(loop), ...(pps > 0 ? ['--pps', String(pps)] : [])];
      let perLoop = flowRecords;
      if (perLoop === undefined) {
        const summary = path.join(path.dirname(path.dirname(pcap)), 'truth', `${path.basename(pcap, '.pcap')}.summary.json`);
        perLoop = Number(JSON.parse(fs.readFileSync(summary, 'utf8')).flow_records);
      }
      const t = process.hrtime.bigint();
      const p = spawn('python3', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => {
        if (code !== 0) return reject(new Error(`replay exited ${code}: ${err}`));
        resolve({ records: perLoop! * loop, seconds: Number(process.hrtime.bigint() - t) / 1e9 });
      });
    });
}

/** bench/loadgen with these arguments, as the pipeline benchmark runs it. */
export function loadgenSender(extraArgs: string[]) {
  return (port: number): Promise<{ records: number; seconds: number }> => runLoadgen(port, extraArgs);
}

// ---------------------------------------------------------------------------------------------------------
// Lossless rate search (the pipeline benchmark's question and rule, asked of nfacctd)

/** One step of the search: the rule's measurements (StepOutcome) and nfacctd's own. */
export interface NfacctdStep extends StepOutcome {
  /** nfacctd's own figure: records in Kafka before the stop / (broker time of the last one - start). */
  recordsPerSToLast: number;
  peakRssMb: number;
  warnings: Record<string, number>;
}

/** A step as bench/results.json keeps it. */
export function stepSummary(st: NfacctdStep): Record<string, unknown> {
  return {
    offered: st.offered, sent_per_s: sentRate(st), sent: st.sentRecords, records_in_kafka: st.deliveredRecords, udp_drops: st.kernelDrops,
    lossless: isLossless(st), drain_s: Number(st.drainS.toFixed(2)), records_per_s_to_last: st.recordsPerSToLast, peak_rss_mb: st.peakRssMb,
    warnings: st.warnings,
  };
}

/** A free UDP port on 127.0.0.1 (bound, read, closed: nfacctd binds it next). */
async function freeUdpPort(): Promise<number> {
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * nfacctd at increasing offered rates (bench/loadgen at --rate for `seconds`, the same packets as the
 * pipeline benchmark), a fresh daemon and topic per step; lossless and the search are those of
 * bench/lib/lossless-search.ts, as for FlowGate.
 */
export async function nfacctdSearch(o: {
  bootstrap: string; rates: number[]; seconds: number; loadgenArgs: string[]; bisect?: number;
  log?: (m: string) => void; extra?: Partial<NfacctdOptions>;
}): Promise<SearchResult<NfacctdStep> & { version: string }> {
  const log = o.log ?? ((m: string) => process.stderr.write(`[nfacctd] ${m}\n`));
  let version = '';
  const result = await searchLosslessRate({ ladder: o.rates, bisections: o.bisect ?? 1 }, async (rate) => {
    const r = await nfacctdThroughput({
      bootstrap: o.bootstrap,
      listenPort: await freeUdpPort(),
      topic: `baseline.nfacctd.${randomBytes(4).toString('hex')}`,
      send: loadgenSender([...o.loadgenArgs, '--rate', String(rate), '--duration', String(o.seconds)]),
      log: () => undefined,
      scan: false,
      ...(o.extra ?? {}),
    });
    version = r.details.version;
    const st: NfacctdStep = {
      offered: rate,
      sentRecords: r.sent,
      sentSeconds: r.details.send_seconds,
      deliveredRecords: r.records_in_kafka,
      kernelDrops: r.details.udp_drops,
      drainS: r.details.drain_seconds,
      recordsPerSToLast: Math.round(r.records_per_s),
      peakRssMb: r.details.peak_rss_mb,
      warnings: r.details.log_warnings,
    };
    log(`offered ${st.offered}/s: sent ${sentRate(st)}/s, in Kafka ${st.deliveredRecords}/${st.sentRecords}, kernel drops ${st.kernelDrops}, drained ${st.drainS.toFixed(2)} s after the send, `
      + `to last record ${st.recordsPerSToLast}/s, rss ${st.peakRssMb} MB${Object.keys(st.warnings).length ? `, log: ${JSON.stringify(st.warnings)}` : ''}`);
    return st;
  });
  return { ...result, version };
}

// ---------------------------------------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  let bootstrap = '127.0.0.1:9092';
  let listenPort = 4739 + 1000 + Math.floor(Math.random() * 1000);
  let topic = `baseline.nfacctd.${randomBytes(4).toString('hex')}`;
  let pcap = capturePath('softflowd_v10_mixed');
  let loop = 1;
  let pps = 2000;
  let loadgen: string[] | null = null;
  let searchRates: number[] | null = null;
  let seconds = 5;
  let merge = false;
  const extra: Partial<NfacctdOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--help':
        process.stdout.write('usage: node dist/bench/baselines/nfacctd.js [--info] [--bootstrap HOST:PORT] [--pcap FILE --loop N --pps R | --loadgen ARGS]\n'
          + '       [--search RATES --seconds S [--merge]] [nfacctd settings: see the header of bench/baselines/nfacctd.ts]\n');
        return 0;
      case '--info': {
        const inf = nfacctdInfo();
        const { raw, ...rest } = inf;
        process.stdout.write(`${JSON.stringify({ ...rest, raw_first_line: raw.split('\n')[0] }, null, 2)}\n`);
        return inf.kafka_plugin ? 0 : 2;
      }
      case '--bootstrap': bootstrap = v(); break;
      case '--port': listenPort = Number(v()); break;
      case '--topic': topic = v(); break;
      case '--pcap': pcap = v(); break;
      case '--loop': loop = Number(v()); break;
      case '--pps': pps = Number(v()); break;
      case '--loadgen': loadgen = v().split(/\s+/).filter(Boolean); break;
      case '--aggregate': extra.aggregate = v().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--refresh': extra.refreshS = Number(v()); break;
      case '--plugin-buffer-size': extra.pluginBufferSize = Number(v()); break;
      case '--plugin-pipe-size': extra.pluginPipeSize = Number(v()); break;
      case '--cache-entries': extra.cacheEntries = Number(v()); break;
      case '--multi-values': extra.multiValues = Number(v()); break;
      case '--rdkafka': {
        const kv = v();
        const eq = kv.indexOf('=');
        extra.librdkafka = { ...(extra.librdkafka ?? {}), [kv.slice(0, eq)]: kv.slice(eq + 1) };
        break;
      }
      case '--keep': extra.keepDir = true; break;
      case '--search': searchRates = v().split(',').map(Number); break;
      case '--seconds': seconds = Number(v()); break;
      case '--merge': merge = true; break;
      case '--timeout': extra.timeoutMs = Number(v()) * 1000; break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (searchRates) {
    const info = nfacctdInfo();
    if (!info.kafka_plugin) {
      process.stdout.write(`${JSON.stringify({ measurable: false, reason: info.found ? 'no Kafka plugin' : 'nfacctd not installed (apt-get install pmacct)' })}\n`);
      if (merge) mergeResults({ nfacctd_records_per_s: null, nfacctd_note: info.found ? 'no Kafka plugin' : 'nfacctd not installed' });
      return 2;
    }
    const r = await nfacctdSearch({ bootstrap, rates: searchRates, seconds, loadgenArgs: loadgen ?? ['--exporters', '16', '--records-per-packet', '25'], extra });
    const steps = r.steps.map(stepSummary);
    process.stdout.write(`${JSON.stringify({ sustained: r.sustained && stepSummary(r.sustained), dropsAt: r.dropsAt && stepSummary(r.dropsAt), steps, version: r.version }, null, 2)}\n`);
    if (merge) {
      mergeResults({
        nfacctd_records_per_s: sentRate(r.sustained),
        nfacctd_drops_begin_records_per_s: r.dropsAt ? sentRate(r.dropsAt) : null,
        nfacctd_rss_mb: r.sustained?.peakRssMb ?? null,
        nfacctd_version: r.version,
        nfacctd_steps: steps,
        nfacctd_command: `node dist/bench/baselines/nfacctd.js ${argv.join(' ')}`,
      });
    }
    return 0;
  }
  const send = loadgen ? loadgenSender(loadgen) : replaySender(pcap, loop, pps);
  try {
    const r = await nfacctdThroughput({ bootstrap, listenPort, topic, send, ...extra });
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof NotMeasurable) {
      process.stdout.write(`${JSON.stringify({ measurable: false, reason: err.message }, null, 2)}\n`);
      return 2;
    }
    throw err;
  }
}

if (isMainModule(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`nfacctd baseline: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
