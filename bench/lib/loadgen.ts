// Runs bench/loadgen (a process of its own) against a local port and returns its JSON summary:
// the one way every benchmark and baseline drives the generator.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The generator's --json summary (bench/loadgen/main.ts), the fields the benchmarks read. */
export interface Sent {
  records: number;
  datagrams: number;
  seconds: number;
  datagrams_per_s: number;
  bytes: number;
  cpu_s: number;
  sender: string;
}

const main = fileURLToPath(new URL('../loadgen/main.js', import.meta.url));

/**
 * `signal`: when aborted, the generator is stopped with SIGTERM (by its pid) and still reports
 * what it sent (for a run whose length is decided while it runs).
 */
export function runLoadgen(port: number, args: string[], o: { signal?: AbortSignal } = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, '--target', `127.0.0.1:${port}`, '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const stop = () => child.kill('SIGTERM');
    if (o.signal?.aborted) stop();
    else o.signal?.addEventListener('abort', stop, { once: true });
    child.once('exit', () => o.signal?.removeEventListener('abort', stop));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`loadgen exited ${code}: ${out}`));
      else resolve(JSON.parse(last) as Sent);
    });
  });
}
