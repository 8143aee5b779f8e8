// Which source addresses the receiver lets in (config `admission`), decided before a datagram
// reaches a ring: a refused one is counted (not_allowed) and costs nothing else: no decoding, no
// session, no template state. The receiver asks once per source address and caches the answer
// with its other per-exporter facts, so the check costs nothing per datagram.
import type { Config } from '../config/schema.js';
import { AddressSet } from '../net/address-set.js';
import { TenantRouter } from '../route/tenants.js';

export class Admission {
  readonly #allow: AddressSet | null;
  readonly #tenants: TenantRouter | null;

  /** null when every source is admitted (no allow list, tenants_only off). */
  static of(config: Pick<Config, 'admission' | 'routing'>): Admission | null {
    const { allow, tenants_only } = config.admission;
    return allow.length === 0 && !tenants_only ? null : new Admission(allow, tenants_only ? config.routing : null);
  }

  constructor(allow: readonly string[], tenantsOf: Config['routing'] | null) {
    this.#allow = allow.length ? new AddressSet(allow) : null;
    this.#tenants = tenantsOf ? new TenantRouter(tenantsOf) : null;
  }

  /** Whether datagrams from `address` (as dgram gives it) are let in: on the allow list, or owned by a tenant with tenants_only. */
  admits(address: string): boolean {
    if (this.#allow?.has(address)) return true;
    if (this.#tenants) {
      try {
        return this.#tenants.routeText(address).tenant !== null;
      } catch {
        return false;
      }
    }
    return this.#allow === null;
  }
}
