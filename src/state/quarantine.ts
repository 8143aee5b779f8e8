// Datagrams the decoder trapped on (a decoder bug, by definition: bad input returns a status),
// kept for the developer who fixes it: `<state.dir>/quarantine/<ms>-<exporter>-<port>.bin`, the
// datagram's bytes as received (feed them to a test, or wrap them in a pcap for `flowgate
// decode`). Bounded: past MAX_FILES the oldest are deleted, so a trap that repeats on every
// datagram cannot fill the disk.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecoderTrap } from '../decoder/wasm.js';
import { addressText } from '../net/address.js';

export const QUARANTINE_DIR = 'quarantine';
export const MAX_QUARANTINE_FILES = 100;

/** Writes the trapped datagram; returns the file's path, or null when there is no state.dir. Throws on a disk error. */
export function quarantine(stateDir: string, trap: DecoderTrap): string | null {
  if (stateDir === '') return null;
  const dir = join(stateDir, QUARANTINE_DIR);
  mkdirSync(dir, { recursive: true });
  const exporter = addressText(trap.address).replaceAll(':', '_');
  const path = join(dir, `${String(Math.floor(trap.receivedMs)).padStart(13, '0')}-${exporter}-${trap.port}.bin`);
  writeFileSync(path, trap.bytes);
  const files = readdirSync(dir).filter((n) => n.endsWith('.bin')).sort();
  for (const old of files.slice(0, Math.max(0, files.length - MAX_QUARANTINE_FILES))) rmSync(join(dir, old), { force: true });
  return path;
}
