// Reading the gateway's /metrics (Prometheus text format) in tests and benchmarks: values by
// series ("name{labels}" exactly as the gateway prints them), sums over a metric's labels,
// quantiles from a histogram's cumulative buckets, and differences between two scrapes.
import { httpGet } from './http.js';

/** Prometheus text -> "name{labels}" -> value (comments and blank lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    if (i <= 0) continue;
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** GET /metrics at `base` (http://127.0.0.1:PORT), parsed; throws on a status other than 200. */
export async function scrapeMetrics(base: string): Promise<Map<string, number>> {
  const r = await httpGet(`${base}/metrics`);
  if (r.status !== 200) throw new Error(`GET ${base}/metrics: status ${r.status}: ${r.body.slice(0, 200)}`);
  return parseMetrics(r.body);
}

/** Sum of every series whose key starts with `prefix` (e.g. "name{" for all label sets). */
export function sumOf(m: Map<string, number>, prefix: string): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith(prefix)) n += v;
  return n;
}

/** A metric summed over its label sets ("name" alone or "name{...}"); 0 when absent. */
export function total(m: Map<string, number>, name: string): number {
  return (m.get(name) ?? 0) + sumOf(m, `${name}{`);
}

/**
 * Quantile q (0..1) of a histogram, in the unit of its `le` bounds times `scale`, interpolated
 * linearly within the bucket that holds the rank (what Prometheus's histogram_quantile does).
 * Label sets are merged (buckets summed by `le`). null when the histogram is empty; the highest
 * finite bound when the rank falls in +Inf.
 */
export function histogramQuantile(m: Map<string, number>, name: string, q: number, scale = 1): number | null {
  const byLe = new Map<number, number>();
  for (const [k, v] of m) {
    if (!k.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + v);
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe * scale;
      const within = b.count - prevCount;
      return (prevLe + (within > 0 ? (rank - prevCount) / within : 0) * (b.le - prevLe)) * scale;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return null;
}

/** Differences of counters between two scrapes (histograms too), so a quantile covers one window only. */
export function delta(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}
