// Environment variables and --set flags that override keys of config.yaml.
//
// Precedence: --set flags over FLOWGATE_* variables over the file over the defaults.
//   FLOWGATE_KAFKA__BROKERS=a:9092,b:9092      env: FLOWGATE_ + the key path in capitals, "__" between levels
//   FLOWGATE_ROUTING__TENANTS__0__TOPIC=flows  a number is a list index
//   --set kafka.brokers='[a:9092, b:9092]'     flag: the key path with dots, [N] or .N for a list index
// A value is read as a YAML flow value (4, true, [a, b], {k: v}; anything else is a string); a
// list-valued key also takes a comma-separated string, and an empty value is "" or, for a list, [].
// An override replaces the value at its path wholesale; a path through a key that is not a
// mapping (or not a list, for an index) turns that key into one. Unknown keys are reported by the
// schema like any other, naming the variable or flag they came from.
import type { Path, Problem } from './problems.js';
import { formatPath } from './problems.js';
import { isListAt } from './schema.js';
import { parseYamlValue } from './yaml.js';

export const envPrefix = 'FLOWGATE_';
/** FLOWGATE_ variables that are not configuration keys (the test corpus location). */
export const envNotConfig: ReadonlySet<string> = new Set(['FLOWGATE_CORPUS', 'FLOWGATE_DECODER_BUILD']);

export interface Override {
  path: Path;
  value: unknown;
  /** "env FLOWGATE_WORKERS" or "--set workers": how problems name where a value came from. */
  origin: string;
}

/** Keys that would reach Object.prototype rather than the document. */
const unsafeKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** Reads an override's value; list-valued keys also take "a,b,c". */
export function overrideValue(text: string, path: Path): unknown {
  const list = isListAt(path);
  const trimmed = text.trim();
  if (trimmed === '') return list ? [] : '';
  const value = parseYamlValue(trimmed);
  if (list && typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return value;
}

/** FLOWGATE_* variables as overrides, shallow paths first so that deeper ones refine them. */
export function envOverrides(env: Record<string, string | undefined>, problems: Problem[]): Override[] {
  const out: Override[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || envNotConfig.has(name) || text === undefined) continue;
    const segments = name.slice(envPrefix.length).split('__');
    if (segments.some((s) => !/^[A-Za-z0-9_]+$/.test(s))) {
      problems.push({
        path: null,
        message: `env ${name}: not a configuration key (FLOWGATE_ and the key path in capitals with "__" between levels, as in FLOWGATE_KAFKA__BROKERS)`,
      });
      continue;
    }
    const path: Path = segments.map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s.toLowerCase()));
    out.push({ path, value: overrideValue(text, path), origin: `env ${name}` });
  }
  return out.sort((a, b) => a.path.length - b.path.length || (a.origin < b.origin ? -1 : 1));
}

/** --set PATH=VALUE flags as overrides, in the order given (a later flag wins). */
export function flagOverrides(flags: readonly string[], problems: Problem[]): Override[] {
  const out: Override[] = [];
  for (const flag of flags) {
    const m = /^([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)=([\s\S]*)$/.exec(flag);
    if (!m) {
      problems.push({ path: null, message: `--set ${JSON.stringify(flag)}: expected PATH=VALUE, as in --set kafka.brokers=[10.0.0.1:9092]` });
      continue;
    }
    const path: Path = m[1]!.match(/[A-Za-z0-9_]+|\[[0-9]+\]/g)!.map((s) =>
      s.startsWith('[') ? Number(s.slice(1, -1)) : /^[0-9]+$/.test(s) ? Number(s) : s);
    out.push({ path, value: overrideValue(m[2]!, path), origin: `--set ${formatPath(path)}` });
  }
  return out;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Sets `value` at `path` in `root`, adding to `made` the paths of mappings and lists it had to
 * create on the way; returns the problem text when the path cannot be made.
 */
function setAt(root: Record<string, unknown>, path: Path, value: unknown, made: Path[]): string | null {
  if (typeof path[0] !== 'string') return 'the top level is a mapping, not a list';
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (typeof segment === 'string' && unsafeKeys.has(segment)) return `${JSON.stringify(segment)} is not a configuration key`;
    if (typeof segment === 'number' && segment > (node as unknown[]).length) {
      const length = (node as unknown[]).length;
      return `${formatPath(path.slice(0, i))} has ${length} item${length === 1 ? '' : 's'}: index ${segment} is past the end (${length} adds one)`;
    }
    const container = node as Record<string | number, unknown>;
    if (i === path.length - 1) {
      container[segment] = value;
      return null;
    }
    const wantList = typeof path[i + 1] === 'number';
    let child = Object.hasOwn(container, segment) ? container[segment] : undefined;
    if (wantList ? !Array.isArray(child) : !isMapping(child)) {
      child = wantList ? [] : {};
      container[segment] = child;
      made.push(path.slice(0, i + 1));
    }
    node = child as Record<string, unknown> | unknown[];
  }
  return null;
}

/**
 * Applies overrides in order to the document (a mapping, changed in place) and records in
 * `origins` which paths they set, so a problem below one of them names the override, not a line.
 */
export function applyOverrides(root: Record<string, unknown>, overrides: readonly Override[], origins: Map<string, string>,
  problems: Problem[]): void {
  for (const o of overrides) {
    const made: Path[] = [];
    const problem = setAt(root, o.path, o.value, made);
    if (problem !== null) {
      problems.push({ path: o.path, message: problem, origin: o.origin });
      continue;
    }
    const key = formatPath(o.path);
    // A value set wholesale replaces whatever earlier overrides set inside it.
    for (const k of origins.keys()) if (k.startsWith(`${key}.`) || k.startsWith(`${key}[`)) origins.delete(k);
    origins.set(key, o.origin);
    // A mapping the override created (FLOWGATE_KAFKA__SASL__USERNAME makes kafka.sasl) is its
    // doing too: "kafka.sasl.password: missing" then names it.
    for (const p of made) origins.set(formatPath(p), o.origin);
  }
}
