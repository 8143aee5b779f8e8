// Decoder worker threads started at process start, before the configuration is loaded: a worker
// takes ~100 ms to boot (mostly module loading), the main thread ~150 ms to load and validate the
// config, and doing both at once is most of the start-up time saved (bench/pipeline.bench.ts
// ready_ms). The pool takes these before spawning new ones; spares it does not take are ended.
// Unref'd until taken, so a command that fails early (bad config) still exits.
import { Worker } from 'node:worker_threads';

/** worker-boot.js: loads the worker's modules, then waits for its WorkerInit by message. */
export const workerBootUrl = new URL('./worker-boot.js', import.meta.url);

interface Spare {
  worker: Worker;
  alive: boolean;
}

const spares: Spare[] = [];

/** Starts `count` workers that wait for their WorkerInit. */
export function prewarmDecoderWorkers(count: number): void {
  for (let i = 0; i < count; i++) {
    const spare: Spare = { worker: new Worker(workerBootUrl), alive: true };
    spare.worker.unref();
    // A spare that fails before it is taken is just not used (the pool spawns a fresh one).
    spare.worker.on('error', () => { spare.alive = false; });
    spare.worker.once('exit', () => { spare.alive = false; });
    spares.push(spare);
  }
}

/** A prewarmed worker still booting or waiting, ref'd again; undefined when none is left. */
export function takePrewarmedWorker(): Worker | undefined {
  for (let spare = spares.shift(); spare; spare = spares.shift()) {
    if (!spare.alive) continue;
    spare.worker.removeAllListeners();
    spare.worker.ref();
    return spare.worker;
  }
  return undefined;
}

/** Ends the spares nobody took (the config asked for fewer workers). */
export async function discardPrewarmedWorkers(): Promise<void> {
  const left = spares.splice(0);
  await Promise.all(left.map((s) => s.worker.terminate()));
}
