// One worker's exporter state on disk: `<state.dir>/worker-<index>.state`. Restored before
// the worker reads its first datagram, saved when the decoder's state generation moved (at
// most every state.save_interval_ms) and at stop. Restoring reads every worker's file, since
// the worker count may have changed, and keeps the sessions of the exporters this worker owns
// (the receiver's hash, net/exporter-owner.ts); the newest file wins for a session in two.
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { stateLayout, type WasmDecoder } from '../decoder/wasm.js';
import { ownerWorker } from '../net/exporter-owner.js';
import type { Logger } from '../log.js';
import { encodeStateFile, readStateFile, writeFileAtomic, stateFileRejectReasons, type StateFile, type StateFileRejectReason } from './file.js';

export interface StateSettings {
  /** Directory of the state files; "" = no state kept. */
  dir: string;
  save_interval_ms: number;
}

const FILE_NAME = /^worker-(\d+)\.state$/;

export function stateFileName(worker: number): string {
  return `worker-${worker}.state`;
}

export class StateKeeper {
  readonly #dir: string;
  readonly #worker: number;
  readonly #workers: number;
  readonly #intervalMs: number;
  readonly #log: Logger;
  /** State files set aside, by reason (this worker's share: its own file, and orphans for worker 0). */
  readonly rejected: Record<StateFileRejectReason, number> = Object.fromEntries(stateFileRejectReasons.map((r) => [r, 0])) as Record<StateFileRejectReason, number>;
  #savedGeneration: number | undefined;
  #lastSaveMs = 0;
  #saving: Promise<void> | undefined;
  #failing = false;
  #leftOutLogged = false;

  private constructor(settings: StateSettings, worker: number, workers: number, log: Logger) {
    this.#dir = settings.dir;
    this.#worker = worker;
    this.#workers = workers;
    this.#intervalMs = settings.save_interval_ms;
    this.#log = log;
  }

  /** The keeper of worker `worker` of `workers`; one that does nothing when settings.dir is "". */
  static open(settings: StateSettings, worker: number, workers: number, log: Logger): StateKeeper {
    const keeper = new StateKeeper(settings, worker, workers, log);
    if (keeper.enabled) {
      try {
        mkdirSync(settings.dir, { recursive: true });
      } catch (err) {
        log.error('state directory unusable: exporter state will not be kept', { dir: settings.dir, error: (err as Error).message });
      }
    }
    return keeper;
  }

  get enabled(): boolean {
    return this.#dir !== '';
  }

  get path(): string {
    return join(this.#dir, stateFileName(this.#worker));
  }

  /** Whether this worker judges the file of worker `index`: its own, or (worker 0) one no worker owns now. */
  #judges(index: number): boolean {
    return index === this.#worker || (index >= this.#workers && this.#worker === 0);
  }

  #reject(name: string, reason: StateFileRejectReason, error?: string): void {
    const index = Number(FILE_NAME.exec(name)![1]);
    if (!this.#judges(index)) return;
    const from = join(this.#dir, name);
    const aside = `${from}.bad-${Date.now()}`;
    try {
      renameSync(from, aside);
    } catch {
      return; // gone already: nothing left to set aside
    }
    this.rejected[reason]++;
    this.#log.warn('state file set aside: starting without its exporter state', { file: from, movedTo: aside, reason, ...(error ? { error } : {}) });
  }

  /**
   * Restores the sessions this worker owns from every state file in the directory, as of
   * `nowMs`. Call before the first datagram. Returns the sessions restored.
   */
  restore(decoder: WasmDecoder, nowMs: number): number {
    if (!this.enabled) return 0;
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => FILE_NAME.test(n));
    } catch (err) {
      this.#log.error('state directory unreadable: starting without exporter state', { dir: this.#dir, error: (err as Error).message });
      return 0;
    }
    const files: (StateFile & { name: string })[] = [];
    for (const name of names) {
      const file = readStateFile(join(this.#dir, name), stateLayout().version);
      if (file === null) continue;
      if ('reason' in file) this.#reject(name, file.reason, file.error);
      else files.push({ ...file, name });
    }
    files.sort((a, b) => b.savedAtMs - a.savedAtMs);
    const seen = new Set<string>();
    let restored = 0;
    for (const file of files) {
      const records = this.#ownedRecords(file.payload, seen);
      if (records === null) {
        this.#reject(file.name, 'malformed');
        continue;
      }
      for (const chunk of chunks(records)) {
        const n = decoder.importState(chunk, nowMs);
        if (n < 0) {
          this.#reject(file.name, n === -1 ? 'state_version' : 'malformed');
          break;
        }
        restored += n;
      }
    }
    if (files.length > 0 || restored > 0) this.#log.info('exporter state restored', { sessions: restored, files: files.length });
    // Whatever came back is what the decoder holds: saved again only once it changes.
    this.#savedGeneration = undefined;
    return restored;
  }

  /** The session records of exporters this worker owns and no newer file had; null when the snapshot's framing is broken. */
  #ownedRecords(payload: Buffer, seen: Set<string>): Buffer[] | null {
    const { headerBytes, lengthOffset, addressOffset, keyBytes } = stateLayout();
    if (payload.length < headerBytes) return null;
    const count = payload.readUInt32LE(4);
    const out: Buffer[] = [];
    let o = headerBytes;
    for (let i = 0; i < count; i++) {
      if (o + addressOffset + keyBytes > payload.length) return null;
      const length = payload.readUInt32LE(o + lengthOffset);
      if (length < addressOffset + keyBytes || o + length > payload.length) return null;
      const key = payload.toString('hex', o + addressOffset, o + addressOffset + keyBytes);
      if (!seen.has(key) && ownerWorker(payload, o + addressOffset, this.#workers) === this.#worker) {
        seen.add(key);
        out.push(payload.subarray(o, o + length));
      }
      o += length;
    }
    return o === payload.length ? out : null;
  }

  /** Saves when the state changed and the save interval has passed since the last save. Call between decodes. */
  maybeSave(decoder: WasmDecoder, nowMs: number): void {
    if (!this.enabled || this.#saving || nowMs - this.#lastSaveMs < this.#intervalMs) return;
    if (decoder.stateGeneration() === this.#savedGeneration) return;
    this.#saving = this.#write(decoder, nowMs).finally(() => {
      this.#saving = undefined;
    });
  }

  /** Saves now if the state changed (at stop), after a save in flight. */
  async save(decoder: WasmDecoder): Promise<void> {
    if (!this.enabled) return;
    await this.#saving;
    if (decoder.stateGeneration() === this.#savedGeneration) return;
    await this.#write(decoder, Date.now());
  }

  async #write(decoder: WasmDecoder, nowMs: number): Promise<void> {
    const generation = decoder.stateGeneration();
    const snapshot = decoder.exportState();
    this.#lastSaveMs = nowMs;
    const leftOut = snapshot.length >= 12 ? new DataView(snapshot.buffer, snapshot.byteOffset).getUint32(8, true) : 0;
    if (leftOut > 0 && !this.#leftOutLogged) {
      this.#leftOutLogged = true;
      this.#log.warn('exporter state larger than a snapshot holds: some sessions are not saved', { sessionsLeftOut: leftOut });
    }
    try {
      await writeFileAtomic(this.path, encodeStateFile(snapshot, stateLayout().version, this.#worker, nowMs));
      this.#savedGeneration = generation;
      if (this.#failing) this.#log.info('state file saved again', { file: this.path });
      this.#failing = false;
    } catch (err) {
      // Logged once per run of failures; retried at the next interval.
      if (!this.#failing) this.#log.error('state file not saved', { file: this.path, error: (err as Error).message });
      this.#failing = true;
    }
  }
}

/** Snapshots of at most the decoder's capacity, each with a header, holding the records in order. */
function* chunks(records: Buffer[]): Generator<Buffer> {
  const { headerBytes, capacity, version } = stateLayout();
  let start = 0;
  while (start < records.length) {
    let end = start;
    let bytes = headerBytes;
    while (end < records.length && (end === start || bytes + records[end]!.length <= capacity)) bytes += records[end++]!.length;
    const chunk = Buffer.alloc(bytes);
    chunk.writeUInt32LE(version, 0);
    chunk.writeUInt32LE(end - start, 4);
    let o = headerBytes;
    for (let i = start; i < end; i++) o += records[i]!.copy(chunk, o);
    yield chunk;
    start = end;
  }
}
