// A disk spool for Kafka batches that cannot be delivered now (broker down, leader gone,
// memory queue past its high-water mark, shutdown while the broker is away). After Vector's disk
// buffer: append-only segments of framed, checksummed entries; an entry leaves the spool only
// when the broker acknowledged it (ack()), recorded in an append-only ledger; a segment is
// deleted once every entry in it is acknowledged. Writes reach the disk at most `fsyncIntervalMs`
// apart: that interval bounds what a machine crash can lose (a process crash loses nothing the
// kernel was handed). One writer per directory (a lock file with its pid).
//
// Synchronous file calls on purpose: the spool is written only while Kafka is not taking
// batches, from the worker that owns it, and its entries are whole batches (up to about 1 MiB):
// one write call each, with no interleaving to reason about. Layout: format.ts.
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync,
  renameSync, rmSync, writeFileSync, writeSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../crc32c.js';
import {
  ENTRY_FRAME_BYTES, LEDGER_FILE, LEDGER_RECORD_BYTES, LOCK_FILE, MAX_ENTRY_BYTES, SEGMENT_HEADER_BYTES,
  decodeEntryBody, decodeLedger, decodeSegmentHeader, encodeEntry, encodeLedgerHeader, encodeLedgerRecord, encodeSegmentHeader,
  segmentFirstId, segmentName, type EntryMeta,
} from './format.js';

export interface SpoolOptions {
  /** Bytes of segment files at most (acknowledged entries count until their segment is deleted). */
  maxBytes: number;
  /** Spooled data reaches the disk at most this far apart (ms); 0 = after every append. */
  fsyncIntervalMs: number;
  /** A new segment is started past this size. */
  segmentBytes: number;
}

/** A spooled batch, as the index in memory keeps it (its bytes stay on disk). */
export interface SpoolEntry {
  readonly id: number;
  readonly meta: EntryMeta;
  readonly segment: Segment;
  /** Offset of the entry's frame in its segment file, and the frame's length. */
  readonly offset: number;
  readonly length: number;
}

interface Segment {
  firstId: number;
  name: string;
  bytes: number;
  /** Entries not acknowledged yet. */
  live: number;
  fd: number | null;
}

/** Entries of one topic partition, oldest first: the order they must reach Kafka in. */
export interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly entries: SpoolEntry[];
}

/** What opening found: entries to deliver, and damage cut off. */
export interface Recovery {
  entries: number;
  records: number;
  /** Entries or tails cut off as damaged, and their bytes (records unknown: their headers are not trusted). */
  corruptEntries: number;
  corruptBytes: number;
  /** Problems found, one line each, for the log. */
  problems: string[];
}

export type AppendResult = 'spooled' | 'full';

export class SpoolError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export class Spool {
  readonly dir: string;
  readonly #options: SpoolOptions;
  readonly #segments: Segment[] = [];
  readonly #queues = new Map<string, PartitionQueue>();
  readonly #byId = new Map<number, SpoolEntry>();
  #ledgerFd: number;
  #ledgerBytes: number;
  #nextId = 1;
  #bytes = 0;
  #records = 0;
  #dirty = false;
  #lastSync = Date.now();
  #closed = false;
  readonly recovery: Recovery;
  /** Spool-level counters since open: entries written and acknowledged, and their records. */
  readonly counters = { writtenEntries: 0, writtenRecords: 0, ackedEntries: 0, ackedRecords: 0, corruptEntries: 0, corruptBytes: 0 };

  /**
   * Opens (creating it if needed) and recovers the spool in `dir`: every segment is read, damaged
   * entries and torn tails are cut off and counted, acknowledged entries are left out. Throws
   * SpoolError when the directory cannot be used (permissions, another live owner).
   */
  static open(dir: string, options: SpoolOptions): Spool {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new SpoolError(`spool directory ${dir}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
    takeLock(dir);
    try {
      return new Spool(dir, options);
    } catch (err) {
      rmSync(join(dir, LOCK_FILE), { force: true });
      if (err instanceof SpoolError) throw err;
      throw new SpoolError(`spool directory ${dir}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
  }

  private constructor(dir: string, options: SpoolOptions) {
    this.dir = dir;
    this.#options = options;
    const recovery: Recovery = { entries: 0, records: 0, corruptEntries: 0, corruptBytes: 0, problems: [] };
    const acked = this.#readLedger(recovery);
    const names = readdirSync(dir).filter((n) => segmentFirstId(n) >= 0).sort();
    for (const name of names) this.#recoverSegment(name, acked, recovery);
    // The ledger is rewritten with only the ids of segments that are left: it starts small again.
    this.#ledgerFd = this.#rewriteLedger();
    this.#ledgerBytes = fstatSync(this.#ledgerFd).size;
    for (const s of [...this.#segments]) if (s.live === 0) this.#deleteSegment(s);
    this.counters.corruptEntries = recovery.corruptEntries;
    this.counters.corruptBytes = recovery.corruptBytes;
    recovery.entries = this.#byId.size;
    recovery.records = this.#records;
    this.recovery = recovery;
  }

  /** Bytes of segment files. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Flow records in entries not acknowledged yet. */
  get records(): number {
    return this.#records;
  }

  get entries(): number {
    return this.#byId.size;
  }

  /** Receive time of the oldest record still spooled, or undefined when empty. */
  get oldestReceivedAt(): number | undefined {
    let oldest: number | undefined;
    for (const q of this.#queues.values()) {
      const t = q.entries[0]?.meta.firstReceivedAt;
      if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
    }
    return oldest;
  }

  /** Partitions with spooled entries, each oldest first. */
  partitions(): IterableIterator<PartitionQueue> {
    return this.#queues.values();
  }

  /** Whether a topic partition has entries spooled (its new batches must go behind them). */
  holds(topic: string, partition: number): boolean {
    return this.#queues.has(partitionKey(topic, partition));
  }

  /**
   * Appends one batch. 'full': it would take the spool past maxBytes (nothing written). Throws
   * SpoolError when the disk refused (nothing kept: a partial write is cut off again).
   */
  append(meta: EntryMeta, payload: Buffer): AppendResult {
    if (this.#closed) throw new SpoolError(`spool ${this.dir} is closed`, 'ECLOSED');
    const id = this.#nextId;
    const frame = encodeEntry(id, meta, payload);
    let segment = this.#segments[this.#segments.length - 1];
    const rotate = !segment || segment.fd === null || (segment.bytes + frame.length > this.#options.segmentBytes && segment.bytes > SEGMENT_HEADER_BYTES);
    const growth = frame.length + (rotate ? SEGMENT_HEADER_BYTES : 0);
    if (this.#bytes + growth > this.#options.maxBytes) return 'full';
    if (rotate) segment = this.#startSegment(id);
    const s = segment!;
    const offset = s.bytes;
    try {
      writeAll(s.fd!, frame);
    } catch (err) {
      // A short write leaves a torn entry: cut it off, so the file ends on a whole entry.
      try {
        ftruncateSync(s.fd!, offset);
      } catch {
        // Recovery at the next start cuts it off instead.
      }
      throw new SpoolError(`spool write to ${join(this.dir, s.name)}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
    s.bytes += frame.length;
    s.live++;
    this.#bytes += frame.length;
    this.#nextId++;
    this.#index({ id, meta, segment: s, offset, length: frame.length });
    this.counters.writtenEntries++;
    this.counters.writtenRecords += meta.records;
    this.#dirty = true;
    this.#maybeSync();
    return 'spooled';
  }

  /**
   * The payload of a spooled entry, read back from disk and checked; null when its checksum
   * fails (the entry is then removed and counted as corrupt: the caller counts its records).
   */
  read(entry: SpoolEntry): Buffer | null {
    const frame = Buffer.allocUnsafe(entry.length);
    let fd = entry.segment.fd;
    const own = fd === null;
    try {
      if (own) fd = openSync(join(this.dir, entry.segment.name), 'r');
      readFull(fd!, frame, entry.offset);
    } catch (err) {
      throw new SpoolError(`spool read of ${join(this.dir, entry.segment.name)}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'EIO');
    } finally {
      if (own && fd !== null) closeSync(fd);
    }
    const body = frame.subarray(ENTRY_FRAME_BYTES);
    if (frame.readUInt32LE(0) !== body.length || crc32c(body) !== frame.readUInt32LE(4)) {
      this.counters.corruptEntries++;
      this.counters.corruptBytes += entry.length;
      this.#forget(entry);
      return null;
    }
    const decoded = decodeEntryBody(body);
    if (typeof decoded === 'string' || decoded.id !== entry.id) {
      this.counters.corruptEntries++;
      this.counters.corruptBytes += entry.length;
      this.#forget(entry);
      return null;
    }
    return body.subarray(decoded.payloadAt, decoded.payloadAt + decoded.payloadLength);
  }

  /** The broker acknowledged `entry` (or it was dropped with a reason): it leaves the spool. */
  ack(entry: SpoolEntry): void {
    if (!this.#byId.has(entry.id)) return;
    const record = Buffer.allocUnsafe(LEDGER_RECORD_BYTES);
    encodeLedgerRecord(entry.id, record, 0);
    try {
      writeAll(this.#ledgerFd, record);
      this.#ledgerBytes += LEDGER_RECORD_BYTES;
    } catch (err) {
      // The entry is delivered: a ledger that missed it means at most one more delivery after a restart.
      this.#forget(entry);
      throw new SpoolError(`spool ledger write: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
    this.counters.ackedEntries++;
    this.counters.ackedRecords += entry.meta.records;
    this.#forget(entry);
    this.#dirty = true;
    this.#maybeSync();
  }

  /** Writes what was appended or acknowledged through to the disk (fdatasync). */
  sync(): void {
    if (!this.#dirty || this.#closed) return;
    this.#lastSync = Date.now();
    const last = this.#segments[this.#segments.length - 1];
    if (last?.fd != null) fdatasyncSync(last.fd);
    fdatasyncSync(this.#ledgerFd);
    // Only once both reached the disk: a failed sync is tried again.
    this.#dirty = false;
  }

  /**
   * Syncs when the interval has passed; the owner calls sync() on a timer too, so a quiet spool
   * still syncs. A failure here is not the caller's write failing (its entry is in the index):
   * it is kept for the owner's next sync() to meet again and report.
   */
  #maybeSync(): void {
    if (Date.now() - this.#lastSync < this.#options.fsyncIntervalMs) return;
    try {
      this.sync();
    } catch {
      // still dirty: the owner's next sync() throws it
    }
  }

  /** Syncs and closes the files; the entries stay for the next start. */
  close(): void {
    if (this.#closed) return;
    try {
      this.sync();
    } finally {
      this.#closed = true;
      for (const s of this.#segments) if (s.fd !== null) closeSync(s.fd);
      closeSync(this.#ledgerFd);
      rmSync(join(this.dir, LOCK_FILE), { force: true });
    }
  }

  #index(entry: SpoolEntry): void {
    this.#byId.set(entry.id, entry);
    const key = partitionKey(entry.meta.topic, entry.meta.partition);
    let q = this.#queues.get(key);
    if (!q) this.#queues.set(key, (q = { topic: entry.meta.topic, partition: entry.meta.partition, entries: [] }));
    q.entries.push(entry);
    this.#records += entry.meta.records;
  }

  /** Takes an entry out of the index; deletes its segment when nothing in it is left to deliver. */
  #forget(entry: SpoolEntry): void {
    if (!this.#byId.delete(entry.id)) return;
    this.#records -= entry.meta.records;
    const key = partitionKey(entry.meta.topic, entry.meta.partition);
    const q = this.#queues.get(key)!;
    // Acknowledgements come in order per partition: the entry is almost always the first.
    const i = q.entries[0] === entry ? 0 : q.entries.indexOf(entry);
    q.entries.splice(i, 1);
    if (q.entries.length === 0) this.#queues.delete(key);
    const s = entry.segment;
    s.live--;
    if (s.live === 0 && s !== this.#segments[this.#segments.length - 1]) this.#deleteSegment(s);
  }

  #startSegment(firstId: number): Segment {
    const name = segmentName(firstId);
    let fd: number | undefined;
    try {
      const last = this.#segments[this.#segments.length - 1];
      if (last?.fd != null) {
        fdatasyncSync(last.fd);
        closeSync(last.fd);
        last.fd = null;
        if (last.live === 0) this.#deleteSegment(last);
      }
      // Read and write: entries are read back from the segment being written too.
      fd = openSync(join(this.dir, name), fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_RDWR | fsConstants.O_APPEND, 0o640);
      writeAll(fd, encodeSegmentHeader(firstId));
    } catch (err) {
      if (fd !== undefined) {
        closeSync(fd);
        rmSync(join(this.dir, name), { force: true });
      }
      throw new SpoolError(`spool segment ${join(this.dir, name)}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'EIO');
    }
    const s: Segment = { firstId, name, bytes: SEGMENT_HEADER_BYTES, live: 0, fd };
    this.#segments.push(s);
    this.#bytes += SEGMENT_HEADER_BYTES;
    return s;
  }

  #deleteSegment(s: Segment): void {
    const i = this.#segments.indexOf(s);
    if (i < 0) return;
    this.#segments.splice(i, 1);
    if (s.fd !== null) closeSync(s.fd);
    s.fd = null;
    rmSync(join(this.dir, s.name), { force: true });
    this.#bytes -= s.bytes;
    // A ledger that outgrew the entries it can still name is rewritten (temporary file, rename);
    // the old one stays open until the new one is in place, so a failure leaves a working ledger.
    if (this.#ledgerBytes > 1 << 20 && this.#ledgerBytes > 4 * LEDGER_RECORD_BYTES * (this.#byId.size + 1)) {
      const fd = this.#rewriteLedger();
      closeSync(this.#ledgerFd);
      this.#ledgerFd = fd;
      this.#ledgerBytes = fstatSync(fd).size;
    }
  }

  #readLedger(recovery: Recovery): Set<number> {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.dir, LEDGER_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw err;
    }
    const ledger = decodeLedger(bytes);
    if (typeof ledger === 'string') {
      // Without a ledger every entry is delivered again: at least once, never lost.
      recovery.problems.push(`${join(this.dir, LEDGER_FILE)}: ${ledger}; its entries will be delivered again`);
      return new Set();
    }
    if (ledger.damaged > 0) recovery.problems.push(`${join(this.dir, LEDGER_FILE)}: ${ledger.damaged} damaged record(s) ignored; those entries will be delivered again`);
    return new Set(ledger.ids);
  }

  /** Writes a fresh ledger holding the acknowledged ids of the segments that are left; returns its fd, open for appending. */
  #rewriteLedger(): number {
    const ids: number[] = [];
    for (const s of this.#segments) {
      // Ids of a segment run from its first id up to the next segment's: those not in the index are acknowledged.
      const next = this.#segments[this.#segments.indexOf(s) + 1]?.firstId ?? this.#nextId;
      for (let id = s.firstId; id < next; id++) if (!this.#byId.has(id)) ids.push(id);
    }
    const out = Buffer.alloc(encodeLedgerHeader().length + ids.length * LEDGER_RECORD_BYTES);
    encodeLedgerHeader().copy(out, 0);
    ids.forEach((id, i) => encodeLedgerRecord(id, out, 8 + i * LEDGER_RECORD_BYTES));
    const path = join(this.dir, LEDGER_FILE);
    writeFileSync(`${path}.tmp`, out);
    const tmp = openSync(`${path}.tmp`, 'r+');
    fdatasyncSync(tmp);
    closeSync(tmp);
    renameSync(`${path}.tmp`, path);
    return openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND);
  }

  /** Reads one segment's entries into the index; cuts the file at the first damaged one. */
  #recoverSegment(name: string, acked: Set<number>, recovery: Recovery): void {
    const path = join(this.dir, name);
    const bytes = readFileSync(path);
    const first = decodeSegmentHeader(bytes);
    if (typeof first === 'string') {
      // Not ours to read (another version, or garbage): set aside, never deleted.
      const aside = `${path}.unreadable`;
      renameSync(path, aside);
      recovery.corruptEntries++;
      recovery.corruptBytes += bytes.length;
      recovery.problems.push(`${path}: ${first}; moved to ${aside}`);
      return;
    }
    const segment: Segment = { firstId: first, name, bytes: SEGMENT_HEADER_BYTES, live: 0, fd: null };
    let at = SEGMENT_HEADER_BYTES;
    let expected = first;
    while (at < bytes.length) {
      const reason = entryDamage(bytes, at, expected);
      if (reason !== null) {
        recovery.corruptEntries++;
        recovery.corruptBytes += bytes.length - at;
        recovery.problems.push(`${path}: ${reason} at byte ${at}; the ${bytes.length - at} bytes from there are cut off`);
        ftruncateFile(path, at);
        break;
      }
      const length = ENTRY_FRAME_BYTES + bytes.readUInt32LE(at);
      const decoded = decodeEntryBody(bytes.subarray(at + ENTRY_FRAME_BYTES, at + length));
      const d = decoded as Exclude<typeof decoded, string>; // checked by entryDamage
      if (!acked.has(d.id)) {
        this.#index({ id: d.id, meta: d.meta, segment, offset: at, length });
        segment.live++;
      }
      at += length;
      expected = d.id + 1;
    }
    segment.bytes = at;
    this.#segments.push(segment);
    this.#bytes += at;
    this.#nextId = Math.max(this.#nextId, expected);
  }
}

/** Why the entry at `at` cannot be trusted, or null. */
function entryDamage(bytes: Buffer, at: number, expectedId: number): string | null {
  if (at + ENTRY_FRAME_BYTES > bytes.length) return 'torn entry frame';
  const bodyLength = bytes.readUInt32LE(at);
  if (bodyLength > MAX_ENTRY_BYTES) return 'implausible entry length';
  if (at + ENTRY_FRAME_BYTES + bodyLength > bytes.length) return 'torn entry';
  const body = bytes.subarray(at + ENTRY_FRAME_BYTES, at + ENTRY_FRAME_BYTES + bodyLength);
  if (crc32c(body) !== bytes.readUInt32LE(at + 4)) return 'checksum mismatch';
  const decoded = decodeEntryBody(body);
  if (typeof decoded === 'string') return decoded;
  if (decoded.id !== expectedId) return `entry id ${decoded.id} where ${expectedId} was expected`;
  return null;
}

function ftruncateFile(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

function readFull(fd: number, into: Buffer, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
}

/** Claims `dir` for this process: a lock file with our pid; a stale one (its process gone) is taken over. */
function takeLock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new SpoolError(`spool lock ${path}: ${(err as Error).message}`, code ?? 'EIO');
    }
    const holder = Number(readFileSafe(path));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new SpoolError(`spool directory ${dir} is in use by process ${holder}`, 'ELOCKED');
    }
    rmSync(path, { force: true });
  }
  throw new SpoolError(`spool lock ${path}: could not be taken`, 'ELOCKED');
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
