// bench/results.json (git-ignored): one JSON object that every benchmark merges its own keys into.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { projectPath } from '../../src/paths.js';

/** bench/results.json of the repository (this file runs from dist/bench/lib/). */
export const resultsPath = projectPath('bench', 'results.json');
/** The same path under the name this module first exported it by (bench/pipeline.bench.ts's version). */
export const resultsFile = resultsPath;

/** Reads bench/results.json (a missing or unreadable file counts as {}), sets `values`, writes it back. */
export function mergeResults(values: Record<string, unknown>, path = resultsPath): Record<string, unknown> {
  let results: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) results = parsed as Record<string, unknown>;
    } catch {
      process.stderr.write(`${path} is not JSON; starting it afresh\n`);
    }
  }
  Object.assign(results, values);
  writeFileSync(path, JSON.stringify(results, null, 2) + '\n');
  return results;
}

/** bench/results.json as an object ({} when missing or unreadable). */
export function readResults(path = resultsPath): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
