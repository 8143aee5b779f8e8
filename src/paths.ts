// Where FlowGate's own files are, from one place: the project root is the nearest directory
// above this module holding package.json, so the answer is the same whether this runs from
// dist/src/ (the build), from src/ (a TypeScript loader) or from an installed package.
// Found on first use, not at import.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding FlowGate's package.json. */
export function projectRoot(): string {
  if (root === undefined) {
    const here = fileURLToPath(import.meta.url);
    let dir = dirname(here);
    while (!existsSync(join(dir, 'package.json'))) {
      const up = dirname(dir);
      if (up === dir) throw new Error(`no package.json above ${here}`);
      dir = up;
    }
    root = dir;
  }
  return root;
}

/** A path below the project root, e.g. projectPath('scripts', 'kafka.js'). */
export function projectPath(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}

/** The decoder builds (asconfig.json targets): release (what runs), debug (assertions kept) and trap (tests only). */
export function decoderWasmPath(target: 'release' | 'debug' | 'trap' = 'release'): string {
  return projectPath('build', target === 'release' ? 'flowgate.wasm' : `flowgate.${target}.wasm`);
}

/** Compiled JavaScript (tsc's outDir): dist/src, dist/test, dist/bench. */
export function distPath(...parts: string[]): string {
  return projectPath('dist', ...parts);
}
