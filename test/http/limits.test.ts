// The HTTP side's defences on a real gateway process (`flowgate serve`, real broker): failed
// token attempts limited per client address (APIs and tap together), request bodies over
// http.max_body_bytes, tap messages over tap.max_message_bytes, the tap's client caps per tenant
// and in all, and over-broad filters. Every refusal is read back from /metrics.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic } from '../support/kafka-topics.js';
import { httpGet } from '../support/http.js';
import { parseMetrics } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';
import { TapClient, upgradeStatus } from '../tap/harness.js';

const tokens = { admin: 'admin-5b81e0', acme: 'acme-tap-c4d2', globex: 'globex-tap-77a9' } as const;

function gatewayYaml(http: string, tap = ''): string {
  return `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0", admin_token: "${tokens.admin}"${http} }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing:
  default_topic: ${uniqueTopic('limits')}
  tenants:
    - { name: acme, topic: ${uniqueTopic('limits.acme')}, exporters: ["127.0.0.21"], tap_token: "${tokens.acme}" }
    - { name: globex, topic: ${uniqueTopic('limits.globex')}, exporters: ["127.0.0.23"], tap_token: "${tokens.globex}" }
${tap}stats: { log_interval_s: 0 }
`;
}

/** A request on a connection of its own, closed after the answer. */
function send(url: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    // Node sends a GET's body unframed unless told its length.
    const length = o.body ? { 'content-length': String(o.body.length) } : {};
    const req = request(url, { method: o.method ?? 'GET', agent: false, headers: { connection: 'close', ...length, ...o.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    // The server may answer and close before the whole body is sent: its answer is what counts.
    req.on('error', reject);
    req.end(o.body);
  });
}

const tapUrl = (gw: GatewayProcess, token?: string) => `ws://127.0.0.1:${gw.listening!.http}/tap${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

test('after auth_failures_max wrong tokens an address gets 429 even with the right token, at the APIs and the tap alike, until the window has passed', { timeout: 120_000 }, async (t) => {
  const gw = new GatewayProcess(gatewayYaml(', protect_api: true, auth_failures_max: 3, auth_failure_window_ms: 4000'));
  t.after(() => gw.dispose());
  await gw.ready();
  const api = `${gw.base}/api/exporters`;
  const withToken = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  assert.equal((await send(api, withToken(tokens.admin))).status, 200, 'the right token is let in before any failure');

  // Three failures from 127.0.0.1, at the API and at the tap: they count together.
  assert.equal((await send(api, withToken('wrong-1'))).status, 401);
  assert.equal((await send(`${gw.base}/metrics`)).status, 401, 'no token at all is a failure too');
  assert.equal(await upgradeStatus(tapUrl(gw, 'wrong-3')), 401);

  // Refused now whatever the token: it is not even checked.
  const refused = await send(api, withToken(tokens.admin));
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 4, `retry-after ${String(refused.headers['retry-after'])}`);
  assert.equal(await upgradeStatus(tapUrl(gw, tokens.acme)), 429);
  assert.equal((await send(`${gw.base}/metrics?token=${tokens.admin}`)).status, 429);
  assert.equal((await httpGet(`${gw.base}/healthz`)).status, 200, 'unguarded endpoints stay open');
  let rateLimited = 3;

  // Once the window has passed, the right token works again (polled: each 429 meanwhile is counted).
  await waitUntil('the right token to be let in again', async () => {
    const status = (await send(api, withToken(tokens.admin))).status;
    if (status === 429) rateLimited++;
    else assert.equal(status, 200);
    return status === 200;
  }, { timeoutMs: 30_000, intervalMs: 250 });
  const tap = await TapClient.open(tapUrl(gw, tokens.acme));
  tap.close();

  // /metrics is guarded too: read with the token.
  const m = parseMetrics((await send(`${gw.base}/metrics`, withToken(tokens.admin))).body);
  assert.equal(m.get('flowgate_http_auth_failures_total{reason="bad_token"}'), 3);
  assert.equal(m.get('flowgate_http_auth_failures_total{reason="rate_limited"}'), rateLimited);
  assert.equal(m.get('flowgate_http_auth_failure_evictions_total'), 0);
  // One warning when the address was first refused, naming the client, never a token.
  const warned = gw.events.filter((e) => e.msg === 'http: too many failed token attempts, refusing the client for a while');
  assert.equal(warned.length, 1, JSON.stringify(warned));
  assert.equal(warned[0]!.client, '127.0.0.1');
  const logged = JSON.stringify(gw.events);
  for (const token of [...Object.values(tokens), 'wrong-1', 'wrong-3']) assert.ok(!logged.includes(token), `${token} was logged`);
});

describe('size limits and tap caps', () => {
  let gw: GatewayProcess;
  const metric = async (series: string) => (await gw.metrics()).get(series);

  before(async () => {
    gw = new GatewayProcess(gatewayYaml(', max_body_bytes: 1024', 'tap: { max_clients: 4, max_clients_per_tenant: 2, max_message_bytes: 256 }\n'));
    await gw.ready();
  });
  after(() => gw.dispose());

  test('a request declaring a body over http.max_body_bytes gets 413 on any route, before its handler runs; one within the limit is served', async () => {
    const big = await send(`${gw.base}/api/exporters`, { headers: { 'content-type': 'application/json' }, body: Buffer.alloc(1025, 0x20) });
    assert.equal(big.status, 413);
    assert.match(big.body, /limited to 1024 bytes \(http\.max_body_bytes\)/);
    assert.equal((await send(`${gw.base}/no-such-path`, { body: Buffer.alloc(5000) })).status, 413);
    assert.equal((await send(`${gw.base}/healthz`, { body: Buffer.alloc(1024) })).status, 200);
    assert.equal(await metric('flowgate_http_requests_refused_total{reason="body_too_large"}'), 2);
  });

  test('a tap message over tap.max_message_bytes closes the client and is counted; one of exactly the limit is read', async () => {
    const client = await TapClient.open(tapUrl(gw, tokens.admin));
    // 256 bytes: a valid filter padded with spaces.
    const filter = '{"proto":6}';
    assert.equal((await client.filter(filter + ' '.repeat(256 - filter.length))).type, 'filter');
    client.ws.send(filter + ' '.repeat(257 - filter.length));
    const closed = await client.closed;
    assert.equal(closed.code, 1006, 'uWS drops the connection without a close frame');
    await waitUntil('the client to be gone', async () => (await metric('flowgate_tap_clients')) === 0, { timeoutMs: 5_000 });
    assert.equal(await metric('flowgate_tap_refused_total{reason="message_too_large"}'), 1);
    assert.ok(gw.events.some((e) => e.msg === 'tap client closed: message too large' && e.maxMessageBytes === 256));
  });

  test('the third client of a tenant is refused with 429, other tenants still get in, and past max_clients everyone gets 503', async (t) => {
    const open: TapClient[] = [];
    t.after(() => open.forEach((c) => c.close()));
    open.push(await TapClient.open(tapUrl(gw, tokens.acme)), await TapClient.open(tapUrl(gw, tokens.acme)));
    assert.equal(await upgradeStatus(tapUrl(gw, tokens.acme)), 429);
    open.push(await TapClient.open(tapUrl(gw, tokens.globex)), await TapClient.open(tapUrl(gw, tokens.admin)));
    assert.equal(await upgradeStatus(tapUrl(gw, tokens.admin)), 503);
    assert.equal(await upgradeStatus(tapUrl(gw, tokens.globex)), 503);
    assert.equal(await metric('flowgate_tap_refused_total{reason="tenant_clients_full"}'), 1);
    assert.equal(await metric('flowgate_tap_refused_total{reason="clients_full"}'), 2);
    assert.equal(await metric('flowgate_tap_clients'), 4);
    // The caps count live clients: one acme client leaves, another acme client gets in.
    open.shift()!.close();
    await waitUntil('the acme client to be gone', async () => (await metric('flowgate_tap_clients')) === 3, { timeoutMs: 5_000 });
    open.push(await TapClient.open(tapUrl(gw, tokens.acme)));
    assert.equal(open.at(-1)!.hello().tenant, 'acme');
  });

  test('a filter with a /0 address term is refused as too broad, an invalid one as invalid, each counted; a narrower one is accepted', async (t) => {
    await waitUntil('no tap client left', async () => (await metric('flowgate_tap_clients')) === 0, { timeoutMs: 5_000 });
    const client = await TapClient.open(tapUrl(gw, tokens.admin));
    t.after(() => client.close());
    assert.equal((await client.filter({ port: 53 })).type, 'filter');
    const broad = await client.filter({ src: '0.0.0.0/0', port: 443 });
    assert.equal(broad.type, 'error');
    assert.match(broad.error as string, /^src: 0\.0\.0\.0\/0 matches every address of its family/);
    assert.equal((await client.filter({ exporter: '::/0' })).type, 'error');
    assert.equal((await client.filter({ src: ['10.0.0.0/8', '11.0.0.0/8'] })).type, 'error');
    const now = await client.filter({ port: 53, src: '10.0.0.0/8' });
    assert.deepEqual(now.filter, { tenant: null, exporter: null, src: '10.0.0.0/8', dst: null, port: 53, proto: null, max_rate: 1000 });
    assert.equal(await metric('flowgate_tap_refused_total{reason="filter_too_broad"}'), 2);
    assert.equal(await metric('flowgate_tap_refused_total{reason="filter_invalid"}'), 1);
  });
});
