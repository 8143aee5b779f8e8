// The C senders of the load generators (sender.c, flood.c), compiled on demand with `cc` beside
// their compiled TypeScript drivers in dist/bench/loadgen/: no build step of their own, and a
// binary older than its source is built again.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Compiles `source` into `binary` when the binary is missing or older than the source; false if that fails (said through `log`). */
export function compileOnDemand(source: string, binary: string, log: (s: string) => void): boolean {
  if (!existsSync(source)) { log(`no ${source}`); return false; }
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return true;
  mkdirSync(dirname(binary), { recursive: true });
  const cc = process.env.CC ?? 'cc';
  // Built under a private name, then renamed: another run starting meanwhile never runs a half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', tmp, source], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(`${cc} failed to build ${source}: ${r.error?.message ?? r.stderr.trim()}`);
    rmSync(tmp, { force: true });
    return false;
  }
  renameSync(tmp, binary);
  log(`built ${binary}`);
  return true;
}
