// Exporter -> tenant -> topic: longest prefix match, unknown exporters, the per-exporter cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type Config } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { ROUTE_CACHE_LIMIT, TenantRouter } from '../../src/route/tenants.js';
import { parseIPv4, parseIPv6 } from '../../src/config/addresses.js';

type Tenants = { name: string; topic?: string; exporters: string[] }[];

function routing(tenants: Tenants, extra: Partial<Omit<Config['routing'], 'tenants'>> = {}): Config['routing'] {
  const yaml = JSON.stringify({ routing: { ...extra, tenants: tenants.map((t) => ({ topic: `flows.${t.name}`, ...t })) } });
  return parseConfig(yaml).routing;
}

/** 16 bytes as the receiver passes an exporter: IPv6, or IPv4 as ::ffff:a.b.c.d. */
function bytes(address: string): Uint8Array {
  const v4 = parseIPv4(address);
  if (v4 === null) return parseIPv6(address)!;
  const b = new Uint8Array(16);
  b[10] = b[11] = 0xff;
  new DataView(b.buffer).setInt32(12, v4);
  return b;
}

const nested = new TenantRouter(routing([
  { name: 'eight', exporters: ['10.0.0.0/8', '2001:db8::/32'] },
  { name: 'sixteen', exporters: ['10.1.0.0/16', '2001:db8:1::/48'] },
  { name: 'twentyfour', exporters: ['10.1.2.0/24'] },
  { name: 'host', exporters: ['10.1.2.3', '2001:db8:1::7'] },
]));

test('the longest IPv4 prefix wins across tenants: /32 over /24 over /16 over /8', () => {
  assert.equal(nested.routeText('10.1.2.3').tenant, 'host');
  assert.equal(nested.routeText('10.1.2.4').tenant, 'twentyfour');
  assert.equal(nested.routeText('10.1.3.4').tenant, 'sixteen');
  assert.equal(nested.routeText('10.2.3.4').tenant, 'eight');
  assert.equal(nested.routeText('11.0.0.1').tenant, null);
  assert.deepEqual(nested.route(bytes('10.1.2.4')), { tenant: 'twentyfour', topic: 'flows.twentyfour' });
});

test('the longest IPv6 prefix wins across tenants: /128 over /48 over /32', () => {
  assert.equal(nested.routeText('2001:db8:1::7').tenant, 'host');
  assert.equal(nested.routeText('2001:db8:1::8').tenant, 'sixteen');
  assert.equal(nested.routeText('2001:db8:2::7').tenant, 'eight');
  assert.equal(nested.routeText('2001:db9::1').tenant, null);
  assert.equal(nested.route(bytes('2001:db8:1:ffff::1')).tenant, 'sixteen');
});

test('an IPv4 exporter arriving as ::ffff:a.b.c.d matches IPv4 prefixes, and ::/0 does not catch it', () => {
  const router = new TenantRouter(routing([{ name: 'v4', exporters: ['192.0.2.0/24'] }, { name: 'v6', exporters: ['::/0'] }]));
  assert.equal(router.route(bytes('192.0.2.9')).tenant, 'v4');
  assert.equal(router.routeText('::ffff:192.0.2.9').tenant, 'v4');
  assert.equal(router.routeText('::FFFF:192.0.2.9').tenant, 'v4');
  assert.equal(router.routeText('198.51.100.1').tenant, null);
  assert.equal(router.routeText('2001:db8::1').tenant, 'v6');
});

test('a prefix written with host bits set or in IPv4-mapped form routes as its normalised prefix', () => {
  const router = new TenantRouter(routing([{ name: 'a', exporters: ['192.0.2.77/24', '::ffff:198.51.100.0/120'] }]));
  assert.equal(router.routeText('192.0.2.1').tenant, 'a');
  assert.equal(router.routeText('198.51.100.200').tenant, 'a');
  assert.equal(router.routeText('198.51.101.1').tenant, null);
});

test('an unknown exporter goes to the default topic under unknown_exporters: default', () => {
  const router = new TenantRouter(routing([{ name: 'a', exporters: ['192.0.2.0/24'] }], { default_topic: 'rest', unknown_exporters: 'default' }));
  assert.deepEqual(router.routeText('203.0.113.1'), { tenant: null, topic: 'rest' });
  assert.deepEqual(router.routeText('2001:db8::1'), { tenant: null, topic: 'rest' });
});

test('an unknown exporter has no topic (dropped) under unknown_exporters: drop', () => {
  const router = new TenantRouter(routing([{ name: 'a', exporters: ['192.0.2.0/24'] }], { unknown_exporters: 'drop' }));
  assert.deepEqual(router.routeText('203.0.113.1'), { tenant: null, topic: null });
  assert.deepEqual(router.routeText('192.0.2.1'), { tenant: 'a', topic: 'flows.a' });
});

test('no tenants at all routes every exporter to the default topic', () => {
  const router = new TenantRouter(parseConfig('').routing);
  assert.deepEqual(router.routeText('10.0.0.1'), { tenant: null, topic: 'ipfix' });
});

test('routes are frozen and shared: the same object for every exporter of a tenant', () => {
  const a = nested.routeText('10.9.9.9'), b = nested.routeText('10.8.8.8'), c = nested.route(bytes('2001:db8:ff::1'));
  assert.equal(a, b);
  assert.equal(a, c);
  assert.ok(Object.isFrozen(a));
  assert.equal(nested.routeText('11.0.0.1'), nested.routeText('2001:db9::1'), 'one shared unknown route');
});

test('the cache keeps one entry per exporter and returns the same route for repeated lookups', () => {
  const router = new TenantRouter(routing([{ name: 'a', exporters: ['10.0.0.0/8', '2001:db8::/32'] }]));
  assert.equal(router.cacheSize, 0);
  const v4 = bytes('10.0.0.1'), v6 = bytes('2001:db8::1');
  const first4 = router.route(v4), first6 = router.route(v6);
  assert.equal(router.cacheSize, 2);
  for (let i = 0; i < 1000; i++) {
    assert.equal(router.route(v4), first4);
    assert.equal(router.route(v6), first6);
  }
  assert.equal(router.routeText('10.0.0.1'), first4, 'text and bytes share the cache entry');
  assert.equal(router.routeText('::ffff:10.0.0.1'), first4);
  assert.equal(router.cacheSize, 2);
  router.route(bytes('10.0.0.2'));
  router.route(bytes('2001:db8::2'));
  assert.equal(router.cacheSize, 4);
});

test('the cache is bounded: at the limit it is cleared and refilled, and routes stay right', () => {
  const router = new TenantRouter(routing([{ name: 'a', exporters: ['10.0.0.0/8'] }]));
  const b = bytes('10.0.0.0');
  for (let i = 0; i < ROUTE_CACHE_LIMIT; i++) {
    b[13] = (i >> 16) & 0xff;
    b[14] = (i >> 8) & 0xff;
    b[15] = i & 0xff;
    router.route(b);
  }
  assert.equal(router.cacheSize, ROUTE_CACHE_LIMIT);
  assert.equal(router.routeText('11.0.0.1').tenant, null);
  assert.equal(router.cacheSize, 1);
  assert.equal(router.routeText('10.0.0.1').tenant, 'a');
  assert.equal(router.cacheSize, 2);
});

test('many IPv6 exporters are told apart in the cache (no hash collision mixes them up)', () => {
  const router = new TenantRouter(routing([{ name: 'even', exporters: ['2001:db8::/48'] }, { name: 'odd', exporters: ['2001:db8:1::/48'] }]));
  const b = bytes('2001:db8::');
  for (let i = 0; i < 20000; i++) {
    b[5] = i & 1;
    b[14] = (i >> 8) & 0xff;
    b[15] = i & 0xff;
    assert.equal(router.route(b).tenant, i & 1 ? 'odd' : 'even');
  }
  assert.equal(router.cacheSize, 20000);
  for (let i = 0; i < 20000; i++) {
    b[5] = i & 1;
    b[14] = (i >> 8) & 0xff;
    b[15] = i & 0xff;
    assert.equal(router.route(b).tenant, i & 1 ? 'odd' : 'even');
  }
  assert.equal(router.cacheSize, 20000);
});

test('an address is read from the bytes at the given offset (a ring slot)', () => {
  const router = new TenantRouter(routing([{ name: 'a', exporters: ['192.0.2.0/24'] }, { name: 'b', exporters: ['2001:db8::/32'] }]));
  const slot = new Uint8Array(64).fill(0xee);
  slot.set(bytes('192.0.2.5'), 7);
  slot.set(bytes('2001:db8::5'), 40);
  assert.equal(router.route(slot, 7).tenant, 'a');
  assert.equal(router.route(slot, 40).tenant, 'b');
  assert.equal(router.route(Buffer.from(slot), 7).tenant, 'a', 'a Buffer works as well');
});

test('routeText rejects text that is not an address', () => {
  assert.throws(() => nested.routeText('10.0.0.300'), { name: 'RangeError', message: 'not an IPv4 or IPv6 address: "10.0.0.300"' });
});

test('routing the config validation would reject makes the constructor throw a ConfigError', () => {
  const base = routing([]);
  const bad = { ...base, tenants: [{ name: 'a', topic: 't', exporters: ['10.0.0.0/8', 'nope'], tap_token: '' },
    { name: 'b', topic: 't', exporters: ['10.0.0.0/8'], tap_token: '' }] };
  assert.throws(() => new TenantRouter(bad), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      'routing.tenants[0].exporters[1]: "nope" is not an IPv4/IPv6 address or CIDR prefix',
      'routing.tenants[1].exporters[0]: "10.0.0.0/8" is already an exporter of tenant "a"',
    ]);
    return true;
  });
});
