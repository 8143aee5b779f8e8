// The live tap against a real gateway: real UDP from corpus captures, a real broker, WebSocket
// clients. What a client gets is compared with what went to Kafka, record for record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { formatPrefix, parsePrefix, type Prefix } from '../../src/config/addresses.js';
import { AddressSet } from '../../src/net/address-set.js';
import { CLOSE_TOKEN_REVOKED, CLOSE_TOO_SLOW, SLOW_CLIENT_CLOSE_MS } from '../../src/tap/hub.js';
import { eventsNamed } from '../support/log-events.js';
import { waitUntil } from '../support/wait.js';
import { owners, replay, sleep, sorted, startTapGateway, TapClient, tokens, upgradeStatus } from './harness.js';

/** Flow records in multi_exporter.pcap (385 data records less 6 options records). */
const MULTI_RECORDS = 379;
/** Flow records in softflowd_v10_mixed.pcap, from 127.0.0.1. */
const SOFTFLOWD_RECORDS = 1406;

const tap = (http: number, token?: string) => `ws://127.0.0.1:${http}/tap${token ? `?token=${encodeURIComponent(token)}` : ''}`;

test('with no filter a client gets every record, exactly as delivered to Kafka', async (t) => {
  const s = await startTapGateway(t);
  const client = await TapClient.open(tap(s.http));
  t.after(() => client.close());
  assert.deepEqual(client.hello(), { type: 'hello', tenant: null,
    filter: { tenant: null, exporter: null, src: null, dst: null, port: null, proto: null, max_rate: 1000 } });
  await replay('multi_exporter', s.udp);
  const kafka = await s.kafkaRecords(MULTI_RECORDS);
  assert.equal(kafka.length, MULTI_RECORDS);
  await waitUntil(`${MULTI_RECORDS} tap records`, () => client.records.length >= MULTI_RECORDS, { timeoutMs: 10_000 });
  await sleep(300);
  // The same JSON text, byte for byte, and as many: compared as multisets.
  assert.deepEqual(sorted(client.records), sorted(kafka.map((m) => m.value)));
  assert.equal(s.hub.sentRecords(), MULTI_RECORDS);
  assert.deepEqual(s.hub.skippedRecords(), { slow_client: 0, rate_limit: 0, worker_cap: 0, ingest_busy: 0 });
  assert.equal(s.hub.clients(), 1);
});

test('filters by tenant, exporter prefix, src, dst, port and protocol narrow the records to exactly those that match', async (t) => {
  const s = await startTapGateway(t);
  // Prefixes taken from the capture itself, so the filters are known to match something.
  const probe = await TapClient.open(tap(s.http));
  t.after(() => probe.close());
  await replay('multi_exporter', s.udp);
  const first = await s.kafkaRecords(MULTI_RECORDS);
  const all = first.map((m) => JSON.parse(m.value) as Record<string, unknown>);
  const v4src = all.find((r) => typeof r.src === 'string' && r.src.includes('.'))!.src as string;
  const v6dst = all.find((r) => typeof r.dst === 'string' && r.dst.includes(':'))?.dst as string | undefined;
  assert.ok(v6dst, 'the capture has IPv6 flows');
  const srcPrefix = formatPrefix(parsePrefix(`${v4src}/24`) as Prefix);
  const dstPrefix = formatPrefix(parsePrefix(`${v6dst}/64`) as Prefix);

  const filters: Record<string, unknown>[] = [
    { tenant: 'acme' },
    { tenant: '_unknown' },
    { exporter: '127.0.0.20/30' }, // .20 to .23: acme's two and globex's one
    { src: srcPrefix },
    { dst: dstPrefix },
    { port: 443 },
    { proto: 17 },
    { exporter: '127.0.0.22', proto: 6, port: 80 },
  ];
  const tenantOf = (dvc: string) => (owners.acme as readonly string[]).includes(dvc) ? 'acme' : (owners.globex as readonly string[]).includes(dvc) ? 'globex' : '_unknown';
  const inSet = (entry: string, v: unknown) => new AddressSet([entry]).has(v);
  const expect = (f: Record<string, unknown>, r: Record<string, unknown>): boolean =>
    (f.tenant === undefined || tenantOf(r.dvc as string) === f.tenant) &&
    (f.exporter === undefined || inSet(f.exporter as string, r.dvc)) &&
    (f.src === undefined || inSet(f.src as string, r.src)) &&
    (f.dst === undefined || inSet(f.dst as string, r.dst)) &&
    (f.port === undefined || r.srcp === f.port || r.dstp === f.port) &&
    (f.proto === undefined || r.proto === f.proto);

  const clients = await Promise.all(filters.map(() => TapClient.open(tap(s.http))));
  t.after(() => clients.forEach((c) => c.close()));
  for (const [i, f] of filters.entries()) {
    const answer = await clients[i]!.filter({ ...f, max_rate: 10_000 });
    assert.equal(answer.type, 'filter', JSON.stringify(answer));
  }
  // Workers narrow by what they can test per datagram: with the unfiltered probe still there, everything.
  assert.deepEqual(s.specs.at(-1), { tenants: null, exporters: null, maxRecordsPerSecond: 10_000 });

  await replay('multi_exporter', s.udp);
  const kafka = (await s.kafkaRecords(2 * MULTI_RECORDS)).map((m) => m.value);
  const second = [...kafka];
  for (const m of first) second.splice(second.indexOf(m.value), 1); // the second replay's records
  assert.equal(second.length, MULTI_RECORDS);
  for (const [i, f] of filters.entries()) {
    const want = second.filter((v) => expect(f, JSON.parse(v) as Record<string, unknown>));
    assert.ok(want.length > 0 && want.length < MULTI_RECORDS, `${JSON.stringify(f)} matches some records: ${want.length}`);
    await waitUntil(`${want.length} records for ${JSON.stringify(f)}`, () => clients[i]!.records.length >= want.length, { timeoutMs: 10_000 });
  }
  await sleep(300);
  for (const [i, f] of filters.entries()) {
    const want = second.filter((v) => expect(f, JSON.parse(v) as Record<string, unknown>));
    assert.deepEqual(sorted(clients[i]!.records), sorted(want), JSON.stringify(f));
  }
});

test('an invalid filter is answered with an error and the filter stays as it was', async (t) => {
  const s = await startTapGateway(t);
  const client = await TapClient.open(tap(s.http));
  t.after(() => client.close());
  assert.equal((await client.filter({ proto: 6 })).type, 'filter');
  const bad: [unknown, RegExp][] = [
    ['not json', /JSON object/],
    [[1, 2], /JSON object/],
    [{ protocol: 6 }, /unknown filter key "protocol"/],
    [{ proto: 'tcp' }, /proto: expected an integer from 0 to 255/],
    [{ port: 70000 }, /port: expected an integer from 0 to 65535/],
    [{ src: '10.0.0.0/33' }, /src: .*prefix length must be 0 to 32/],
    [{ exporter: 'router1' }, /exporter: .*not an IPv4\/IPv6 address/],
    [{ max_rate: 0 }, /max_rate: expected an integer from 1 to 10000/],
    [{ tenant: 'initech' }, /no tenant "initech"/],
  ];
  for (const [filter, problem] of bad) {
    const answer = await client.filter(filter);
    assert.equal(answer.type, 'error', JSON.stringify(filter));
    assert.match(answer.error as string, problem);
  }
  await replay('softflowd_v10_mixed', s.udp);
  await s.kafkaRecords(SOFTFLOWD_RECORDS);
  await sleep(300);
  const got = client.parsed();
  assert.ok(got.length > 0);
  assert.ok(got.every((r) => r.proto === 6), 'still filtered by proto 6');
  // Prefixes are echoed in canonical form.
  const answer = await client.filter({ src: '10.1.2.3/8', dst: '2001:DB8:0:0::1' });
  assert.deepEqual(answer.filter, { tenant: null, exporter: null, src: '10.0.0.0/8', dst: '2001:db8::1', port: null, proto: null, max_rate: 1000 });
});

test('a tenant token sees only its tenant, whatever its filter asks for', async (t) => {
  const s = await startTapGateway(t, { withTokens: true });
  const acme = await TapClient.open(tap(s.http, tokens.acme));
  const admin = await TapClient.open(tap(s.http, tokens.admin));
  const adminGlobex = await TapClient.open(tap(s.http, tokens.admin));
  t.after(() => [acme, admin, adminGlobex].forEach((c) => c.close()));
  assert.equal(acme.hello().tenant, 'acme');
  assert.equal(admin.hello().tenant, null);

  // Asking for another tenant is refused; asking for nothing still means its own tenant only.
  const refused = await acme.filter({ tenant: 'globex', max_rate: 10_000 });
  assert.equal(refused.type, 'error');
  assert.match(refused.error as string, /this token sees tenant "acme" only/);
  assert.equal((await acme.filter({ max_rate: 10_000 })).type, 'filter');
  assert.equal((await adminGlobex.filter({ tenant: 'globex', max_rate: 10_000 })).type, 'filter');
  assert.equal((await admin.filter({ max_rate: 10_000 })).type, 'filter');

  await replay('multi_exporter', s.udp);
  const kafka = await s.kafkaRecords(MULTI_RECORDS);
  const acmeKafka = kafka.filter((m) => m.topic === s.topics.acme).map((m) => m.value);
  const globexKafka = kafka.filter((m) => m.topic === s.topics.globex).map((m) => m.value);
  assert.ok(acmeKafka.length > 0 && globexKafka.length > 0);
  await waitUntil('tap records', () => admin.records.length >= MULTI_RECORDS && acme.records.length >= acmeKafka.length && adminGlobex.records.length >= globexKafka.length, { timeoutMs: 10_000 });
  await sleep(300);
  assert.deepEqual(sorted(acme.records), sorted(acmeKafka));
  assert.deepEqual(sorted(adminGlobex.records), sorted(globexKafka));
  assert.deepEqual(sorted(admin.records), sorted(kafka.map((m) => m.value)));
  assert.ok(acme.parsed().every((r) => (owners.acme as readonly string[]).includes(r.dvc as string)));
});

test('when tokens are configured, no or a wrong token is refused with 401; ?token= and Authorization: Bearer are accepted', async (t) => {
  const s = await startTapGateway(t, { withTokens: true });
  const url = tap(s.http);
  assert.equal(await upgradeStatus(url), 401);
  assert.equal(await upgradeStatus(tap(s.http, 'wrong')), 401);
  assert.equal(await upgradeStatus(tap(s.http, tokens.acme + 'x')), 401);
  assert.equal(await upgradeStatus(url, { authorization: 'Bearer wrong' }), 401);
  assert.equal(await upgradeStatus(url, { authorization: `Basic ${tokens.admin}` }), 401);
  assert.equal(s.hub.clients(), 0);

  const byHeader = await TapClient.open(url, { authorization: `Bearer ${tokens.globex}` });
  const byQuery = await TapClient.open(tap(s.http, tokens.admin));
  t.after(() => [byHeader, byQuery].forEach((c) => c.close()));
  assert.equal(byHeader.hello().tenant, 'globex');
  assert.equal(byQuery.hello().tenant, null);
  assert.equal(s.hub.clients(), 2);
  // Tokens never reach the log.
  const logged = JSON.stringify(s.events);
  for (const token of Object.values(tokens)) assert.ok(!logged.includes(token), 'a token was logged');
});

test('without any token configured the tap is open and sees every tenant', async (t) => {
  const s = await startTapGateway(t);
  assert.equal(await upgradeStatus(tap(s.http)), 0);
  const client = await TapClient.open(tap(s.http, 'anything'));
  t.after(() => client.close());
  assert.equal(client.hello().tenant, null);
});

test('a reload closes the clients whose token is no longer valid and keeps the others', async (t) => {
  const s = await startTapGateway(t, { withTokens: true });
  const acme = await TapClient.open(tap(s.http, tokens.acme));
  const globex = await TapClient.open(tap(s.http, tokens.globex));
  t.after(() => [acme, globex].forEach((c) => c.close()));
  s.hub.reload(parseConfig(s.configYaml({ withTokens: true, acmeToken: 'acme-rotated' })));
  const closed = await acme.closed;
  assert.equal(closed.code, CLOSE_TOKEN_REVOKED);
  assert.equal(s.hub.clients(), 1);
  assert.equal(await upgradeStatus(tap(s.http, tokens.acme)), 401);
  const rotated = await TapClient.open(tap(s.http, 'acme-rotated'));
  t.after(() => rotated.close());
  assert.equal(rotated.hello().tenant, 'acme');
  assert.equal(globex.ws.readyState, globex.ws.OPEN);
});

test('workers forward nothing while no client is connected, and only what a client can match while one is', async (t) => {
  const s = await startTapGateway(t);
  // Nothing subscribed yet: a replay produces no batch at all.
  await replay('multi_exporter', s.udp);
  await s.kafkaRecords(MULTI_RECORDS);
  await sleep(300);
  assert.equal(s.batches.length, 0);
  assert.deepEqual(s.specs, []);

  const client = await TapClient.open(tap(s.http));
  assert.equal((await client.filter({ tenant: 'acme', exporter: '127.0.0.22' })).type, 'filter');
  assert.deepEqual(s.specs.at(-1), { tenants: ['acme'], exporters: ['127.0.0.22'], maxRecordsPerSecond: 1000 });
  await replay('multi_exporter', s.udp);
  await s.kafkaRecords(2 * MULTI_RECORDS);
  await waitUntil('a tap batch', () => s.batches.length > 0, { timeoutMs: 5_000 });
  await sleep(300);
  const forwarded = s.batches.flatMap((b) => b.records);
  assert.ok(forwarded.length > 0);
  assert.ok(forwarded.every((r) => r.tenant === 'acme' && r.exporter === '127.0.0.22'), 'workers forwarded only what the filter can match');
  await waitUntil('the client to get every forwarded record', () => client.records.length === forwarded.length, { timeoutMs: 5_000 });

  // The last client leaves: workers are told to stop, and the next replay forwards nothing.
  client.close();
  await waitUntil('the client to be gone', () => s.hub.clients() === 0, { timeoutMs: 5_000 });
  assert.equal(s.specs.at(-1), null);
  await sleep(300); // the spec reaches the worker threads
  const before = s.batches.length;
  await replay('multi_exporter', s.udp);
  await s.kafkaRecords(3 * MULTI_RECORDS);
  await sleep(500);
  assert.equal(s.batches.length, before);
});

test('max_rate caps the records a client gets, and what it leaves out is counted', async (t) => {
  const s = await startTapGateway(t);
  const client = await TapClient.open(tap(s.http));
  t.after(() => client.close());
  const started = Date.now();
  assert.equal((await client.filter({ max_rate: 50 })).type, 'filter');
  await replay('softflowd_v10_mixed', s.udp, { loop: 3 });
  await s.kafkaRecords(3 * SOFTFLOWD_RECORDS);
  await sleep(1_500);
  const seconds = (Date.now() - started) / 1000;
  const got = client.records.length;
  // One second of burst, then 50/s: generous bounds, the point is "about max_rate, not all".
  assert.ok(got >= 50, `got ${got}`);
  assert.ok(got <= 50 * (seconds + 1) + 50, `got ${got} in ${seconds} s`);
  const skipped = s.hub.skippedRecords();
  assert.equal(skipped.rate_limit + skipped.worker_cap + skipped.ingest_busy, 3 * SOFTFLOWD_RECORDS - got);
  await waitUntil('a stats message', () => client.controls.some((m) => m.type === 'stats' && (m.sent as number) === got), { timeoutMs: 3_000 });
});

test('a slow client has its records skipped and counted, never reduces what Kafka gets, and is closed when it stays slow', async (t) => {
  const s = await startTapGateway(t);
  const slow = await TapClient.open(tap(s.http));
  const fast = await TapClient.open(tap(s.http));
  t.after(() => [slow, fast].forEach((c) => c.close()));
  assert.equal((await slow.filter({ max_rate: 10_000 })).type, 'filter');
  assert.equal((await fast.filter({ max_rate: 10_000 })).type, 'filter');
  // The slow client stops reading: the kernel's buffers fill (a few MiB on loopback), then uWS
  // buffers for it. About 5 s of replay at the workers' cap sends it some 15 MiB.
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const loops = 100;
  const started = Date.now();
  await replay('softflowd_v10_mixed', s.udp, { pps: 1000, loop: loops });
  await waitUntil('records skipped for the slow client', () => s.hub.skippedRecords().slow_client > 0, { timeoutMs: 15_000 });

  // Kafka gets every record of the capture, exactly.
  const total = loops * SOFTFLOWD_RECORDS;
  await waitUntil(`${total} records delivered`, () => s.gateway.accounting().records.delivered >= total, { timeoutMs: 60_000 });
  const a = s.gateway.accounting();
  assert.equal(a.records.decoded, total);
  assert.equal(a.records.delivered, total);
  assert.equal(Object.values(a.records.dropped).reduce((x, y) => x + y, 0), 0);
  assert.equal(a.datagrams.dropped.ring_full, 0);

  // The fast one kept getting records meanwhile.
  assert.ok(fast.records.length > slow.records.length, `fast ${fast.records.length}, slow ${slow.records.length}`);
  // Still over the limit SLOW_CLIENT_CLOSE_MS later: closed by the server.
  await waitUntil('the slow client to be closed', () => s.hub.clients() === 1, { timeoutMs: SLOW_CLIENT_CLOSE_MS + 10_000 });
  assert.ok(Date.now() - started >= SLOW_CLIENT_CLOSE_MS);
  const closedTooSlow = eventsNamed(s.events, 'tap client closed: too slow');
  assert.equal(closedTooSlow.length, 1, JSON.stringify(closedTooSlow));
  assert.equal(closedTooSlow[0]!.level, 'info');
  assert.ok((closedTooSlow[0]!.skipped as number) > 0 && (closedTooSlow[0]!.bufferedBytes as number) > 0, JSON.stringify(closedTooSlow[0]));
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await slow.closed;
  assert.equal(closed.code, CLOSE_TOO_SLOW);
  assert.equal(fast.ws.readyState, fast.ws.OPEN);
});

test('the page, its script and its style are served with their types and a strict content security policy', async (t) => {
  const s = await startTapGateway(t);
  const base = `http://127.0.0.1:${s.http}`;
  for (const [path, type, text] of [['/', 'text/html', 'FlowGate live tap'], ['/tap.js', 'text/javascript', "new WebSocket("], ['/tap.css', 'text/css', '.table-wrap']] as const) {
    const res = await fetch(base + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}`));
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.ok((await res.text()).includes(text), path);
  }
});
