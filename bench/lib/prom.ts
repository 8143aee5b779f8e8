// Reading the gateway's /metrics (Prometheus text format) in the benchmarks: values by series,
// sums over a metric's labels, and quantiles from a histogram's cumulative buckets.

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

/** Sum of every series whose key starts with `prefix` (e.g. "name{" for all label sets). */
export function sumOf(m: Map<string, number>, prefix: string): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith(prefix)) n += v;
  return n;
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
