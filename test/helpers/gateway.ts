// Runs `flowgate serve` as a child process with a config written to a temp dir, and reads its
// JSON log lines: the ready line gives the bound UDP ports, the stopped line the accounting.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface Accounting {
  datagrams: { received: number; dropped: Record<string, number>; decoded: number };
  records: { decoded: number; delivered: number; dropped: Record<string, number>; queued: number };
}

export class GatewayProcess {
  readonly dir: string;
  readonly configFile: string;
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(configYaml: string, env: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'flowgate-it-'));
    this.configFile = join(this.dir, 'config.yaml');
    writeFileSync(this.configFile, configYaml);
    this.child = spawn(process.execPath, [join(repoRoot, 'bin', 'flowgate.js'), 'serve', '--config', this.configFile], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, ...env },
    });
    let buffered = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { level: 'raw', msg: text };
        }
        this.lines.push(line);
        if (process.env.TEST_VERBOSE) process.stderr.write(text + '\n');
        this.#waiters = this.#waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first log line (seen or to come) with this msg and matching fields. */
  waitFor(msg: string, timeoutMs = 30_000, test: (l: LogLine) => boolean = () => true): Promise<LogLine> {
    const match = (l: LogLine) => l.msg === msg && test(l);
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
      this.#waiters.push({ test: match, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      void this.exited.then((code) => reject(new Error(`gateway exited (${code}) before "${msg}"; last lines:\n${this.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`)));
    });
  }

  /** UDP ports from the ready line, by family. */
  async ready(): Promise<{ v4?: number; v6?: number }> {
    const line = await this.waitFor('ready');
    const out: { v4?: number; v6?: number } = {};
    for (const a of line.udp as string[]) {
      const port = Number(a.slice(a.lastIndexOf(':') + 1));
      if (a.startsWith('::') || a.split(':').length > 2) out.v6 = port;
      else out.v4 = port;
    }
    return out;
  }

  /** Sends a signal and resolves with the exit code and the accounting of the final "stopped" line. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; accounting: Accounting }> {
    this.child.kill(signal);
    const code = await this.exited;
    const stopped = this.lines.find((l) => l.msg === 'stopped');
    if (!stopped) throw new Error(`no "stopped" line; last lines:\n${this.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`);
    return { code, accounting: stopped as unknown as Accounting };
  }

  cleanup(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The broker the test runner started (scripts/run-tests.js), or a clear failure. */
export function testBrokers(): string[] {
  const b = process.env.TEST_KAFKA_BROKERS;
  if (!b) throw new Error('TEST_KAFKA_BROKERS is not set: run integration tests with `npm test`, which starts the local Kafka broker');
  return b.split(',');
}
