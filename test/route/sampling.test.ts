// routing.sampling: the first rule naming an exporter, by prefix or by its tenant, gives its rates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { NO_SAMPLING } from '../../src/decoder/options.js';
import { SamplingRules } from '../../src/route/sampling.js';

const rules = new SamplingRules(parseConfig(`routing:
  tenants:
    - { name: acme, topic: flows.acme, exporters: ["192.0.2.0/24"] }
  sampling:
    - { exporters: ["192.0.2.7", "2001:db8::/32"], override_rate: 1000 }
    - { tenant: acme, default_rate: 100 }
    - { exporters: ["198.51.100.0/24"] }
`).routing.sampling);

test('the first matching rule wins: a prefix rule before the tenant rule of the same exporter', () => {
  assert.deepEqual(rules.ratesFor('192.0.2.7', 'acme'), { defaultRate: 0, overrideRate: 1000 });
  assert.deepEqual(rules.ratesFor('192.0.2.8', 'acme'), { defaultRate: 100, overrideRate: 0 });
  assert.deepEqual(rules.ratesFor('2001:db8::1', null), { defaultRate: 0, overrideRate: 1000 });
});

test('an exporter no rule names, an unknown exporter, and a rule of zeros: no sampling rules', () => {
  assert.equal(rules.ratesFor('203.0.113.1', null), NO_SAMPLING);
  assert.equal(rules.ratesFor('198.51.100.1', null), NO_SAMPLING, 'a rule with both rates 0 is no rule, and it stops the search');
  assert.equal(new SamplingRules([]).ratesFor('192.0.2.7', 'acme'), NO_SAMPLING);
});
