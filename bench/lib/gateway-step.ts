// One measured step of a FlowGate gateway (a child process) fed by bench/loadgen: the config it
// runs with, start and stop, warm-up (templates learnt, JIT warm), the wait until every record
// received is accounted for, and the step's outcome in the terms of bench/lib/lossless-search.ts.
// Shared by bench/pipeline.bench.ts and bench/spool.bench.ts, so both measure the same way.
import { GatewayProcess } from '../../test/support/gateway-process.js';
import { delta, histogramQuantile, total } from '../../test/support/prometheus.js';
import { runLoadgen, type Sent } from './loadgen.js';
import type { StepOutcome } from './lossless-search.js';
import { cpuSeconds, rssMb } from './proc.js';
import { deleteTopicsAndGroups } from './bench-topics.js';
import type { CompressionName } from '../../src/kafka/protocol/compression.js';

export interface GatewaySpec {
  brokers: string;
  sink: 'kafka' | 'discard';
  topic: string;
  workers: number;
  recordsPerMessage: 1 | 'datagram';
  /** kafka.compression (default none). */
  compression?: CompressionName;
  /** More keys of the kafka section, YAML lines indented by two spaces (e.g. ssl and sasl). */
  kafkaYaml?: string;
  /** More keys of the routing section, YAML lines indented by two spaces (e.g. tenants). */
  routingYaml?: string;
  /** YAML appended at the top level (e.g. a `spool:` section). */
  extraYaml?: string;
}

/** A gateway under test: UDP and HTTP on 127.0.0.1 (ephemeral ports), one default topic. */
export function gatewayConfig(s: GatewaySpec): string {
  return `listen: { udp: ["127.0.0.1:0"], receive_buffer_bytes: 33554432 }
http: { listen: "127.0.0.1:0" }
workers: ${s.workers}
kafka:
  brokers: ["${s.brokers}"]
  sink: ${s.sink}
  records_per_message: ${s.recordsPerMessage === 'datagram' ? '"datagram"' : 1}
  compression: ${s.compression ?? 'none'}
${s.kafkaYaml ?? ''}routing:
  default_topic: ${s.topic}
${s.routingYaml ?? ''}log: { level: info }
stats: { log_interval_s: 0 }
${s.extraYaml ?? ''}`;
}

/** The offered rates (records/s) a gateway's lossless-rate search climbs (bench/lib/lossless-search.ts). */
export function gatewayLadder(full: boolean): number[] {
  return full ? [50e3, 100e3, 150e3, 200e3, 300e3, 400e3, 600e3, 800e3, 1.2e6, 1.6e6, 2.4e6] : [50e3, 100e3, 200e3, 400e3, 800e3, 1.6e6, 3.2e6];
}

const namedTopics = new Set<string>();

/** A fresh topic name per step (the broker creates it on the first produce); deleteBenchTopics removes it. */
export const benchTopic = (): string => {
  const topic = `bench.${Date.now().toString(36)}.${process.pid}.${namedTopics.size}`;
  namedTopics.add(topic);
  return topic;
};

/**
 * Deletes every topic benchTopic() has named so far. Each step of a search leaves up to a GiB
 * (the project broker's log.retention.bytes): kept, a day of benchmarks filled 73 GB of disk.
 */
export async function deleteBenchTopics(brokers: string, log: (line: string) => void): Promise<void> {
  const topics = [...namedTopics];
  namedTopics.clear();
  await deleteTopicsAndGroups(brokers, topics, []).catch((err: unknown) => log(`clean-up of ${topics.join(', ')}: ${(err as Error).message}`));
}

/** Spawned, ready (/readyz 200) and its UDP port; stopped again if it never got ready. */
export async function startGateway(configYaml: string): Promise<{ gw: GatewayProcess; udp: number }> {
  const gw = new GatewayProcess(configYaml, { keepEvents: 200 }); // a soak logs: keep the tail
  try {
    return { gw, udp: (await gw.ready()).udp.v4! };
  } catch (err) {
    await stopGateway(gw);
    throw err;
  }
}

export async function stopGateway(gw: GatewayProcess): Promise<void> {
  await gw.stop('SIGTERM');
  await gw.dispose();
}

/**
 * Waits until the received count has stopped moving for a second (datagrams lost on the way
 * never arrive) and every record received is delivered or dropped; returns the metrics then.
 */
export async function settle(gw: GatewayProcess, timeoutMs = 60_000): Promise<{ m: Map<string, number>; lastProgressAt: number }> {
  let m = await gw.metrics();
  let lastReceived = -1;
  let lastDone = -1;
  let stableSince = Date.now();
  let lastProgressAt = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const received = m.get('flowgate_records_received_total') ?? 0;
    if (received !== lastReceived) {
      lastReceived = received;
      stableSince = Date.now();
    }
    const done = total(m, 'flowgate_records_delivered_total') + total(m, 'flowgate_records_dropped_total');
    if (done !== lastDone) {
      lastDone = done;
      lastProgressAt = Date.now();
    }
    if (done >= received && Date.now() - stableSince >= 1000) break;
    await new Promise((r) => setTimeout(r, 100));
    m = await gw.metrics();
  }
  return { m, lastProgressAt };
}

/** Records the warm-up sends (templates first): learnt templates and a warm JIT for every measured run. */
export const WARMUP_RECORDS = 2000;

/** A gateway with its templates learnt and its JIT warm: the start of every measured run. */
export async function warmGateway(configYaml: string, rpp: string): Promise<{ gw: GatewayProcess; udp: number; before: Map<string, number> }> {
  const { gw, udp } = await startGateway(configYaml);
  try {
    await runLoadgen(udp, ['--records', String(WARMUP_RECORDS), '--rate', '20000', '--records-per-packet', rpp]);
    return { gw, udp, before: (await settle(gw)).m };
  } catch (err) {
    await stopGateway(gw);
    throw err;
  }
}

export interface Run extends StepOutcome {
  sent: Sent;
  received: number;
  dropped: number;
  datagramDrops: number;
  kernelDrops: number;
  /** Records written to the disk spool during the step (0 without one). */
  spooled: number;
  p50: number | null;
  p99: number | null;
  cpuPct: number;
  rssMb: number;
}

export const counterDelta = (m: Map<string, number>, before: Map<string, number>, name: string): number => total(m, name) - total(before, name);

export function summarize(offered: number, sent: Sent, m: Map<string, number>, before: Map<string, number>, cpu: number, elapsed: number, pid: number, drainS: number): Run {
  const d = delta(m, before); // latency of the measured window only, not the warm-up
  return {
    offered,
    sent,
    sentRecords: sent.records,
    sentSeconds: sent.seconds,
    drainS,
    received: counterDelta(m, before, 'flowgate_records_received_total'),
    deliveredRecords: counterDelta(m, before, 'flowgate_records_delivered_total'),
    dropped: counterDelta(m, before, 'flowgate_records_dropped_total'),
    datagramDrops: counterDelta(m, before, 'flowgate_datagrams_dropped_total'),
    kernelDrops: counterDelta(m, before, 'flowgate_udp_kernel_drops_total'),
    spooled: counterDelta(m, before, 'flowgate_spool_written_records_total'),
    p50: histogramQuantile(d, 'flowgate_kafka_produce_latency_seconds', 0.5, 1000),
    p99: histogramQuantile(d, 'flowgate_kafka_produce_latency_seconds', 0.99, 1000),
    cpuPct: (cpu / elapsed) * 100,
    rssMb: rssMb(pid),
  };
}

/** One run at an offered rate (records/s) on a fresh, warm gateway: send for `seconds`, wait until everything is accounted for. */
export async function runAt(configYaml: string, offered: number, seconds: number, rpp: string): Promise<Run> {
  const { gw, udp, before } = await warmGateway(configYaml, rpp);
  try {
    const cpu0 = cpuSeconds(gw.pid);
    const t0 = performance.now();
    const sent = await runLoadgen(udp, ['--rate', String(offered), '--duration', String(seconds), '--records-per-packet', rpp]);
    const sendEnd = Date.now();
    const { m, lastProgressAt } = await settle(gw);
    const elapsed = (performance.now() - t0) / 1000;
    return summarize(offered, sent, m, before, cpuSeconds(gw.pid) - cpu0, elapsed, gw.pid, Math.max(0, (lastProgressAt - sendEnd) / 1000));
  } finally {
    await stopGateway(gw);
  }
}
