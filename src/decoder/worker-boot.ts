// Entry of every decoder worker thread. A worker can start before its configuration exists
// (prewarm.ts: at process start, while the main thread still loads and validates the config), so
// it loads worker.ts and its costly modules meanwhile (kafkajs above all: ~50 ms of a ~100 ms
// boot), then waits for its WorkerInit by message and starts with it.
import { parentPort } from 'node:worker_threads';
import type { WorkerInit } from './worker.js';

const worker = import('./worker.js');
worker.catch(() => undefined); // reported when the WorkerInit comes

// Messages the pool sends after the WorkerInit (stats, stop) wait in the port until the worker
// listens. The port is unref'd meanwhile, so a timer keeps the thread alive through the import.
parentPort!.once('message', (init: WorkerInit) => {
  const keepAlive = setInterval(() => undefined, 1_000);
  void worker.then((w) => w.startWorker(init)).finally(() => clearInterval(keepAlive));
});
