// Entry of every decoder worker thread. A worker can start before its configuration exists
// (prewarm.ts: at process start, while the main thread still loads and validates the config), so
// it loads worker.ts's costly modules meanwhile (kafkajs above all: ~50 ms of a ~100 ms boot), then
// waits for its WorkerInit by message and runs worker.ts with it. worker.ts takes its WorkerInit
// from workerData when it is imported, so this sets workerData first; syncBuiltinESMExports()
// is Node's documented way to carry such a change to the ES-module view of node:worker_threads.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type { WorkerInit } from './worker.js';

// worker.ts's own imports (a list that drifts from it only costs some of the saving).
const preload = Promise.all([
  import('../kafka/producer.js'), import('./wasm.js'), import('../route/tenants.js'), import('../tap/forwarder.js'),
  import('../pipeline/stats.js'), import('../log.js'), import('../net/address.js'), import('../ring/ring.js'),
]);
preload.catch(() => undefined); // the import of worker.js below reports the same failure

// Messages the pool sends after the WorkerInit (stats, stop) wait in the port until worker.ts
// listens. The port is unref'd meanwhile, so a timer keeps the thread alive through the import.
parentPort!.once('message', (init: WorkerInit) => {
  const keepAlive = setInterval(() => undefined, 1_000);
  void preload.finally(async () => {
    const threads = createRequire(import.meta.url)('node:worker_threads') as { workerData: unknown };
    threads.workerData = init;
    syncBuiltinESMExports();
    try {
      await import('./worker.js');
    } finally {
      clearInterval(keepAlive);
    }
  });
});
