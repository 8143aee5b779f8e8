// Reads the shared template topic (scale.template_topic) in the main thread and hands what it
// finds to the decoder workers that own the exporters (pool.importTemplates). catchUp() reads
// every partition to the end offsets the broker gave when it was called: a compacted topic has
// gaps, so "no more records" proves nothing, the end offset does. Between catch-ups the topic is
// followed (tail) so that every instance keeps what the others learn. No consumer group: plain
// Fetch requests from kept positions (kafka/client.ts fetch), so starting costs no group join.
import { KafkaClient, type ClientSettings } from '../kafka/client.js';
import type { Logger } from '../log.js';
import type { DecoderAbi } from '../decoder/abi.js';
import { templateProblem, templateSkipReasons, type TemplateSkipReason } from './template-message.js';

/** Where messages go: imported by the workers; resolves with the sessions restored and the snapshots refused. */
export type TemplateApply = (values: Buffer[], tombstones: string[]) => Promise<{ sessions: number; rejected: number }>;

/** Which exporters' messages this instance imports now (role decode: those of its raw partitions); null: all. */
export type ExporterFilter = ((exporter: string) => boolean) | null;

const FETCH_MAX_BYTES = 4 << 20;

export class TemplateReader {
  readonly #client: KafkaClient;
  readonly #topic: string;
  readonly #layout: DecoderAbi['state'];
  /** This process's id (the `process` header of what it publishes). */
  readonly #process: string;
  readonly #apply: TemplateApply;
  readonly #log: Logger;
  readonly #positions = new Map<number, bigint>();
  #catchingUp: Promise<number> | undefined;
  #tail: NodeJS.Timeout | undefined;
  #connected = false;
  #caughtUpOnce = false;
  /** The topic as compaction leaves it (latest value per key, tombstones removed), with the exporter of each. */
  readonly #known = new Map<string, { exporter: string; value: Buffer; imported: boolean }>();
  /** Messages of exporters the filter leaves out are kept, and imported once the filter takes them. */
  filter: ExporterFilter = null;
  readonly counters = {
    /** Template messages read and handed to the workers. */
    loaded: 0,
    tombstones: 0,
    /** Sessions the workers restored from them. */
    sessionsRestored: 0,
    catchUps: 0,
    /** ms the last catch-up took. */
    lastCatchUpMs: 0,
    skipped: Object.fromEntries(templateSkipReasons.map((r) => [r, 0])) as Record<TemplateSkipReason, number>,
    errors: 0,
  };

  constructor(settings: ClientSettings, topic: string, layout: DecoderAbi['state'], processId: string, apply: TemplateApply, log: Logger) {
    this.#client = new KafkaClient(settings, log);
    this.#topic = topic;
    this.#layout = layout;
    this.#process = processId;
    this.#apply = apply;
    this.#log = log;
  }

  /** Reads the topic to its current end offsets (one at a time: a call during one waits for the next). Returns messages read. */
  catchUp(): Promise<number> {
    const run = async (): Promise<number> => {
      await this.#catchingUp?.catch(() => undefined);
      return this.#readToEnd();
    };
    const p = run().finally(() => {
      if (this.#catchingUp === p) this.#catchingUp = undefined;
    });
    this.#catchingUp = p;
    return p;
  }

  /** Follows the topic every `intervalMs` between catch-ups. */
  follow(intervalMs: number): void {
    this.#tail = setInterval(() => {
      if (this.#catchingUp) return;
      this.catchUp().catch((err: unknown) => {
        this.counters.errors++;
        this.#log.sampled('warn', 'template-tail', 'template topic not readable now, tried again', { topic: this.#topic, error: (err as Error).message });
      });
    }, intervalMs);
    this.#tail.unref();
  }

  async #readToEnd(): Promise<number> {
    const started = performance.now();
    if (!this.#connected) {
      await this.#client.connect();
      this.#connected = true;
    }
    const ends = await this.#client.endOffsets(this.#topic);
    let read = 0;
    for (const [partition, end] of ends) {
      let position = this.#positions.get(partition) ?? 0n;
      while (position < end) {
        const fetched = await this.#client.fetch(this.#topic, partition, position, FETCH_MAX_BYTES);
        const values: Buffer[] = [];
        const tombstones: string[] = [];
        let next = position;
        for (const m of fetched.messages) {
          const offset = BigInt(m.offset);
          if (offset < position) continue; // a batch starts before the position asked
          next = offset + 1n;
          if (m.isControlRecord || m.key === null) continue;
          read++;
          const key = m.key.toString();
          if (m.value === null) {
            this.#known.delete(key);
            tombstones.push(key);
            this.counters.tombstones++;
            continue;
          }
          const problem = templateProblem(m.value, this.#layout);
          if (problem) {
            this.counters.skipped[problem]++;
            this.#log.sampled('warn', 'template-message', 'template topic message skipped', { topic: this.#topic, partition, offset: m.offset, key, reason: problem });
            continue;
          }
          const exporter = key.slice(0, key.indexOf('/'));
          const value = Buffer.from(new Uint8Array(m.value)); // its own memory: posted to a worker without the fetch buffer
          // What this process published itself is in its workers already (after the first read).
          const own = this.#caughtUpOnce && headerText(m.headers?.process) === this.#process;
          const take = !own && (this.filter === null || this.filter(exporter));
          this.#known.set(key, { exporter, value, imported: own || take });
          if (take) values.push(value);
        }
        if (next === position) {
          // Nothing readable from here to the end (a batch compaction emptied): the end offset is where we are.
          next = end;
        }
        position = next;
        this.#positions.set(partition, position);
        if (values.length > 0 || tombstones.length > 0) {
          this.counters.loaded += values.length;
          const r = await this.#apply(values, tombstones);
          this.counters.sessionsRestored += r.sessions;
          this.counters.skipped.template_rejected += r.rejected;
        }
      }
    }
    this.#caughtUpOnce = true;
    this.counters.catchUps++;
    this.counters.lastCatchUpMs = performance.now() - started;
    return read;
  }

  /** Keys on the topic now. */
  get keys(): number {
    return this.#known.size;
  }

  /**
   * Imports the messages kept but not imported yet whose exporter `filter` takes (role decode: a
   * raw partition was assigned; its exporters' templates come from memory, read before).
   */
  async importKept(filter: (exporter: string) => boolean): Promise<number> {
    const values: Buffer[] = [];
    for (const k of this.#known.values()) {
      if (k.imported || !filter(k.exporter)) continue;
      k.imported = true;
      values.push(k.value);
    }
    if (values.length === 0) return 0;
    this.counters.loaded += values.length;
    const r = await this.#apply(values, []);
    this.counters.sessionsRestored += r.sessions;
    this.counters.skipped.template_rejected += r.rejected;
    return values.length;
  }

  /** Marks the kept messages of exporters `filter` takes as not imported (their partition went elsewhere). */
  release(filter: (exporter: string) => boolean): void {
    for (const k of this.#known.values()) if (filter(k.exporter)) k.imported = false;
  }

  async stop(): Promise<void> {
    clearInterval(this.#tail);
    await this.#catchingUp?.catch(() => undefined);
    await this.#client.disconnect();
  }
}

function headerText(h: Buffer | Buffer[] | undefined): string | undefined {
  if (h === undefined) return undefined;
  return (Array.isArray(h) ? h[0] : h)?.toString();
}
