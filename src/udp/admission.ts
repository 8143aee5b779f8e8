// Which source addresses the receiver lets in (config `admission`), decided before a datagram
// reaches a ring: a refused one is counted (not_allowed) and costs nothing else: no decoding, no
// session, no template state. The receiver asks once per source address and caches the answer
// with its other per-exporter facts, so the check costs nothing per datagram.
//
// The same rules say which admitted exporters are protected: those on the allow list and those a
// tenant owns (routing), with or without an admission section. The decoder never evicts a
// protected exporter's session to make room for another exporter (assembly/sessions.ts), so
// forged sources can fill the decoder's tables only at the expense of each other.
//
// Relays (routing.relays) send other exporters' datagrams from their own address: their slots
// carry SLOT_FLAG_RELAY, so the decoder routes each record by the exporter it states (IE 130 /
// 131, assembly/relay.ts). Decided here, once per source, for the UDP and TCP receivers and the
// raw consumer alike. The configuration names them, so they are admitted and protected too.
import type { Config } from '../config/schema.js';
import { AddressSet } from '../net/address-set.js';
import { TenantRouter } from '../route/tenants.js';
import { SLOT_FLAG_PROTECTED, SLOT_FLAG_RELAY } from '../ring/slots.js';

export class Admission {
  readonly #allow: AddressSet | null;
  /** The tenants' exporters: protected, and with tenants_only the only ones let in besides the allow list. */
  readonly #owners: TenantRouter | null;
  readonly #tenantsOnly: boolean;
  /** routing.relays: null when there are none. */
  readonly #relays: AddressSet | null;

  /** The rules of a configuration (applied again on each reload). */
  static of(config: Pick<Config, 'admission' | 'routing'>): Admission {
    return new Admission(config.admission.allow, config.routing, config.admission.tenants_only);
  }

  /** `tenantsOnly`: only the allow list, `routing`'s tenants' exporters and its relays are let in (by default when a routing is given). */
  constructor(allow: readonly string[], routing: Config['routing'] | null, tenantsOnly = routing !== null) {
    this.#allow = allow.length ? new AddressSet(allow) : null;
    this.#owners = routing && routing.tenants.length > 0 ? new TenantRouter(routing) : null;
    this.#tenantsOnly = tenantsOnly;
    this.#relays = routing && routing.relays.length > 0 ? new AddressSet(routing.relays) : null;
  }

  /** Every source is let in (no allow list, tenants_only off). */
  get admitsEverySource(): boolean {
    return this.#allow === null && !this.#tenantsOnly;
  }

  /** Whether datagrams from `address` (as dgram gives it) are let in: on the allow list, or owned by a tenant or a relay with tenants_only. */
  admits(address: string): boolean {
    if (this.admitsEverySource || this.#allow?.has(address)) return true;
    return this.#tenantsOnly && (this.#ownedByTenant(address) || this.isRelay(address));
  }

  /** Whether the exporter at `address` is protected: on the allow list, owned by a tenant, or a relay. */
  protects(address: string): boolean {
    return (this.#allow?.has(address) ?? false) || this.#ownedByTenant(address) || this.isRelay(address);
  }

  /** Whether `address` is one of routing.relays: its records are routed by the exporters they state. */
  isRelay(address: string): boolean {
    return this.#relays?.has(address) ?? false;
  }

  /** The ring slot flags for a datagram from `address` (SLOT_FLAG_PROTECTED, SLOT_FLAG_RELAY). */
  slotFlags(address: string): number {
    return (this.protects(address) ? SLOT_FLAG_PROTECTED : 0) | (this.isRelay(address) ? SLOT_FLAG_RELAY : 0);
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
