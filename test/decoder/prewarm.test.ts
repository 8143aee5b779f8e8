// Prewarmed decoder workers (src/decoder/prewarm.ts): the pool takes them, in order, before it
// spawns any new one; the spares it does not take are ended; a spare that died before it was
// taken is skipped and a fresh worker used; an untaken spare does not keep the process alive.
// Workers are observed through process's 'worker' event, emitted for every Worker created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { prewarmDecoderWorkers, takePrewarmedWorker } from '../../src/decoder/prewarm.js';

/** Workers created while `fn` runs, each with whether it has exited so far (until a taker removes the listener). */
async function watchWorkers<T>(fn: () => T | Promise<T>): Promise<{ result: T; created: { worker: Worker; exited: boolean }[] }> {
  const created: { worker: Worker; exited: boolean }[] = [];
  const onWorker = (worker: Worker) => {
    const entry = { worker, exited: false };
    worker.once('exit', () => (entry.exited = true));
    created.push(entry);
  };
  process.on('worker', onWorker);
  try {
    const result = await fn();
    await new Promise((r) => setImmediate(r)); // the event follows the constructor on a later tick
    return { result, created };
  } finally {
    process.off('worker', onWorker);
  }
}

function config(workers: number) {
  return parseConfig(`listen: { udp: ["127.0.0.1:0"] }
workers: ${workers}
kafka: { sink: discard }
stats: { log_interval_s: 0 }
`);
}

const quiet = createLogger('error', {}, () => undefined);

// A pool that takes a dead spare waits for it forever: the timeout turns that hang into a failure.
test('the pool takes the prewarmed workers in order and ends the spares it does not take', { timeout: 60_000 }, async (t) => {
  const { created: spares } = await watchWorkers(() => prewarmDecoderWorkers(3));
  assert.equal(spares.length, 3);
  const { result: gateway, created: fresh } = await watchWorkers(() => startGateway(config(2), quiet));
  t.after(() => gateway.stop());
  assert.equal(fresh.length, 0, 'no worker spawned while spares were left');
  assert.equal(gateway.pool.thread(0), spares[0]!.worker);
  assert.equal(gateway.pool.thread(1), spares[1]!.worker);
  assert.equal(spares[2]!.exited, true, 'the untaken spare was ended');
  assert.ok(gateway.pool.allRunning(), 'the taken ones run');
  assert.equal(takePrewarmedWorker(), undefined, 'none left');
});

test('a spare that died before it was taken is skipped and a fresh worker used', { timeout: 60_000 }, async (t) => {
  const { created: spares } = await watchWorkers(() => prewarmDecoderWorkers(2));
  await spares[0]!.worker.terminate();
  assert.equal(spares[0]!.exited, true);
  const { result: gateway, created: fresh } = await watchWorkers(() => startGateway(config(2), quiet));
  t.after(() => gateway.stop());
  assert.equal(gateway.pool.thread(0), spares[1]!.worker, 'the live spare is taken first');
  assert.equal(fresh.length, 1, 'one fresh worker for the dead spare');
  assert.equal(gateway.pool.thread(1), fresh[0]!.worker);
  assert.ok(gateway.pool.allRunning());
});

test('an untaken spare does not keep the process alive', (t) => {
  // A script of its own (a worker inherits --eval flags and would fail to boot): it prewarms one
  // spare, waits until the spare has booted, and ends its main module. It must then exit with the
  // spare still alive and waiting; a ref'd spare would keep it running until the timeout kills it.
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-prewarm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'spare.mjs');
  writeFileSync(script, `import { once } from 'node:events';
const { prewarmDecoderWorkers } = await import(${JSON.stringify(new URL('../../src/decoder/prewarm.js', import.meta.url).href)});
let spare;
process.once('worker', (w) => (spare = w));
prewarmDecoderWorkers(1);
await new Promise((r) => setImmediate(r));
let exited = null;
spare.once('exit', (code) => (exited = code));
const keepAlive = setInterval(() => undefined, 1000); // the spare is unref'd: awaiting it alone would not hold the loop
await once(spare, 'online');
await new Promise((r) => setTimeout(r, 500)); // its modules loaded: it waits for a WorkerInit
clearInterval(keepAlive);
process.once('exit', () => process.stdout.write(JSON.stringify({ exitedBefore: exited })));
`);
  const r = spawnSync(process.execPath, [script], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(r.signal, null, 'ended by the timeout: the spare kept the process alive');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { exitedBefore: null }, 'the spare was alive and waiting when the process ended');
});
