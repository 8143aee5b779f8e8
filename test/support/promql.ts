// The metric names a PromQL expression reads, for tests that check dashboards and alert rules
// against a running gateway's /metrics. Not a PromQL parser: it removes what cannot be a metric
// name (strings, label matchers, ranges, grouping clauses, Grafana variables, numbers), then keeps
// the identifiers that are neither a function call nor a keyword.

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

/** Metric names `expr` selects, each once, in order of appearance. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals (label values)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ') // label lists
    .replace(/\$\{[^}]*\}|\$\w+/g, ' '); // Grafana variables
  const names: string[] = [];
  // A token that starts with a digit is a number or a duration (0.99, 1e3, 5m): swallowed whole.
  for (const m of bare.matchAll(/\d[\w.]*|([a-zA-Z_:][\w:]*)/g)) {
    const name = m[1];
    if (name === undefined || KEYWORDS.has(name.toLowerCase())) continue;
    if (bare.slice(m.index + name.length).trimStart().startsWith('(')) continue; // a function or aggregation
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The label matchers `expr` gives metric `name`, e.g. {reason: '=~"a|b"'} (the first selector of it wins). */
export function matchersOf(expr: string, name: string): Map<string, { op: string; value: string }> {
  const out = new Map<string, { op: string; value: string }>();
  const selector = new RegExp(`(?<![\\w:])${name}\\s*\\{([^}]*)\\}`).exec(expr);
  if (!selector) return out;
  for (const m of selector[1]!.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) out.set(m[1]!, { op: m[2]!, value: m[3]! });
  return out;
}

/** True when `expr` aggregates or joins with `label` kept: `by (..., label, ...)`. */
export function keepsLabel(expr: string, label: string): boolean {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/gi)].some((m) => m[1]!.split(',').map((s) => s.trim()).includes(label));
}

/** Metric names and their types as the Prometheus text format exposes them (# TYPE lines and samples). */
export interface Exposition {
  /** Every name with a sample or a # TYPE line. */
  names: Set<string>;
  /** # TYPE by metric name. */
  types: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const names = new Set<string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (\w+)/.exec(line);
    if (type) {
      names.add(type[1]!);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)[\s{]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return { names, types };
}

/** True when `name` is exposed: as it is, or as a histogram's / summary's _bucket, _sum or _count series. */
export function exposes(exposition: Exposition, name: string): boolean {
  if (exposition.names.has(name)) return true;
  const series = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!series) return false;
  const type = exposition.types.get(series[1]!);
  return type === 'histogram' || (type === 'summary' && series[2] !== 'bucket');
}
