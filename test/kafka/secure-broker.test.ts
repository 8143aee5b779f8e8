// Kafka as production runs it: a broker of the test's own with a SASL_SSL listener and ACLs
// (scripts/kafka-secure.js: its own CA, a user for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512). A
// capture goes through the gateway over TLS with each mechanism; a tenant topic the user may not
// write is refused once and its records counted, while the others flow; a wrong password or a CA
// that does not sign the broker's certificate keeps the gateway unready, saying why.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateBroker, type PrivateBroker, type SecureListener } from '../support/broker.js';
import { assertMatches, flows, replay, truth } from '../support/corpus.js';
import { GatewayProcess, listeningFrom } from '../support/gateway-process.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { httpGet } from '../support/http.js';
import { waitUntil } from '../support/wait.js';

const PORT = 19892; // 19893 controller, 19894 SASL_SSL, 19895 SSL with client certificates
/** The script's ACLs (tools/kafka/SecureAcls.java): the user may use every topic but denied.*; no IDEMPOTENT_WRITE (KIP-679). */
const ALLOWED = 'ok.';
const CAPTURE_RECORDS = 1406; // softflowd_v10_mixed, from 127.0.0.1
const MULTI_21_RECORDS = 12; // multi_exporter's records from 127.0.0.21

let broker: PrivateBroker;
let secure: SecureListener;

before(async () => {
  broker = await startPrivateBroker({ port: PORT, controllerPort: PORT + 1, secure: true });
  secure = broker.secure!;
});
after(async () => broker?.dispose());

function gatewayYaml(o: { mechanism: string; password?: string; caFile?: string; servername?: string; topic: string; tenantTopic?: string }): string {
  return `listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 1
kafka:
  brokers: ["${secure.bootstrap}"]
  ssl: { ca_file: "${o.caFile ?? secure.caFile}"${o.servername ? `, servername: ${o.servername}` : ''} }
  sasl: { mechanism: ${o.mechanism}, username: ${secure.username}, password: "${o.password ?? secure.password}" }
  linger_ms: 5
routing:
  default_topic: ${o.topic}
  unknown_exporters: default
${o.tenantTopic ? `  tenants:\n    - { name: denied, topic: ${o.tenantTopic}, exporters: ["127.0.0.21"] }\n` : ''}stats:
  log_interval_s: 0
`;
}

for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512']) {
  test(`TLS with the project's CA and SASL ${mechanism}: every record of a capture reaches its topic`, async (t) => {
    const topic = uniqueTopic(`${ALLOWED}flows`);
    const gw = new GatewayProcess(gatewayYaml({ mechanism, topic }));
    t.after(() => gw.dispose());
    const { udp, http } = await gw.ready();
    replay('softflowd_v10_mixed', `127.0.0.1:${udp.v4}`);
    const got = await readTopic([broker.bootstrap], topic, CAPTURE_RECORDS);
    assertMatches(t, got.map((m) => m.value), flows(truth('softflowd_v10_mixed'), ['127.0.0.1']), mechanism); // Wireshark's decoding
    // The password is in no answer of the HTTP endpoint and in no log line.
    for (const path of ['/metrics', '/readyz', '/api/exporters', '/api/templates', '/api/scale', '/api/spool']) {
      assert.ok(!(await httpGet(`http://127.0.0.1:${http}${path}`)).body.includes(secure.password), path);
    }
    assert.equal((await gw.stop('SIGTERM')).code, 0);
    const a = gw.accounting();
    assert.equal(a.records.delivered, CAPTURE_RECORDS);
    assert.equal(a.records.decoded, a.records.delivered + Object.values(a.records.dropped).reduce((x, y) => x + y, 0));
    assert.ok(!gw.events.some((e) => JSON.stringify(e).includes(secure.password)), 'no log line holds the password');
  });
}

test('a tenant topic the user may not write is reported once, its records counted kafka_rejected; the other tenants flow', async (t) => {
  const topic = uniqueTopic(`${ALLOWED}flows`);
  const denied = uniqueTopic('denied.flows');
  const gw = new GatewayProcess(gatewayYaml({ mechanism: 'scram-sha-512', topic, tenantTopic: denied }));
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();
  replay('softflowd_v10_mixed', `127.0.0.1:${udp.v4}`);
  replay('multi_exporter', `127.0.0.1:${udp.v4}`, { bindOriginal: true, onlySrc: '127.0.0.21' });
  assert.equal((await readTopic([broker.bootstrap], topic, CAPTURE_RECORDS)).length, CAPTURE_RECORDS);
  await waitUntil('the denied tenant\'s records counted', async () => (await gw.metrics()).get('flowgate_records_dropped_total{reason="kafka_rejected"}') === MULTI_21_RECORDS);
  assert.equal((await gw.stop('SIGTERM')).code, 0);
  const a = gw.accounting();
  assert.equal(a.records.delivered, CAPTURE_RECORDS);
  assert.equal(a.records.dropped.kafka_rejected, MULTI_21_RECORDS);
  assert.equal(a.records.decoded, CAPTURE_RECORDS + MULTI_21_RECORDS);
  const refusals = gw.events.filter((e) => e.msg.startsWith('kafka refuses a topic'));
  assert.equal(refusals.length, 1, 'said once');
  assert.equal(refusals[0]!.topic, denied);
  assert.equal(refusals[0]!.error, 'TOPIC_AUTHORIZATION_FAILED');
});

test('mTLS: with the client certificate the listener asks for, every record arrives; without one, /readyz says why', async (t) => {
  const topic = uniqueTopic(`${ALLOWED}mtls`);
  const yaml = (client: boolean) => `listen:
  udp: ["127.0.0.1:0"]
http:
  listen: "127.0.0.1:0"
workers: 1
kafka:
  brokers: ["${secure.mtls.bootstrap}"]
  ssl: { ca_file: "${secure.caFile}"${client ? `, cert_file: "${secure.mtls.certFile}", key_file: "${secure.mtls.keyFile}"` : ''} }
  linger_ms: 5
routing:
  default_topic: ${topic}
stats:
  log_interval_s: 0
`;
  const gw = new GatewayProcess(yaml(true));
  t.after(() => gw.dispose());
  const { udp } = await gw.ready();
  replay('softflowd_v10_mixed', `127.0.0.1:${udp.v4}`);
  assert.equal((await readTopic([broker.bootstrap], topic, CAPTURE_RECORDS)).length, CAPTURE_RECORDS);

  const without = new GatewayProcess(yaml(false));
  t.after(() => without.dispose());
  const { http } = listeningFrom(await without.waitFor('ready'));
  const problem = await waitUntil('/readyz naming the cause', async () => {
    const r = await httpGet(`http://127.0.0.1:${http}/readyz`);
    return r.status === 503 && (JSON.parse(r.body) as { problems?: string[] }).problems?.find((p) => p.startsWith('worker 0: not connected to Kafka: '));
  }, { timeoutMs: 20_000 });
  assert.match(problem, /certificate|handshake|socket|closed|ECONNRESET/i);
});

for (const [what, change, cause, refusal] of [
  ['a wrong password', { password: 'not-the-password' }, /authentication failed.*invalid credentials/i, 'authentication'],
  ['a CA that did not sign the broker\'s certificate', { caFile: 'OTHER_CA' }, /unable to verify the first certificate|self.signed|certificate/i, 'certificate'],
  ['a host name the broker\'s certificate does not name', { servername: 'not-the-broker.example' }, /does not match certificate's altnames/, 'certificate'],
] as const) {
  test(`${what}: the gateway stays unready, /readyz says why, an error line names the setting`, async (t) => {
    let caFile: string | undefined;
    if ('caFile' in change) caFile = (await import('node:path')).join(secure.caFile, '..', 'broker.pem'); // a certificate, but not the CA
    const gw = new GatewayProcess(gatewayYaml({ mechanism: 'scram-sha-512', topic: uniqueTopic(`${ALLOWED}x`), password: 'password' in change ? change.password : undefined, caFile,
      servername: 'servername' in change ? change.servername : undefined }));
    t.after(() => gw.dispose());
    const { http } = listeningFrom(await gw.waitFor('ready')); // listening; not ready (/readyz) without Kafka
    const problem = await waitUntil('/readyz naming the cause', async () => {
      const r = await httpGet(`http://127.0.0.1:${http}/readyz`);
      const body = JSON.parse(r.body) as { problems?: string[] };
      return r.status === 503 && body.problems?.find((p) => p.startsWith('worker 0: not connected to Kafka: '));
    }, { timeoutMs: 20_000 });
    assert.match(problem, cause);
    assert.ok(!problem.includes(secure.password), 'the password is not in the answer');
    // Not a silent retry loop: an error line names the setting to check and the broker's reason.
    const line = await gw.waitFor('kafka refuses the connection; records stay queued or spooled, trying again');
    assert.equal(line.level, 'error');
    assert.equal(line.cause, refusal);
    assert.match(String(line.check), refusal === 'authentication' ? /^kafka\.sasl/ : /^kafka\.ssl/);
    assert.match(String(line.error), cause);
    assert.ok(!gw.events.some((e) => JSON.stringify(e).includes(secure.password)), 'no log line holds the password');
  });
}
