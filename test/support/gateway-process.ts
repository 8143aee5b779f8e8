// `flowgate serve` as a child process, for tests and benchmarks alike: the config written to a
// temporary directory, its JSON log records as events (matched by their fields, never by text),
// readiness from the "ready" event (the bound ports) and then /readyz, /metrics, and a stop by
// signal with a SIGKILL after a grace period, by pid, with the exit code. It may run inside a
// network namespace (test/support/netns.ts): `ip netns exec` execs node, so the pid is still node's.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Accounting } from '../../src/gateway.js'; // the "stopped" event's fields
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { httpGet } from './http.js';
import { eventsNamed, type LogEvent } from './log-events.js';
import { flowgateBin } from './paths.js';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';
import { scrapeMetrics } from './prometheus.js';
import { waitUntil } from './wait.js';

export type { Accounting, LogEvent };

export interface Listening {
  /** UDP ports by family. */
  udp: { v4?: number; v6?: number };
  /** TCP ports by family (listen.tcp). */
  tcp: { v4?: number; v6?: number };
  http: number;
}

export interface GatewayProcessOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** The project whose bin/flowgate.js runs (default this one; a benchmark may compare another build). */
  root?: string;
  /** Log records kept (oldest dropped first): a long benchmark run need not keep them all. */
  keepEvents?: number;
  /** A network namespace to run in (`ip netns exec <netns> node bin/flowgate.js serve ...`). */
  netns?: string;
  /**
   * The address /readyz and /metrics are fetched from (default 127.0.0.1). A gateway in a namespace
   * is only reachable on its namespace's address (e.g. lab.host(name).address), so it must be given
   * then, and the config's http.listen must cover it ("0.0.0.0:0" or "<that address>:0").
   */
  httpHost?: string;
  /** Start node without the gateway's flags (GATEWAY_NODE_FLAGS), as a hand-made launcher might. */
  bareNode?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bound ports a "ready" event names (its udp list is ADDRESS:PORT, IPv6 unbracketed). */
export function listeningFrom(ready: LogEvent): Listening {
  const udp: Listening['udp'] = {};
  for (const a of ready.udp as string[]) {
    const port = Number(a.slice(a.lastIndexOf(':') + 1));
    if (a.split(':').length > 2) udp.v6 = port;
    else udp.v4 = port;
  }
  const tcp: Listening['tcp'] = {};
  for (const a of (ready.tcp as string[] | undefined) ?? []) {
    const port = Number(a.slice(a.lastIndexOf(':') + 1));
    if (a.split(':').length > 2) tcp.v6 = port;
    else tcp.v4 = port;
  }
  return { udp, tcp, http: ready.http as number };
}

export class GatewayProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'flowgate-gw-'));
  readonly configFile = join(this.dir, 'config.yaml');
  readonly events: LogEvent[] = [];
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  readonly startedAt = performance.now();
  /** ms from spawn to /readyz 200, once ready() resolved. */
  readyMs = NaN;
  listening: Listening | undefined;
  readonly #keep: number;
  readonly #httpHost: string;
  #waiters: { match: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }[] = [];

  constructor(configYaml: string, o: GatewayProcessOptions = {}) {
    this.#keep = o.keepEvents ?? Infinity;
    if (o.netns !== undefined && o.httpHost === undefined) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new Error(`a gateway in netns ${o.netns} needs httpHost (its address there): 127.0.0.1 is the namespace's own loopback`);
    }
    this.#httpHost = o.httpHost ?? '127.0.0.1';
    writeFileSync(this.configFile, configYaml);
    // BENCH_GATEWAY_NODE_ARGS: node flags for the gateway (profiling a benchmark: --cpu-prof is refused in NODE_OPTIONS).
    const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    // Started as every launcher starts it (node-flags.ts), unless a test asks for bare node (or a
    // benchmark compares: BENCH_GATEWAY_BARE_NODE=1).
    const flags = (o.bareNode ?? process.env.BENCH_GATEWAY_BARE_NODE === '1') ? [] : GATEWAY_NODE_FLAGS;
    const node = [process.execPath, ...flags, ...nodeArgs, flowgateBin(o.root), 'serve', '--config', this.configFile];
    const [command, ...args] = o.netns === undefined ? node : ['ip', 'netns', 'exec', o.netns, ...node];
    this.child = spawn(command!, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...o.env },
    });
    let buffered = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.#record(text);
      }
    });
    // 'close', not 'exit': 'exit' may come before the last of stderr is read, and the final log
    // lines ("stopped" and its accounting) would then be missed.
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  #record(text: string): void {
    let event: LogEvent;
    try {
      event = JSON.parse(text) as LogEvent;
    } catch {
      event = { level: 'raw', msg: '', text }; // not a log record (a crash's stack): kept for failure messages only
    }
    this.events.push(event);
    if (this.events.length > this.#keep) this.events.splice(0, this.events.length - this.#keep);
    if (process.env.TEST_VERBOSE) process.stderr.write(text + '\n');
    this.#waiters = this.#waiters.filter((w) => (w.match(event) ? (w.resolve(event), false) : true));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last log records, for failure messages. */
  tail(n = 15): string {
    return this.events.slice(-n).map((e) => JSON.stringify(e)).join('\n');
  }

  /** The first event named `msg` whose fields pass `match`, already seen or to come. */
  waitFor(msg: string, o: { timeoutMs?: number; match?: (e: LogEvent) => boolean } = {}): Promise<LogEvent> {
    const timeoutMs = o.timeoutMs ?? 30_000;
    const match = (e: LogEvent) => e.msg === msg && (o.match?.(e) ?? true);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${msg}" event within ${timeoutMs} ms; last events:\n${this.tail()}`)), timeoutMs);
      this.#waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited (${code}) before "${msg}"; last events:\n${this.tail()}`));
      });
    });
  }

  /** Events named `msg` seen so far. */
  count(msg: string, match: (e: LogEvent) => boolean = () => true): number {
    return eventsNamed(this.events, msg, match).length;
  }

  /**
   * Resolves once the gateway is ready: its "ready" event (UDP and HTTP listening: the bound
   * ports), then /readyz 200 (every worker connected to Kafka). Sets `listening` and `readyMs`.
   */
  async ready(timeoutMs = 60_000): Promise<Listening> {
    const deadline = Date.now() + timeoutMs;
    this.listening = listeningFrom(await this.waitFor('ready', { timeoutMs }));
    for (;;) {
      const r = await httpGet(`${this.base}/readyz`).catch(() => undefined);
      if (r?.status === 200) break;
      if (!this.running) throw new Error(`gateway exited (${this.child.exitCode}) before /readyz said 200; last events:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms (${r?.status}: ${r?.body}); last events:\n${this.tail()}`);
      await sleep(2);
    }
    this.readyMs = performance.now() - this.startedAt;
    return this.listening;
  }

  /** http://HTTPHOST:PORT of the HTTP endpoint (after ready(); httpHost 127.0.0.1 unless given). */
  get base(): string {
    if (!this.listening) throw new Error('gateway not ready yet: no HTTP port');
    return `http://${this.#httpHost}:${this.listening.http}`;
  }

  metrics(): Promise<Map<string, number>> {
    return scrapeMetrics(this.base);
  }

  /**
   * Scrapes until `holds` is true of the metrics, and returns them. Kafka holds a batch before
   * the producer has read its acknowledgement: a delivered counter follows the topic's count.
   */
  async metricsWhen(what: string, holds: (m: Map<string, number>) => boolean, timeoutMs = 10_000): Promise<Map<string, number>> {
    let last = new Map<string, number>();
    const counters = () => Object.fromEntries([...last].filter(([k]) => /^flowgate_(records|datagrams)_/.test(k)));
    return waitUntil(what, async () => holds((last = await this.metrics())) && last, { timeoutMs, last: counters });
  }

  /** Sends `signal` (SIGKILL after `graceMs`) unless it has exited already; resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<{ code: number | null }> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return { code: await this.exited };
  }

  /** The accounting of the final "stopped" event; throws when there is none (it did not stop cleanly). */
  accounting(): Accounting {
    const stopped = this.events.find((e) => e.msg === 'stopped');
    if (!stopped) throw new Error(`no "stopped" event; last events:\n${this.tail()}`);
    return stopped as unknown as Accounting;
  }

  /** Kills it if it still runs (a test that failed half-way) and removes its directory. */
  async dispose(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
