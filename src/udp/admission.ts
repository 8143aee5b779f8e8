// Which source addresses the receiver lets in (config `admission`), decided before a datagram
// reaches a ring: a refused one is counted (not_allowed) and costs nothing else: no decoding, no
// session, no template state. The receiver asks once per source address and caches the answer
// with its other per-exporter facts, so the check costs nothing per datagram.
//
// The same rules say which admitted exporters are protected: those on the allow list and those a
// tenant owns (routing), with or without an admission section. The decoder never evicts a
// protected exporter's session to make room for another exporter (assembly/sessions.ts), so
// forged sources can fill the decoder's tables only at the expense of each other.
import type { Config } from '../config/schema.js';
import { AddressSet } from '../net/address-set.js';
import { TenantRouter } from '../route/tenants.js';
import { SLOT_FLAG_PROTECTED } from '../ring/slots.js';

export class Admission {
  readonly #allow: AddressSet | null;
  /** The tenants' exporters: protected, and with tenants_only the only ones let in besides the allow list. */
  readonly #owners: TenantRouter | null;
  readonly #tenantsOnly: boolean;

  /** The rules of a configuration (applied again on each reload). */
  static of(config: Pick<Config, 'admission' | 'routing'>): Admission {
    return new Admission(config.admission.allow, config.routing, config.admission.tenants_only);
  }

  /** `tenantsOnly`: only the allow list and `routing`'s tenants' exporters are let in (by default when a routing is given). */
  constructor(allow: readonly string[], routing: Config['routing'] | null, tenantsOnly = routing !== null) {
    this.#allow = allow.length ? new AddressSet(allow) : null;
    this.#owners = routing && routing.tenants.length > 0 ? new TenantRouter(routing) : null;
    this.#tenantsOnly = tenantsOnly;
  }

  /** Every source is let in (no allow list, tenants_only off). */
  get admitsEverySource(): boolean {
    return this.#allow === null && !this.#tenantsOnly;
  }

  /** Whether datagrams from `address` (as dgram gives it) are let in: on the allow list, or owned by a tenant with tenants_only. */
  admits(address: string): boolean {
    if (this.admitsEverySource || this.#allow?.has(address)) return true;
    return this.#tenantsOnly && this.#ownedByTenant(address);
  }

  /** Whether the exporter at `address` is protected: on the allow list or owned by a tenant. */
  protects(address: string): boolean {
    return (this.#allow?.has(address) ?? false) || this.#ownedByTenant(address);
  }

  /** The ring slot flags for a datagram from `address` (SLOT_FLAG_PROTECTED). */
  slotFlags(address: string): number {
    return this.protects(address) ? SLOT_FLAG_PROTECTED : 0;
  }

  #ownedByTenant(address: string): boolean {
    if (!this.#owners) return false;
    try {
      return this.#owners.routeText(address).tenant !== null;
    } catch {
      return false;
    }
  }
}
