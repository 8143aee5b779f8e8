// The only module that imports the yaml package: config text to plain data, with the line of
// any path in it, and override values (FLOWGATE_* variables, --set) read as YAML flow values.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Path } from './problems.js';

export interface YamlSyntaxError {
  line: number;
  col: number;
  message: string;
}

export interface ParsedYaml {
  /** The document as plain data; null for an empty file or one with only comments. */
  data: unknown;
  /** Syntax errors (the data is not to be trusted when there are any). */
  errors: YamlSyntaxError[];
  /** The line (1-based) where `path` is written, or where its nearest written ancestor is. */
  lineOf(path: Path): number | undefined;
}

/** The yaml package ends messages with " at line L, column C:" and a code excerpt; we print our own position. */
function shortMessage(message: string): string {
  const cut = message.search(/ at line \d+, column \d+/);
  return (cut < 0 ? message.split('\n')[0]! : message.slice(0, cut)).trim();
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // logLevel error: no process warnings from the library (e.g. about a list used as a key).
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  const errors: YamlSyntaxError[] = doc.errors.map((e) => {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    return { line: pos.line, col: pos.col, message: shortMessage(e.message) };
  });
  let data: unknown = null;
  if (errors.length === 0) {
    try {
      // maxAliasCount bounds alias expansion ("billion laughs").
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push({ line: 1, col: 1, message: (err as Error).message });
    }
  }
  return { data, errors, lineOf: (path) => lineOf(doc, lineCounter, path) };
}

function lineOf(doc: Document, lineCounter: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node) && typeof segment === 'string') {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : p.key) === segment);
      if (!pair) break;
      // The key's line: where a misspelt key is, and where a value written on the next lines starts.
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      next = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      next = item;
    } else {
      break;
    }
    node = next;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

/**
 * Reads an override value the way YAML reads a flow value: 4 is a number, true a boolean,
 * [a, b] a list, {k: v} a mapping, anything else a string. Text that YAML cannot read, or that
 * it would read as a block collection ("a: b", "- a", "[::]:4739"), stays the string it is.
 */
export function parseYamlValue(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) return text;
  const contents = doc.contents;
  if (isMap(contents) && !(contents.flow && text.trimStart().startsWith('{'))) return text;
  if (isSeq(contents) && !(contents.flow && text.trimStart().startsWith('['))) return text;
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    return text;
  }
}
