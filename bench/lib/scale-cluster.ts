// FlowGate in one of the scale-out topologies, as child processes on this machine, for
// bench/scale.bench.ts: role all (one process, the pipeline benchmark's configuration), or role
// receive plus N role decode processes sharing a raw topic, a template topic and a consumer
// group, every name fresh per step. Counters are read from every process's /metrics and summed;
// CPU from /proc per process (and its main thread); the broker's disk from its log directories.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GatewayProcess, listeningFrom } from '../../test/support/gateway-process.js';
import { delta, histogramQuantile, total } from '../../test/support/prometheus.js';
import { gatewayConfig } from './gateway-step.js';

export type Topology = 'all' | 'split1' | 'split2';

/**
 * Every gateway process a Cluster started and has not stopped: killed (SIGKILL, by pid) when
 * this process exits however it exits (an error, a signal, a closed stdout), so no gateway
 * outlives the benchmark and loads the next one's cores.
 */
const live = new Set<GatewayProcess>();
process.once('exit', () => {
  for (const p of live) if (p.running) p.child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));

export function spawnGateway(configYaml: string, root: string | undefined, env?: Record<string, string>): GatewayProcess {
  const gw = new GatewayProcess(configYaml, { keepEvents: 300, ...(root ? { root } : {}), ...(env ? { env } : {}) });
  live.add(gw);
  void gw.exited.then(() => live.delete(gw));
  return gw;
}

export const TOPOLOGY: Record<Topology, { decoders: number; label: string }> = {
  all: { decoders: 0, label: 'role all (1 process)' },
  split1: { decoders: 1, label: 'receive + 1 decoder' },
  split2: { decoders: 2, label: 'receive + 2 decoders' },
};

export interface ClusterNames {
  tenant: string;
  raw: string;
  templates: string;
  group: string;
}

/** Fresh topic and group names for one step (nothing of an earlier step is read back). */
export function clusterNames(tag: string): ClusterNames {
  const id = `${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`;
  return { tenant: `bench.scale.${tag}.${id}`, raw: `bench.scale.raw.${id}`, templates: `bench.scale.tpl.${id}`, group: `bench.scale.${id}` };
}

export interface ClusterSpec {
  brokers: string;
  names: ClusterNames;
  /** Decoder threads per process (role all, receive and decode alike). */
  workers: number;
  /** 0: role all; else role receive + this many role decode processes. */
  decoders: number;
  /** The FlowGate build to run (a project root; default this one): an A/B of two builds. */
  root?: string;
  /** kafka.linger_ms of role receive (default FlowGate's): how long raw batches fill. */
  rawLingerMs?: number;
}

export type Role = 'all' | 'receive' | 'decode';

/** The raw topic's partitions (FlowGate's default): the most decoders that can share the work. */
export const RAW_PARTITIONS = 16;

/** The configuration of one process: the pipeline benchmark's, plus the role and scale section for the split roles. */
export function roleConfig(spec: ClusterSpec, role: Role, instance: string): string {
  const n = spec.names;
  const scale = role === 'all' ? '' : `role: ${role}
scale: { raw_topic: ${n.raw}, raw_partitions: ${RAW_PARTITIONS}, group: ${n.group}, template_topic: ${n.templates}, instance_id: ${instance} }
`;
  return gatewayConfig({ brokers: spec.brokers, sink: 'kafka', topic: n.tenant, workers: spec.workers, recordsPerMessage: 1, extraYaml: scale });
}

/** utime + stime in seconds of a process (all threads) and of its main thread; NaN when it is gone. */
export function processCpu(pid: number): { total: number; main: number } {
  const read = (path: string): number => {
    try {
      const stat = readFileSync(path, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return NaN;
    }
  };
  return { total: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) };
}

/** What the benchmark reads of the processes' metrics, summed over them. */
export interface ClusterCounters {
  /** UDP datagrams the front process (role all or receive) received. */
  udpDatagrams: number;
  kernelDrops: number;
  /** Datagrams dropped whole, every process (receiver's ring, decoders' statuses). */
  datagramDrops: number;
  /** Records acknowledged on the tenant topic, all processes. */
  tenantDelivered: number;
  /** Records (raw messages at the receiver, flow records at the decoders) dropped, every process. */
  recordsDropped: number;
  /** Decoding processes: records decoded (template messages included) and those delivered or dropped. */
  decodeReceived: number;
  decodeDone: number;
  /** Receiver: raw messages made, and acknowledged or dropped; decoders: raw messages taken (or skipped). */
  rawMade: number;
  rawDone: number;
  rawDelivered: number;
  rawConsumed: number;
  rawBytesConsumed: number;
  uncommittedOnRevoke: number;
  /** Tenant records per decoding process (role all: one entry). */
  perDecoder: number[];
  /** The decoding processes' metrics summed (their latency histograms merged). */
  decodeMetrics: Map<string, number>;
}

/** Records acknowledged on `topic` (the flowgate_records_delivered_total series naming it). */
export function deliveredTo(m: Map<string, number>, topic: string): number {
  let n = 0;
  const label = `topic="${topic}"`;
  for (const [k, v] of m) if (k.startsWith('flowgate_records_delivered_total{') && k.includes(label)) n += v;
  return n;
}

function sumMaps(maps: Map<string, number>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of maps) for (const [k, v] of m) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

export class Cluster {
  readonly spec: ClusterSpec;
  readonly front: GatewayProcess;
  readonly decoders: GatewayProcess[] = [];
  udp = 0;
  #nextDecoder = 0;

  private constructor(spec: ClusterSpec) {
    this.spec = spec;
    this.front = spawnGateway(roleConfig(spec, spec.decoders ? 'receive' : 'all', 'bench-receive'), spec.root,
      spec.decoders && spec.rawLingerMs !== undefined ? { FLOWGATE_KAFKA__LINGER_MS: String(spec.rawLingerMs) } : undefined);
  }

  /** Spawned and ready; with decoders, every one holds raw partitions and they hold all of them. */
  static async start(spec: ClusterSpec): Promise<Cluster> {
    const c = new Cluster(spec);
    try {
      // The receiver first: it creates the raw and template topics the decoders then find.
      c.udp = (await c.front.ready()).udp.v4!;
      for (let i = 0; i < spec.decoders; i++) c.spawnDecoder();
      await Promise.all(c.decoders.map((d) => d.ready()));
      if (spec.decoders) await c.waitAssigned();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** A new role decode process (not waited for). */
  spawnDecoder(): GatewayProcess {
    const d = spawnGateway(roleConfig(this.spec, 'decode', `bench-decode-${this.#nextDecoder++}`), this.spec.root);
    this.decoders.push(d);
    return d;
  }

  /**
   * Until `d` logged "ready" (its HTTP port known): lighter than GatewayProcess.ready(), whose
   * /readyz polling every 2 ms would take CPU from what is measured meanwhile.
   */
  async started(d: GatewayProcess, timeoutMs = 60_000): Promise<void> {
    d.listening = listeningFrom(await d.waitFor('ready', { timeoutMs }));
  }

  /** Stops one decoder (SIGTERM: it commits and leaves the group) and forgets it. */
  async stopDecoder(d: GatewayProcess): Promise<void> {
    const i = this.decoders.indexOf(d);
    if (i >= 0) this.decoders.splice(i, 1);
    await d.stop('SIGTERM');
    await d.dispose();
  }

  get processes(): GatewayProcess[] {
    return [this.front, ...this.decoders];
  }

  /** The processes that decode (and deliver to the tenant topic). */
  get decoding(): GatewayProcess[] {
    return this.decoders.length ? this.decoders : [this.front];
  }

  cpu(): { total: number; main: number }[] {
    return this.processes.map((p) => processCpu(p.pid));
  }

  /** Until every decoder holds partitions, together all of the raw topic's, the same for `stableMs`. */
  async waitAssigned(timeoutMs = 60_000, stableMs = 500): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let since = Infinity;
    for (;;) {
      const counts = await Promise.all(this.decoders.map(async (d) => total(await d.metrics(), 'flowgate_raw_partitions_assigned')));
      const ok = counts.every((n) => n > 0) && counts.reduce((a, b) => a + b, 0) === RAW_PARTITIONS;
      if (!ok) since = Infinity;
      else if (since === Infinity) since = Date.now();
      if (Date.now() - since >= stableMs) return;
      if (Date.now() > deadline) throw new Error(`decoders' raw partitions never settled: ${counts.join(' + ')} of ${RAW_PARTITIONS}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async counters(): Promise<ClusterCounters> {
    const front = await this.front.metrics();
    const decoders = await Promise.all(this.decoders.map((d) => d.metrics()));
    const all = [front, ...decoders];
    const decoding = decoders.length ? decoders : [front];
    const sum = (ms: Map<string, number>[], name: string) => ms.reduce((n, m) => n + total(m, name), 0);
    const tenant = this.spec.names.tenant;
    return {
      udpDatagrams: total(front, 'flowgate_datagrams_received_total'),
      kernelDrops: total(front, 'flowgate_udp_kernel_drops_total'),
      datagramDrops: sum(all, 'flowgate_datagrams_dropped_total'),
      tenantDelivered: all.reduce((n, m) => n + deliveredTo(m, tenant), 0),
      recordsDropped: sum(all, 'flowgate_records_dropped_total'),
      decodeReceived: sum(decoding, 'flowgate_records_received_total'),
      decodeDone: sum(decoding, 'flowgate_records_delivered_total') + sum(decoding, 'flowgate_records_dropped_total'),
      rawMade: decoders.length ? total(front, 'flowgate_records_received_total') : 0,
      rawDone: decoders.length ? total(front, 'flowgate_records_delivered_total') + total(front, 'flowgate_records_dropped_total') : 0,
      rawDelivered: decoders.length ? deliveredTo(front, this.spec.names.raw) : 0,
      rawConsumed: sum(decoders, 'flowgate_raw_datagrams_consumed_total') + sum(decoders, 'flowgate_raw_messages_skipped_total'),
      rawBytesConsumed: sum(decoders, 'flowgate_raw_bytes_consumed_total'),
      uncommittedOnRevoke: sum(decoders, 'flowgate_raw_uncommitted_on_revoke_total'),
      perDecoder: decoding.map((m) => deliveredTo(m, tenant)),
      decodeMetrics: sumMaps(decoding),
    };
  }

  /** Every process stopped (SIGTERM, all at once) and its directory removed. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map(async (p) => {
      await p.stop('SIGTERM').catch(() => undefined);
      await p.dispose();
    }));
  }
}

export interface Settled {
  k: ClusterCounters;
  /** Date.now() when the tenant topic's delivered count last moved. */
  lastProgressAt: number;
  /** Per process CPU (as Cluster.cpu()) read at that moment. */
  cpuAtProgress: { total: number; main: number }[];
  /** Broker CPU seconds read at that moment (NaN without its pid). */
  brokerCpuAtProgress: number;
  /** True when it gave up waiting (giveUpAt passed): the step cannot be lossless. */
  gaveUp: boolean;
}

/**
 * Waits until the UDP count has stopped moving for a second and every datagram is through every
 * hop: the receiver's raw messages acknowledged, the decoders' consumption caught up with them,
 * every decoded record delivered or dropped. Samples CPU at each move of the delivered count,
 * so CPU is charged up to the last delivery, not for the idle second after it. Gives up at
 * `giveUpAt` (ms since the epoch): a backlog still draining then has failed the drain allowance.
 */
export async function settleCluster(c: Cluster, giveUpAt: number, brokerCpu: () => number): Promise<Settled> {
  let k = await c.counters();
  let lastUdp = -1;
  let lastDelivered = -1;
  let stableSince = Date.now();
  let lastProgressAt = Date.now();
  let cpuAtProgress = c.cpu();
  let brokerCpuAtProgress = brokerCpu();
  for (;;) {
    const now = Date.now();
    if (k.udpDatagrams !== lastUdp) {
      lastUdp = k.udpDatagrams;
      stableSince = now;
    }
    if (k.tenantDelivered !== lastDelivered) {
      lastDelivered = k.tenantDelivered;
      lastProgressAt = now;
      cpuAtProgress = c.cpu();
      brokerCpuAtProgress = brokerCpu();
    }
    const rawThrough = c.decoders.length === 0 || (k.rawDone >= k.rawMade && k.rawConsumed >= k.rawDelivered);
    if (k.decodeDone >= k.decodeReceived && rawThrough && now - stableSince >= 1000) return { k, lastProgressAt, cpuAtProgress, brokerCpuAtProgress, gaveUp: false };
    if (now > giveUpAt) return { k, lastProgressAt, cpuAtProgress, brokerCpuAtProgress, gaveUp: true };
    await new Promise((r) => setTimeout(r, 100));
    k = await c.counters();
  }
}

/** p50 / p99 (ms) of receive -> Kafka acknowledgement on the tenant topic between two counter reads. */
export function latencyMs(after: ClusterCounters, before: ClusterCounters, q: number): number | null {
  return histogramQuantile(delta(after.decodeMetrics, before.decodeMetrics), 'flowgate_kafka_produce_latency_seconds', q, 1000);
}
