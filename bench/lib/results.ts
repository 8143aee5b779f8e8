// bench/results.json (git-ignored): each benchmark merges its own keys into it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const resultsFile = fileURLToPath(new URL('../../../bench/results.json', import.meta.url));

export function mergeResults(values: Record<string, unknown>): void {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
  } catch {
    current = {};
  }
  writeFileSync(resultsFile, JSON.stringify({ ...current, ...values }, null, 2) + '\n');
}
