// Per-exporter rate limits (config `admission.rate_limit`): a token bucket per source address,
// checked in the receiver before a datagram reaches a ring, so one noisy or forged exporter
// cannot fill its worker's ring and push its neighbours' datagrams out. The excess is dropped
// and counted (rate_limited), in total and per exporter for the first MAX_LABELLED exporters
// limited (bounded label cardinality: the rest share exporter="other").
//
// The policy (which limit an exporter gets) is decided once per source address and kept with the
// receiver's other per-exporter facts; the bucket itself is a few number fields on that entry, so
// the per-datagram check allocates nothing.
import type { Config } from '../config/schema.js';
import { ExporterRules } from '../route/exporter-rules.js';
import { TenantRouter } from '../route/tenants.js';

/** A limit: datagrams per second and the burst allowed above it. */
export interface RateLimit {
  datagramsPerSecond: number;
  burst: number;
}

/** An exporter's token bucket, refilled from the receive clock (ms since the epoch). */
export interface TokenBucket {
  /** Tokens per ms; 0 = no limit. */
  ratePerMs: number;
  burst: number;
  tokens: number;
  refilledAtMs: number;
}

/** Datagrams dropped for one labelled exporter (or "other"), a counter shared by reference. */
export interface LimitedCount {
  readonly exporter: string;
  count: number;
}

/** Exporters beyond this many share exporter="other" in the per-exporter counter. */
export const MAX_LABELLED = 100;

function limitOf(datagramsPerSecond: number, burst: number): RateLimit | null {
  // burst 0: one second's worth, so an exporter's export-interval bursts pass at the limit.
  return datagramsPerSecond === 0 ? null : { datagramsPerSecond, burst: burst || datagramsPerSecond };
}

export class RateLimits {
  readonly #default: RateLimit | null;
  readonly #overrides: ExporterRules;
  readonly #limits: (RateLimit | null)[];
  readonly #tenants: TenantRouter | null;

  /** null when no exporter is limited (the default is off and no override sets a limit). */
  static of(config: Pick<Config, 'admission' | 'routing'>): RateLimits | null {
    const { datagrams_per_s, overrides } = config.admission.rate_limit;
    return datagrams_per_s === 0 && overrides.every((o) => o.datagrams_per_s === 0) ? null : new RateLimits(config);
  }

  constructor(config: Pick<Config, 'admission' | 'routing'>) {
    const r = config.admission.rate_limit;
    this.#default = limitOf(r.datagrams_per_s, r.burst);
    this.#overrides = new ExporterRules(r.overrides);
    this.#limits = r.overrides.map((o) => limitOf(o.datagrams_per_s, o.burst));
    this.#tenants = this.#overrides.byTenant ? new TenantRouter(config.routing) : null;
  }

  /** The limit of datagrams from `address` (as dgram gives it): the first override naming it, else the default; null = none. */
  limitFor(address: string): RateLimit | null {
    const i = this.#overrides.indexOf(address, () => this.#tenantOf(address));
    return i < 0 ? this.#default : this.#limits[i]!;
  }

  #tenantOf(address: string): string | null {
    try {
      return this.#tenants!.routeText(address).tenant;
    } catch {
      return null;
    }
  }
}

/** A full bucket for `limit` (ratePerMs 0 when there is none). */
export function bucketFor(limit: RateLimit | null, nowMs: number): TokenBucket {
  return limit
    ? { ratePerMs: limit.datagramsPerSecond / 1000, burst: limit.burst, tokens: limit.burst, refilledAtMs: nowMs }
    : { ratePerMs: 0, burst: 0, tokens: 0, refilledAtMs: nowMs };
}

/** Takes a token for one datagram at `nowMs`; false when the bucket is empty (the datagram is over the limit). */
export function takeToken(b: TokenBucket, nowMs: number): boolean {
  const elapsed = nowMs - b.refilledAtMs;
  if (elapsed > 0) {
    b.tokens = Math.min(b.burst, b.tokens + elapsed * b.ratePerMs);
    b.refilledAtMs = nowMs;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** Per-exporter counts of rate-limited datagrams, at most MAX_LABELLED exporters by name. */
export class LimitedCounts {
  readonly #byExporter = new Map<string, LimitedCount>();
  readonly other: LimitedCount = { exporter: 'other', count: 0 };

  /** The counter of `exporter`: its own while fewer than MAX_LABELLED have one, else "other". Kept across reloads. */
  counterFor(exporter: string): LimitedCount {
    let c = this.#byExporter.get(exporter);
    if (!c) {
      if (this.#byExporter.size >= MAX_LABELLED) return this.other;
      c = { exporter, count: 0 };
      this.#byExporter.set(exporter, c);
    }
    return c;
  }

  /** Every labelled exporter's count, then "other" (when any went there). */
  entries(): LimitedCount[] {
    const out = [...this.#byExporter.values()];
    if (this.other.count > 0) out.push(this.other);
    return out;
  }
}
