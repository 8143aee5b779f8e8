// Sampling rules per exporter (config routing.sampling): the rate in force when an exporter
// announces none (default_rate), or whatever it announces (override_rate). The first rule that
// names the exporter, by prefix or by its tenant, wins, as in admission.rate_limit.overrides.
//
// Resolved once per exporter by the worker (decoder/worker.ts keeps the answer with its other
// per-exporter facts) and handed to the decoder with each datagram: nothing is looked up per
// datagram, and a reload that changes the rules applies to every exporter's next datagram.
import type { Config } from '../config/schema.js';
import { NO_SAMPLING, type SamplingRates } from '../decoder/options.js';
import { ExporterRules } from './exporter-rules.js';

export class SamplingRules {
  readonly #rules: ExporterRules;
  readonly #rates: SamplingRates[];

  constructor(rules: Config['routing']['sampling']) {
    this.#rules = new ExporterRules(rules);
    this.#rates = rules.map((r) => (r.default_rate === 0 && r.override_rate === 0 ? NO_SAMPLING
      : Object.freeze({ defaultRate: r.default_rate, overrideRate: r.override_rate })));
  }

  /** The rates of the exporter at `address` (text, as records write it) routed to `tenant` (null: unknown): the first rule naming it. */
  ratesFor(address: string, tenant: string | null): SamplingRates {
    const i = this.#rules.indexOf(address, () => tenant);
    return i < 0 ? NO_SAMPLING : this.#rates[i]!;
  }
}
