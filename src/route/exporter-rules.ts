// Rules that name exporters by address or prefix, or by the tenant that owns them, the first
// match winning: admission.rate_limit.overrides (udp/rate-limit.ts) and routing.sampling
// (route/sampling.ts). Each caller resolves an exporter once and caches the answer, so this walks
// its rules once per exporter, never per datagram.
import { AddressSet } from '../net/address-set.js';

export interface ExporterRule {
  exporters?: readonly string[] | undefined;
  tenant?: string | undefined;
}

export class ExporterRules {
  readonly #rules: { exporters: AddressSet | null; tenant: string | null }[];

  constructor(rules: readonly ExporterRule[]) {
    this.#rules = rules.map((r) => ({ exporters: r.exporters ? new AddressSet(r.exporters) : null, tenant: r.tenant ?? null }));
  }

  /** Whether some rule names exporters by tenant (a caller may then need a router). */
  get byTenant(): boolean {
    return this.#rules.some((r) => r.tenant !== null);
  }

  /**
   * The index of the first rule naming the exporter at `address` (text, as dgram gives it), or -1.
   * `tenantOf` is asked at most once, and only when a tenant rule is reached.
   */
  indexOf(address: string, tenantOf: () => string | null): number {
    let tenant: string | null | undefined;
    for (let i = 0; i < this.#rules.length; i++) {
      const r = this.#rules[i]!;
      if (r.exporters) {
        if (r.exporters.has(address)) return i;
      } else if (r.tenant !== null) {
        if (tenant === undefined) tenant = tenantOf();
        if (tenant === r.tenant) return i;
      }
    }
    return -1;
  }
}
