// Starts the decoder workers, one ring each, watches them and restarts one that dies. An
// exporter always maps to the same worker (hash of its address), so its templates live in
// one place. Records a dead worker had accepted but not delivered are counted as dropped
// ("worker_failed") from the accounting block it leaves behind (pipeline/accounting.ts).
import type { ElementDefinition } from './elements/definition.js';
import { Worker } from 'node:worker_threads';
import { PacketRing } from '../ring/ring.js';
import { decoderModule, stateLayout } from './wasm.js';
import { takePrewarmedWorker, workerBootUrl } from './prewarm.js';
import type { WorkerInit, ToWorker, FromWorker } from './worker.js';
import type { TapSpec } from '../tap/forwarder.js';
import type { TapSink, TapSource } from '../tap/source.js';
import type { WorkerStats, ExporterView, TemplateView } from '../pipeline/stats.js';
import { createAccounting, readAccounting, retireWorker, type AccountingTotals } from '../pipeline/accounting.js';
import { createProgress } from '../scale/progress.js';
import type { Logger } from '../log.js';
import { ownerWorker } from '../net/exporter-owner.js';

export interface PoolOptions {
  workers: number;
  ring: { slots: number; slot_bytes: number };
  init: Omit<WorkerInit, 'index' | 'ring' | 'accounting' | 'module' | 'tap' | 'progress'>;
  log: Logger;
}

/** A question to the workers: each answer, and a worker lost before it answered. */
interface Waiting {
  answer(msg: FromWorker, worker: number): void;
  lost(worker: number): void;
}

interface Slot {
  index: number;
  ring: PacketRing;
  worker?: Worker;
  ready?: Promise<void>;
  restartDelayMs: number;
}

export class DecoderPool implements TapSource {
  readonly #options: PoolOptions;
  readonly #slots: Slot[];
  readonly #accounting: SharedArrayBuffer;
  /** Each worker's progress (scale/progress.ts), read by the raw-topic consumer in role decode. */
  readonly progress: SharedArrayBuffer;
  #restarts = 0;
  /** Called when a started worker exited and will be restarted (role decode: its datagrams are taken again from Kafka). */
  onWorkerExit: ((index: number) => void) | undefined;
  /** Set once start() succeeded: a worker that dies before is a failed start, not a restart. */
  #started = false;
  #stopping = false;
  #requestId = 0;
  /** Questions to the workers awaiting answers (stats, describe, templates), by request id. */
  readonly #waiting = new Map<number, Waiting>();
  #routing: WorkerInit['routing'];
  #tap: TapSpec | null = null;
  readonly #tapSinks = new Set<TapSink>();

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#routing = options.init.routing;
    this.#accounting = createAccounting(options.workers);
    this.progress = createProgress(options.workers);
    this.#slots = Array.from({ length: options.workers }, (_, index) => ({
      index,
      ring: PacketRing.create({ slots: options.ring.slots, slotBytes: options.ring.slot_bytes }),
      restartDelayMs: 100,
    }));
  }

  get size(): number {
    return this.#slots.length;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Records lost with workers that died (dropped{worker_failed} in the accounting). */
  get workerFailedRecords(): number {
    return readAccounting(this.#accounting).dropped.worker_failed;
  }

  /** The thread of worker `index` while it runs (for thread ids in diagnostics, and tests). */
  thread(index: number): Worker | undefined {
    return this.#slots[index]!.worker;
  }

  ring(index: number): PacketRing {
    return this.#slots[index]!.ring;
  }

  /** The worker that owns an exporter: a hash of its 16 address bytes at `offset`. */
  workerFor(address: Uint8Array, offset = 0): number {
    return ownerWorker(address, offset, this.#slots.length);
  }

  /**
   * Starts every worker and resolves when all are ready. When one fails to start, the others are
   * stopped (none is restarted) before the first failure is rethrown.
   */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.#slots.map((s) => this.#spawn(s)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) {
      this.#started = true;
      return;
    }
    await this.stop(0);
    throw failed.reason;
  }

  #spawn(slot: Slot): Promise<void> {
    const init: WorkerInit = {
      ...this.#options.init,
      routing: this.#routing,
      tap: this.#tap,
      index: slot.index,
      ring: slot.ring.buffer,
      accounting: this.#accounting,
      progress: this.progress,
      module: this.#options.init.role === 'receive' ? null : decoderModule(),
    };
    // A prewarmed worker (prewarm.ts) when one is left, else a new one: both boot through
    // worker-boot.js and get their WorkerInit by message.
    const worker = takePrewarmedWorker() ?? new Worker(workerBootUrl);
    worker.postMessage(init);
    slot.worker = worker;
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          slot.restartDelayMs = 100;
          resolve();
        } else if (msg.type === 'describe' || msg.type === 'stats' || msg.type === 'templates') {
          this.#waiting.get(msg.id)?.answer(msg, slot.index);
        } else if (msg.type === 'tap') {
          for (const sink of this.#tapSinks) sink(msg.batch, slot.index);
        }
      });
      worker.once('error', (err) => {
        this.#options.log.error('decoder worker failed', { worker: slot.index, error: err.stack ?? String(err) });
        reject(err);
      });
      worker.once('exit', (code) => {
        slot.worker = undefined;
        if (this.#stopping && code === 0) return;
        this.#retire(slot);
        if (!this.#started) {
          reject(new Error(`decoder worker ${slot.index} exited with code ${code} while starting`));
          return;
        }
        this.#restarts++;
        this.onWorkerExit?.(slot.index);
        this.#options.log.error('decoder worker exited, restarting', { worker: slot.index, code, delayMs: slot.restartDelayMs });
        const delay = slot.restartDelayMs;
        slot.restartDelayMs = Math.min(delay * 2, 5_000);
        if (!this.#stopping) setTimeout(() => void this.#spawn(slot).catch(() => undefined), delay).unref();
      });
    });
    return slot.ready;
  }

  /** Folds a dead worker's accounting into the retired block; what it had not settled is worker_failed. */
  #retire(slot: Slot): void {
    retireWorker(this.#accounting, slot.index);
    // A dead worker answers nothing: questions waiting for it are answered without it.
    for (const w of [...this.#waiting.values()]) w.lost(slot.index);
  }

  /** Current accounting totals, live workers and retired ones, read from shared memory. */
  accounting(): AccountingTotals {
    return readAccounting(this.#accounting);
  }

  /**
   * Asks each live worker `targets` keeps, by `message(id)`, and hands each answer to `answer`;
   * resolves once every one answered (or died), or after `timeoutMs` with the answers so far.
   */
  #ask(targets: (s: Slot) => boolean, message: (id: number, s: Slot) => ToWorker, answer: (msg: FromWorker) => void, timeoutMs: number): Promise<void> {
    const live = this.#slots.filter((s) => s.worker && targets(s));
    if (live.length === 0) return Promise.resolve();
    const id = ++this.#requestId;
    return new Promise((resolve) => {
      const unanswered = new Set(live.map((s) => s.index));
      const done = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      const settle = (worker: number): void => {
        if (unanswered.delete(worker) && unanswered.size === 0) done();
      };
      this.#waiting.set(id, { answer: (msg, worker) => { if (unanswered.has(worker)) answer(msg); settle(worker); }, lost: settle });
      for (const s of live) s.worker!.postMessage(message(id, s));
    });
  }

  /**
   * Asks every live worker for its report; a worker that does not answer in time is left out.
   * `latency`: take the workers' latency samples (the metrics scrape does; others leave them).
   */
  async reports(timeoutMs = 1_000, latency = false): Promise<WorkerStats[]> {
    const reports: WorkerStats[] = [];
    await this.#ask(() => true, (id) => ({ type: 'stats', id, latency }), (m) => m.type === 'stats' && reports.push(m.stats), timeoutMs);
    return reports;
  }

  /** Exporters and templates of every live worker (for /api/exporters and /api/templates). */
  async describe(timeoutMs = 1_000): Promise<{ exporters: ExporterView[]; templates: TemplateView[] }> {
    const exporters: ExporterView[] = [];
    const templates: TemplateView[] = [];
    await this.#ask(() => true, (id) => ({ type: 'describe', id }), (m) => {
      if (m.type !== 'describe') return;
      exporters.push(...m.exporters);
      templates.push(...m.templates);
    }, timeoutMs);
    return { exporters, templates };
  }

  /**
   * Hands template-topic messages to the workers that own their exporters (by `owner`, a worker
   * index per value) and resolves when each has imported its share: sessions restored, rejected.
   */
  async importTemplates(values: Buffer[], owner: (v: Buffer) => number, tombstones: string[], timeoutMs = 10_000): Promise<{ sessions: number; rejected: number }> {
    const shares = this.#slots.map(() => [] as Uint8Array[]);
    for (const v of values) shares[owner(v)]!.push(v);
    const total = { sessions: 0, rejected: 0 };
    await this.#ask((s) => shares[s.index]!.length > 0 || tombstones.length > 0, (id, s) => ({ type: 'templates', id, values: shares[s.index]!, tombstones }), (m) => {
      if (m.type !== 'templates') return;
      total.sessions += m.sessions;
      total.rejected += m.rejected;
    }, timeoutMs);
    return total;
  }

  /** The decoder's state snapshot layout (what template messages are made of). */
  stateLayout(): ReturnType<typeof stateLayout> {
    return stateLayout();
  }

  /** Whether every worker is running now. */
  allRunning(): boolean {
    return this.#slots.every((s) => s.worker !== undefined);
  }

  /** Whether the workers have the element definitions (decoder.fields all, or routing.options_topic at start or a reload). */
  get hasDefinitions(): boolean {
    return this.#options.init.decoder.definitions !== undefined;
  }

  /**
   * Swaps routing in every worker (and for workers started later); templates and queues stay.
   * `definitions`: element names the workers did not have yet (a reload set routing.options_topic).
   */
  reload(routing: WorkerInit['routing'], definitions?: readonly ElementDefinition[]): void {
    this.#routing = routing;
    if (definitions) this.#options.init.decoder.definitions = definitions;
    for (const s of this.#slots) s.worker?.postMessage({ type: 'reload', routing, definitions } satisfies ToWorker);
  }

  /** Tells every worker (and those started later) what the live tap needs; null stops forwarding. */
  setTap(spec: TapSpec | null): void {
    this.#tap = spec;
    for (const s of this.#slots) s.worker?.postMessage({ type: 'tap', spec } satisfies ToWorker);
  }

  subscribeTap(sink: TapSink): () => void {
    const entry: TapSink = (batch, worker) => sink(batch, worker);
    this.#tapSinks.add(entry);
    return () => void this.#tapSinks.delete(entry);
  }

  /** Closes the rings (workers drain them), lets producers flush within the timeout, and waits for the workers to end. */
  async stop(flushTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    const ended = this.#slots.map((s) => {
      s.ring.close();
      const w = s.worker;
      if (!w) return Promise.resolve();
      return new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.postMessage({ type: 'stop', flushTimeoutMs } satisfies ToWorker);
      });
    });
    await Promise.all(ended);
  }
}
