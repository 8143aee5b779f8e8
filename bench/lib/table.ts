// Plain-text tables for benchmark output: a Markdown pipe table (readable in a terminal, pastes
// into docs/performance.md as is), and the number formats the suite prints.

export type Align = 'left' | 'right';

/** A Markdown table; cells padded to the widest in their column. */
export function renderTable(header: string[], rows: string[][], align: Align[] = header.map((_, i) => (i === 0 ? 'left' : 'right'))): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, i: number) => (align[i] === 'left' ? s.padEnd(widths[i]!) : s.padStart(widths[i]!));
  const line = (cells: string[]) => `| ${header.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (align[i] === 'left' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** 1234567 -> "1,234,567"; null / NaN -> "n/a". */
export function int(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : Math.round(n).toLocaleString('en-US');
}

/** a / b as "0.42x"; "" when either side is missing or b is 0 (a ratio to nothing says nothing). */
export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '';
  return `${(a / b).toFixed(2)}x`;
}

/** A figure with fixed decimals, or "" when missing. */
export function fixed(n: number | null | undefined, digits = 0): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '' : n.toFixed(digits);
}
