// What the edge benchmarks (bench/edge-*.bench.ts) share: the gateway's config with tenants and
// admission, the broker to use, the gateway's peak RSS while a phase runs, series of a metric by
// one label, the sessions-evicted counter where the build has one, the kernel's loopback backlog
// drops, and the accounting identity of the final "stopped" event.
import { readFileSync } from 'node:fs';
import type { Accounting } from '../../test/support/gateway-process.js';
import { ensureBroker, type Broker } from '../../test/support/broker.js';
import { rssMb } from './proc.js';
import { int } from './table.js';
import { gatewayConfig } from './gateway-step.js';

export interface EdgeTenant {
  name: string;
  topic: string;
  /** Exporter addresses or prefixes it owns. */
  exporters: string[];
}

export interface EdgeGatewaySpec {
  brokers: string;
  workers: number;
  sink: 'kafka' | 'discard';
  defaultTopic: string;
  tenants: EdgeTenant[];
  /** routing.unknown_exporters: "drop" keeps forged traffic out of Kafka (counted no_tenant). */
  unknownExporters: 'default' | 'drop';
  /** The admission section's YAML lines, indented by two spaces ('' for none). */
  admissionYaml?: string;
}

/** The gateway under test: pipeline.bench's settings (bench/lib/gateway-step.ts) plus tenants and admission. */
export function edgeGatewayConfig(s: EdgeGatewaySpec): string {
  const tenants = s.tenants.map((t) => `    - { name: ${t.name}, topic: ${t.topic}, exporters: ${JSON.stringify(t.exporters)} }`).join('\n');
  return gatewayConfig({
    brokers: s.brokers, sink: s.sink, topic: s.defaultTopic, workers: s.workers, recordsPerMessage: 1,
    routingYaml: `  unknown_exporters: ${s.unknownExporters}\n  tenants:\n${tenants}\n`,
    extraYaml: s.admissionYaml ? `admission:\n${s.admissionYaml}` : '',
  });
}

/** --bootstrap when given, else the broker on 127.0.0.1:$KAFKA_PORT (9092), started if none answers. */
export async function brokerFor(bootstrap: string | undefined, log: (m: string) => void): Promise<Broker> {
  return bootstrap ? { bootstrap, started: false, release: async () => undefined } : ensureBroker(undefined, log);
}

/** The peak of a process's RSS (MiB), sampled every `everyMs` until stop(); peaks per named phase. */
export class RssPeaks {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  readonly peaks = new Map<string, number>();
  #phase = 'start';

  constructor(pid: number, everyMs = 100) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }

  #sample(): void {
    const mb = rssMb(this.#pid);
    if (Number.isFinite(mb) && mb > (this.peaks.get(this.#phase) ?? 0)) this.peaks.set(this.#phase, mb);
  }

  /** Later samples count toward `phase` (a sample is taken now, closing the previous one). */
  phase(name: string): void {
    this.#sample();
    this.#phase = name;
    this.#sample();
  }

  peak(phase?: string): number {
    if (phase !== undefined) return this.peaks.get(phase) ?? NaN;
    return Math.max(...this.peaks.values());
  }

  stop(): void {
    this.#sample();
    clearInterval(this.#timer);
  }
}

/** Values of `name`'s series by one label (e.g. reason), the non-zero ones, largest first. */
export function byLabel(m: Map<string, number>, name: string, label: string): [string, number][] {
  const out = new Map<string, number>();
  const re = new RegExp(`[{,]${label}="([^"]*)"`);
  for (const [k, v] of m) {
    if (!k.startsWith(`${name}{`) || v === 0) continue;
    const value = re.exec(k)?.[1] ?? '';
    out.set(value, (out.get(value) ?? 0) + v);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

/** "a 12, b 3" (or "none"): a byLabel() list in one cell. */
export function listCell(entries: [string, number][], limit = 8): string {
  if (!entries.length) return 'none';
  const shown = entries.slice(0, limit).map(([k, v]) => `${k} ${int(v)}`);
  return entries.length > limit ? `${shown.join(', ')}, +${entries.length - limit} more` : shown.join(', ');
}

/** The difference of two byLabel() lists (after - before), the non-zero ones. */
export function labelDelta(after: [string, number][], before: [string, number][]): [string, number][] {
  const b = new Map(before);
  return after.map(([k, v]): [string, number] => [k, v - (b.get(k) ?? 0)]).filter(([, v]) => v !== 0).sort((x, y) => y[1] - x[1]);
}

/**
 * Exporter sessions evicted: the sum of every counter series whose name holds "evicted" (the
 * decoder's session table, issue 14's flowgate_sessions_evicted_total or whatever name it lands
 * under); null when this build has none (printed n/a).
 */
export function sessionsEvicted(m: Map<string, number>): { total: number; series: string[] } | null {
  const series = [...m.keys()].filter((k) => /^flowgate_[a-z_]*evicted[a-z_]*(\{|$)/.test(k) && !k.includes('_bucket'));
  if (!series.length) return null;
  return { total: series.reduce((n, k) => n + m.get(k)!, 0), series: [...new Set(series.map((k) => k.replace(/\{.*$/, '')))] };
}

/**
 * Packets the kernel dropped from its per-CPU input backlog (the second column of
 * /proc/net/softnet_stat, summed over CPUs): where loopback datagrams are lost before any socket
 * sees them when senders outrun the softirq. null off Linux.
 */
export function softnetDropped(): number | null {
  try {
    return readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n').reduce((n, line) => n + parseInt(line.trim().split(/\s+/)[1] ?? '0', 16), 0);
  } catch {
    return null;
  }
}

/** The two identities of a stopped gateway's accounting, each with whether it holds. */
export function identities(a: Accounting): { datagrams: string; records: string; holds: boolean } {
  const d = a.datagrams;
  const receiverDropped = Object.values(d.dropped).reduce((x, y) => x + y, 0);
  const r = a.records;
  const recordsDropped = Object.values(r.dropped).reduce((x, y) => x + y, 0);
  const dHolds = d.received === d.decoded + receiverDropped;
  const rHolds = r.decoded + r.recovered === r.delivered + recordsDropped + r.queued + r.spooled;
  return {
    datagrams: `datagrams received ${int(d.received)} = decoded ${int(d.decoded)} + dropped by the receiver ${int(receiverDropped)}: ${dHolds ? 'holds' : 'DOES NOT HOLD'}`,
    records: `records decoded ${int(r.decoded)} + recovered ${int(r.recovered)} = delivered ${int(r.delivered)} + dropped ${int(recordsDropped)} + queued ${int(r.queued)} + spooled ${int(r.spooled)}: ${rHolds ? 'holds' : 'DOES NOT HOLD'}`,
    holds: dHolds && rHolds,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
