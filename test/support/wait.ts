// Waiting for a condition a test cannot be told about: polls until it holds, and fails naming
// what it waited for (never a bare timeout).
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined/false, and
 * resolves with it; rejects after `timeoutMs` saying `what` and the last value seen.
 */
export async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>,
  o: { timeoutMs?: number; intervalMs?: number; last?: () => unknown } = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs ?? 30_000} ms waiting for ${what}${o.last ? `; last seen: ${JSON.stringify(o.last())}` : ''}`);
    await sleep(o.intervalMs ?? 50);
  }
}
