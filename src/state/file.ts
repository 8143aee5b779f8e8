// The state file: one decoder snapshot (assembly/state.ts) framed so that a torn, corrupt or
// foreign file is recognised before the decoder sees a byte of it. Written to a temporary
// file, fsynced, renamed over the old one, and the directory fsynced: a crash leaves the old
// file or the new one, never half of one.
//
// Header (32 bytes, little-endian):
//   "FGST" | u32 file format version | u32 decoder STATE_VERSION | u32 payload length |
//   u32 CRC-32C of the bytes after it (the rest of the header and the payload) | u32 worker |
//   f64 saved at (ms since epoch)
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32c } from '../crc32c.js';

export const STATE_FILE_MAGIC = 0x54534746; // "FGST" read as a little-endian u32
/** Bump on any change to the header above. */
export const STATE_FILE_VERSION = 1;
export const STATE_FILE_HEADER_BYTES = 32;
const AT_FORMAT = 4, AT_STATE_VERSION = 8, AT_LENGTH = 12, AT_CRC = 16, AT_WORKER = 20, AT_SAVED = 24;

/** Why a state file was set aside (the label of state_files_rejected). */
export const stateFileRejectReasons = ['unreadable', 'torn', 'bad_magic', 'bad_checksum', 'format_version', 'state_version', 'malformed'] as const;
export type StateFileRejectReason = (typeof stateFileRejectReasons)[number];

export interface StateFile {
  stateVersion: number;
  worker: number;
  savedAtMs: number;
  payload: Buffer;
}

/** The file's bytes: header and snapshot. */
export function encodeStateFile(payload: Uint8Array, stateVersion: number, worker: number, savedAtMs: number): Buffer {
  const file = Buffer.alloc(STATE_FILE_HEADER_BYTES + payload.length);
  file.writeUInt32LE(STATE_FILE_MAGIC, 0);
  file.writeUInt32LE(STATE_FILE_VERSION, AT_FORMAT);
  file.writeUInt32LE(stateVersion, AT_STATE_VERSION);
  file.writeUInt32LE(payload.length, AT_LENGTH);
  file.writeUInt32LE(worker, AT_WORKER);
  file.writeDoubleLE(savedAtMs, AT_SAVED);
  file.set(payload, STATE_FILE_HEADER_BYTES);
  file.writeUInt32LE(crc32c(file.subarray(AT_WORKER)), AT_CRC);
  return file;
}

/** Parses a state file's bytes: the snapshot, or why it cannot be used. */
export function decodeStateFile(file: Buffer, expectedStateVersion: number): StateFile | { reason: StateFileRejectReason } {
  if (file.length < STATE_FILE_HEADER_BYTES) return { reason: file.length >= 4 && file.readUInt32LE(0) !== STATE_FILE_MAGIC ? 'bad_magic' : 'torn' };
  if (file.readUInt32LE(0) !== STATE_FILE_MAGIC) return { reason: 'bad_magic' };
  if (file.readUInt32LE(AT_FORMAT) !== STATE_FILE_VERSION) return { reason: 'format_version' };
  const length = file.readUInt32LE(AT_LENGTH);
  if (file.length !== STATE_FILE_HEADER_BYTES + length) return { reason: file.length < STATE_FILE_HEADER_BYTES + length ? 'torn' : 'bad_checksum' };
  if (crc32c(file.subarray(AT_WORKER)) !== file.readUInt32LE(AT_CRC)) return { reason: 'bad_checksum' };
  const stateVersion = file.readUInt32LE(AT_STATE_VERSION);
  if (stateVersion !== expectedStateVersion) return { reason: 'state_version' };
  return { stateVersion, worker: file.readUInt32LE(AT_WORKER), savedAtMs: file.readDoubleLE(AT_SAVED), payload: file.subarray(STATE_FILE_HEADER_BYTES) };
}

/** Reads and checks a state file; null when it does not exist (any more). */
export function readStateFile(path: string, expectedStateVersion: number): StateFile | { reason: StateFileRejectReason; error?: string } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { reason: 'unreadable', error: (err as Error).message };
  }
  return decodeStateFile(bytes, expectedStateVersion);
}

/** Replaces `path` with `bytes` so that a crash at any point leaves either the old or the new file whole. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  // The rename is durable only once the directory entry is.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
