// Admission: which source addresses reach a decoder. Unit rules here; the gateway end to end below
// (a real capture from several exporters, only the admitted ones decoded, the rest counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { Admission } from '../../src/udp/admission.js';
import { SLOT_FLAG_PROTECTED, SLOT_FLAG_RELAY } from '../../src/ring/slots.js';
import { testBrokers } from '../support/broker.js';
import { capturePath, replay } from '../support/corpus.js';
import { readFileSync } from 'node:fs';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { total } from '../support/prometheus.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { waitUntil } from '../support/wait.js';

const routing = `routing:
  tenants:
    - { name: acme, topic: flows.acme, exporters: ["127.0.0.21", "10.1.0.0/16", "2001:db8::/32"] }
`;

test('no allow list and tenants_only off admit every source (no rules at all)', () => {
  const a = Admission.of(parseConfig(routing));
  assert.equal(a.admitsEverySource, true);
  assert.equal(a.admits('192.0.3.7'), true);
  assert.equal(a.admits('127.0.0.22'), true);
});

test('protected exporters: a tenant\'s and the allow list\'s, with or without an admission section; the rest are not', () => {
  const none = Admission.of(parseConfig(routing));
  assert.equal(none.protects('127.0.0.21'), true, 'a tenant owns it: protected without any admission rule');
  assert.equal(none.protects('10.1.200.3'), true);
  assert.equal(none.protects('::ffff:10.1.200.3'), true);
  assert.equal(none.protects('2001:db8:1::9'), true);
  assert.equal(none.protects('127.0.0.22'), false);
  assert.equal(none.protects('not an address'), false);
  assert.equal(none.slotFlags('127.0.0.21'), SLOT_FLAG_PROTECTED);
  assert.equal(none.slotFlags('127.0.0.22'), 0);
  const allow = Admission.of(parseConfig(`admission: { allow: ["192.0.2.0/24"] }\n${routing}`));
  assert.equal(allow.protects('192.0.2.7'), true);
  assert.equal(allow.protects('127.0.0.21'), true, 'tenant-owned, though only the allow list admits without tenants_only');
  assert.equal(allow.protects('192.0.3.7'), false);
  const noTenants = Admission.of(parseConfig('routing: { default_topic: flows }\n'));
  assert.equal(noTenants.protects('127.0.0.21'), false);
});

test('an allow list admits its prefixes only, IPv4, IPv6 and IPv4-mapped alike', () => {
  const a = Admission.of(parseConfig(`admission: { allow: ["192.0.2.0/24", "2001:db8:5::/48"] }\n${routing}`))!;
  assert.equal(a.admits('192.0.2.7'), true);
  assert.equal(a.admits('::ffff:192.0.2.7'), true);
  assert.equal(a.admits('2001:db8:5::1'), true);
  assert.equal(a.admits('192.0.3.7'), false);
  assert.equal(a.admits('127.0.0.21'), false, 'a tenant\'s exporter is not admitted without tenants_only');
  assert.equal(a.admits('not an address'), false);
});

test('tenants_only admits the exporters a tenant owns, and with an allow list those too', () => {
  const only = Admission.of(parseConfig(`admission: { tenants_only: true }\n${routing}`))!;
  assert.equal(only.admits('127.0.0.21'), true);
  assert.equal(only.admits('10.1.200.3'), true);
  assert.equal(only.admits('2001:db8:1::9'), true);
  assert.equal(only.admits('127.0.0.22'), false);
  const both = Admission.of(parseConfig(`admission: { tenants_only: true, allow: ["127.0.0.22"] }\n${routing}`))!;
  assert.equal(both.admits('127.0.0.22'), true);
  assert.equal(both.admits('127.0.0.21'), true);
  assert.equal(both.admits('127.0.0.23'), false);
});

test('relays (routing.relays) get SLOT_FLAG_RELAY and are protected, and tenants_only admits them; other sources get no relay flag', () => {
  const a = Admission.of(parseConfig(`admission: { tenants_only: true }\n${routing}  relays: ["192.0.2.5", "2001:db8:ff::/48"]\n`));
  assert.equal(a.slotFlags('192.0.2.5'), SLOT_FLAG_PROTECTED | SLOT_FLAG_RELAY);
  assert.equal(a.slotFlags('::ffff:192.0.2.5'), SLOT_FLAG_PROTECTED | SLOT_FLAG_RELAY);
  assert.equal(a.slotFlags('2001:db8:ff::7'), SLOT_FLAG_PROTECTED | SLOT_FLAG_RELAY, 'a relay inside a tenant\'s prefix is still a relay');
  assert.equal(a.admits('192.0.2.5'), true);
  assert.equal(a.admits('192.0.2.6'), false);
  assert.equal(a.slotFlags('127.0.0.21'), SLOT_FLAG_PROTECTED, 'a tenant\'s exporter is no relay');
  assert.equal(a.slotFlags('192.0.2.6'), 0);
  assert.equal(Admission.of(parseConfig(routing)).slotFlags('192.0.2.5'), 0, 'no relays by default');
});

test('a gateway decodes only admitted exporters; the others are counted not_allowed and never reach a decoder', async (t) => {
  const topic = uniqueTopic('admission');
  const gw = new GatewayProcess(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
admission: { allow: ["127.0.0.21/32", "127.0.0.22"] }
routing:
  default_topic: ${topic}
  unknown_exporters: default
stats: { log_interval_s: 0 }
`);
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();
  replay('multi_exporter', `127.0.0.1:${udp.v4}`, { bindOriginal: true }); // exporters 127.0.0.21 to .25
  const admitted = ['127.0.0.21', '127.0.0.22'];
  // Every datagram of the capture is counted received, and each either refused or taken by a decoder.
  let expectedDatagrams = 0;
  readCapture(readFileSync(capturePath('multi_exporter')), () => expectedDatagrams++);
  await waitUntil('the capture received and settled', async () => {
    const m = await gw.metrics();
    return total(m, 'flowgate_datagrams_received_total') === expectedDatagrams
      && total(m, 'flowgate_datagrams_decoded_total') + (m.get('flowgate_datagrams_dropped_total{reason="not_allowed"}') ?? 0) === expectedDatagrams;
  });
  const records = await readTopic(testBrokers(), topic, 1);
  assert.equal((await gw.stop('SIGTERM')).code, 0);
  const a = gw.accounting();
  assert.ok(a.datagrams.dropped.not_allowed > 0 && a.datagrams.decoded > 0, JSON.stringify(a.datagrams));
  assert.equal(a.datagrams.received, a.datagrams.decoded + a.datagrams.dropped.not_allowed, 'a refused datagram never reaches a decoder');
  const all = await readTopic(testBrokers(), topic, a.records.delivered);
  assert.equal(all.length, a.records.delivered);
  assert.ok(records.length > 0 && all.every((r) => admitted.includes(r.headers.exporter!)), 'only admitted exporters\' records are on the topic');
  assert.equal(a.records.decoded, a.records.delivered + Object.values(a.records.dropped).reduce((x, y) => x + y, 0));
});
