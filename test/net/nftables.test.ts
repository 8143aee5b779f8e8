// `flowgate firewall`: the admission rules and rate limits as an nftables ruleset. The rendering's
// rules here; then the ruleset applied by nft to a real kernel, in a network namespace with a
// gateway in it: a refused source's datagrams and a limited source's excess are dropped by the
// kernel (its counters say how many) and never reach the gateway, an admitted source loses none.
// The namespace part needs root, iproute2 and nft (skipped otherwise, with the reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../src/config/load.js';
import { renderNftables } from '../../src/net/nftables.js';
import { createLab, skipReason } from '../support/netns.js';
import { GatewayProcess } from '../support/gateway-process.js';

const tenants = `routing:
  tenants:
    - { name: acme, topic: flows.acme, exporters: ["10.1.0.0/16", "2001:db8::/32", "::ffff:10.2.0.0/112"] }
`;

test('no admission rule and no limit: a table that drops nothing, said so', () => {
  const text = renderNftables(parseConfig(`listen: { udp: ["0.0.0.0:4739"] }\n${tenants}`));
  assert.match(text, /admits every source without a limit/);
  assert.doesNotMatch(text.split('\n').filter((l) => !l.startsWith('#')).join('\n'), /\bdrop\b/, 'no rule drops');
  assert.match(text, /udp dport \{ 4739 \} jump exporters/);
});

test('admission sets hold the allow list and, with tenants_only, the tenants\' prefixes, by family, IPv4-mapped as IPv4', () => {
  const text = renderNftables(parseConfig(`listen: { udp: ["0.0.0.0:4739", "[::]:4739", "0.0.0.0:2055"] }
admission: { tenants_only: true, allow: ["192.0.2.0/24"] }
${tenants}`));
  assert.match(text, /udp dport \{ 2055, 4739 \} jump exporters/);
  assert.match(text, /set admitted_v4 \{ type ipv4_addr; flags interval; elements = \{ 192\.0\.2\.0\/24, 10\.1\.0\.0\/16, 10\.2\.0\.0\/16 \}; \}/);
  assert.match(text, /set admitted_v6 \{ type ipv6_addr; flags interval; elements = \{ 2001:db8::\/32 \}; \}/);
  assert.match(text, /ip saddr != @admitted_v4 counter name not_allowed drop/);
  const tcp = renderNftables(parseConfig(`listen: { udp: ["0.0.0.0:4739"], tcp: ["0.0.0.0:4739", "0.0.0.0:4740"] }
admission: { allow: ["192.0.2.0/24"], rate_limit: { datagrams_per_s: 100 } }`));
  assert.match(tcp, /tcp dport \{ 4739, 4740 \} jump exporters_tcp/, 'IPFIX over TCP: admission in the kernel too');
  assert.match(tcp, /chain exporters_tcp \{\n    ip saddr != @admitted_v4 counter name not_allowed drop\n    ip6 saddr != @admitted_v6 counter name not_allowed drop\n  \}/, 'no rate limit on a stream');
  const relayed = renderNftables(parseConfig(`admission: { tenants_only: true }\n${tenants}  relays: ["198.51.100.5"]\n`));
  assert.match(relayed, /set admitted_v4 \{ type ipv4_addr; flags interval; elements = \{ 10\.1\.0\.0\/16, 10\.2\.0\.0\/16, 198\.51\.100\.5 \}; \}/,
    'tenants_only admits routing.relays too');
  const allowOnly = renderNftables(parseConfig(`admission: { allow: ["192.0.2.7"] }\n${tenants}`));
  assert.match(allowOnly, /set admitted_v6 \{ type ipv6_addr; flags interval; \}/, 'no IPv6 source admitted: an empty set');
});

test('rate limits: overrides in order (a limit, then accept, so the first match wins), then the default; burst 0 is one second', () => {
  const text = renderNftables(parseConfig(`admission:
  rate_limit:
    datagrams_per_s: 5000
    overrides:
      - { exporters: ["10.9.0.0/16", "2001:db8:9::/48"], datagrams_per_s: 50000, burst: 100000 }
      - { tenant: acme, datagrams_per_s: 0 }
${tenants}`));
  const rules = text.split('\n').filter((l) => /^\s+(ip|ip6|update) /.test(l)).map((l) => l.trim());
  assert.deepEqual(rules, [
    'ip saddr { 10.9.0.0/16 } update @rate_0_v4 { ip saddr limit rate over 50000/second burst 100000 packets } counter name rate_limited drop',
    'ip saddr { 10.9.0.0/16 } accept',
    'ip6 saddr { 2001:db8:9::/48 } update @rate_0_v6 { ip6 saddr limit rate over 50000/second burst 100000 packets } counter name rate_limited drop',
    'ip6 saddr { 2001:db8:9::/48 } accept',
    'ip saddr { 10.1.0.0/16, 10.2.0.0/16 } accept',
    'ip6 saddr { 2001:db8::/32 } accept',
    'update @rate_default_v4 { ip saddr limit rate over 5000/second burst 5000 packets } counter name rate_limited drop',
    'update @rate_default_v6 { ip6 saddr limit rate over 5000/second burst 5000 packets } counter name rate_limited drop',
  ]);
});

const nftMissing = spawnSync('nft', ['--version']).error ? 'nft (nftables) is not installed' : undefined;

// Sends `count` datagrams from `from` to 127.0.0.1:port, each after the previous one's callback.
const SENDER = `
const [from, port, count] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
s.bind(0, from, async () => {
  for (let i = 0; i < Number(count); i++) await new Promise((r) => s.send('not a flow export', Number(port), '127.0.0.1', r));
  s.close();
});`;

test('applied by nft in a namespace: refused and over-limit datagrams are dropped by the kernel and counted there; the gateway sees only the rest',
  { skip: skipReason() ?? nftMissing ?? false, timeout: 120_000 }, async (t) => {
    const lab = createLab('fw', [{ name: 'gw' }]);
    t.after(() => lab.dispose());
    const gwHost = lab.host('gw');
    const port = 4739;
    const yaml = `listen: { udp: ["0.0.0.0:${port}"] }
http: { listen: "${gwHost.address}:8080" }
workers: 1
kafka: { sink: discard }
admission:
  allow: ["127.0.0.2", "127.0.0.3"]
  rate_limit: { datagrams_per_s: 0, overrides: [{ exporters: ["127.0.0.3"], datagrams_per_s: 5, burst: 10 }] }
stats: { log_interval_s: 0 }
`;
    const rules = renderNftables(parseConfig(yaml), 'flowgate_test');
    const applied = lab.exec('gw', 'nft', ['-f', '-'], { input: rules });
    assert.equal(applied.status, 0, `nft -f: ${applied.stderr}`);
    const gw = new GatewayProcess(yaml, { netns: gwHost.netns, httpHost: gwHost.address });
    t.after(() => gw.dispose());
    await gw.ready();

    const sent = 200;
    const started = Date.now();
    for (const from of ['127.0.0.2', '127.0.0.4', '127.0.0.3']) {
      const r = lab.exec('gw', process.execPath, ['-e', SENDER, from, String(port), String(sent)], { timeoutMs: 30_000 });
      assert.equal(r.status, 0, r.stderr);
    }
    const elapsedS = (Date.now() - started) / 1000;
    const counters = JSON.parse(lab.exec('gw', 'nft', ['-j', 'list', 'counters', 'table', 'inet', 'flowgate_test']).stdout) as
      { nftables: { counter?: { name: string; packets: number } }[] };
    const counted = Object.fromEntries(counters.nftables.flatMap((e) => (e.counter ? [[e.counter.name, e.counter.packets]] : [])));
    assert.equal(counted.not_allowed, sent, 'every datagram of the source not on the allow list, dropped in the kernel');
    const passed = sent - counted.rate_limited!;
    // A burst of 10, then 5 a second while the sends lasted.
    assert.ok(passed >= 10 && passed <= 10 + Math.ceil(elapsedS * 5), `${passed} of the limited source's datagrams passed in ${elapsedS} s`);

    const m = await gw.metricsWhen('every datagram that got past the kernel received', (s) => s.get('flowgate_datagrams_received_total') === sent + passed);
    assert.equal(m.get('flowgate_datagrams_dropped_total{reason="not_allowed"}'), 0, 'FlowGate never saw the refused source');
    assert.equal(m.get('flowgate_datagrams_dropped_total{reason="rate_limited"}'), 0, 'nor the excess: its own limit found nothing over it');
    assert.equal((await gw.stop('SIGTERM')).code, 0);
  });
