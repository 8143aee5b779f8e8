// The element definitions the decoder names elements by: IANA's registry, its RFC 5103 reverse
// twins, the vendor dictionaries shipped in vendors/, then users' files (decoder.dictionaries).
// For the same (pen, id) a later source wins: a user's entry over a shipped one, a shipped one
// over IANA's, and among users' files the later file in the list.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectPath } from '../../paths.js';
import type { ElementDefinition } from './definition.js';
import { DictionaryError, parseDictionary } from './dictionary-file.js';
import { ianaElements } from './iana/iana-elements.js';
import { reverseElements } from './reverse.js';

export { DictionaryError } from './dictionary-file.js';

/** The directory of the shipped vendor dictionaries (one YAML file per vendor). */
export function shippedDictionaryDir(): string {
  return projectPath('src', 'decoder', 'elements', 'vendors');
}

/** The shipped vendor dictionary files, by name. */
export function shippedDictionaryFiles(): string[] {
  const dir = shippedDictionaryDir();
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
}

/** Reads and validates one dictionary file. Throws DictionaryError naming the path (a missing file too). */
export function readDictionaryFile(path: string): ElementDefinition[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DictionaryError([`${path}: cannot read the dictionary (${e.code ?? e.message})`]);
  }
  return parseDictionary(text, path);
}

/** The problems of each file in `paths`, one line each naming its file; empty when all load. */
export function dictionaryProblems(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    try {
      readDictionaryFile(path);
      return [];
    } catch (err) {
      if (err instanceof DictionaryError) return [...err.problems];
      throw err;
    }
  });
}

/**
 * Every definition, one per (pen, id), the winner of each: IANA, reverse, shipped vendors, then
 * `userFiles` in order. Throws DictionaryError listing the problems of every bad file.
 */
export function loadElementDefinitions(userFiles: readonly string[] = []): ElementDefinition[] {
  const byKey = new Map<string, ElementDefinition>();
  const add = (list: readonly ElementDefinition[]): void => {
    for (const d of list) byKey.set(`${d.pen}:${d.id}`, d);
  };
  add(ianaElements);
  add(reverseElements(ianaElements));
  const problems: string[] = [];
  for (const path of [...shippedDictionaryFiles(), ...userFiles]) {
    try {
      add(readDictionaryFile(path));
    } catch (err) {
      if (!(err instanceof DictionaryError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new DictionaryError(problems);
  return [...byKey.values()];
}
