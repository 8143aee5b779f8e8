// A FlowGate gateway under test: `flowgate serve` as a child process with a temporary config
// (UDP and HTTP on 127.0.0.1, ephemeral ports), its ready line, its /metrics, and a clean stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMetrics } from './prom.js';
import { projectPath } from '../../src/paths.js';

const flowgate = projectPath('bin', 'flowgate.js');

/**
 * GET on a fresh connection that is closed after the answer. fetch() keeps the socket alive for
 * 4 s, and the gateway's shutdown waits for open HTTP connections: every stop took 4 s more.
 */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

export interface GatewayOptions {
  brokers: string;
  sink: 'kafka' | 'discard';
  topic: string;
  workers: number;
  recordsPerMessage: 1 | 'datagram';
}

export class Gateway {
  readonly child: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'flowgate-bench-'));
  readonly startedAt = performance.now();
  udp = 0;
  http = 0;
  readyMs = NaN;
  #lines: string[] = [];

  constructor(o: GatewayOptions) {
    const file = join(this.dir, 'config.yaml');
    writeFileSync(file, `listen: { udp: ["127.0.0.1:0"], receive_buffer_bytes: 33554432 }
http: { listen: "127.0.0.1:0" }
workers: ${o.workers}
kafka:
  brokers: ["${o.brokers}"]
  sink: ${o.sink}
  records_per_message: ${o.recordsPerMessage === 'datagram' ? '"datagram"' : 1}
routing: { default_topic: ${o.topic} }
log: { level: info }
stats: { log_interval_s: 0 }
`);
    this.child = spawn(process.execPath, [flowgate, 'serve', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.#lines.push(...c.split('\n'));
      if (this.#lines.length > 2000) this.#lines.splice(0, this.#lines.length - 200); // a soak logs; keep the tail
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits for the ready line, then for /readyz 200 (listening and connected to Kafka). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.http && Date.now() < deadline) {
      const line = this.#lines.find((l) => l.includes('"msg":"ready"'));
      if (line) {
        const j = JSON.parse(line) as { udp: string[]; http: number };
        this.udp = Number(j.udp[0]!.split(':').at(-1));
        this.http = j.http;
      } else if (this.child.exitCode !== null) {
        break;
      } else await new Promise((r) => setTimeout(r, 2));
    }
    if (!this.http) throw new Error(`gateway not ready: ${this.#lines.slice(-10).join('\n')}`);
    while (Date.now() < deadline) {
      const r = await httpGet(`http://127.0.0.1:${this.http}/readyz`).catch(() => undefined);
      if (r?.status === 200) {
        this.readyMs = performance.now() - this.startedAt;
        return;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error('gateway never became ready (Kafka connected)');
  }

  async metrics(): Promise<Map<string, number>> {
    return parseMetrics((await httpGet(`http://127.0.0.1:${this.http}/metrics`)).body);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
