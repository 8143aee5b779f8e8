// The sample config.yaml at the repo root is the documentation of every key: it must parse,
// hold the documented values, list every key, and state the defaults the schema really has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isPair, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { ConfigError, defaultConfig, parseConfig, type Config } from '../../src/config/load.js';
import { repoRoot } from '../support/paths.js';

const sampleText = readFileSync(join(repoRoot, 'config.yaml'), 'utf8');

test('the sample config.yaml parses and has the documented values', () => {
  const config = parseConfig(sampleText, { source: 'config.yaml' });
  assert.deepEqual(config.listen.udp, ['0.0.0.0:4739', '[::]:4739']);
  assert.equal(config.workers, 2);
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(config.routing.default_topic, 'ipfix');
  assert.equal(config.routing.unknown_exporters, 'default');
  assert.deepEqual(config.routing.tenants, [
    { name: 'acme', topic: 'flows.acme', exporters: ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'], tap_token: '' },
    { name: 'globex', topic: 'flows.globex', exporters: ['127.0.0.21', '127.0.0.22', '203.0.113.0/24'], tap_token: '' },
  ]);
  // npm start uses the sample: it spools and keeps exporter state under the git-ignored .data/
  // (the defaults are none).
  assert.equal(config.spool.dir, '.data/spool');
  assert.equal(config.state.dir, '.data/state');
  // Apart from workers, the two directories and the tenants, the sample shows the defaults.
  const expected: Config = structuredClone(defaultConfig);
  expected.workers = 2;
  expected.spool.dir = '.data/spool';
  expected.state.dir = '.data/state';
  expected.routing.tenants = config.routing.tenants;
  assert.deepEqual(config, expected);
});

/** Leaf paths of a value: mapping keys joined by dots; lists and null are leaves. */
function leafPaths(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  return Object.entries(v).flatMap(([k, child]) => leafPaths(child, prefix ? `${prefix}.${k}` : k));
}

test('the sample lists every key there is', () => {
  const sample = parseDocument(sampleText).toJS() as Record<string, unknown>;
  assert.deepEqual(leafPaths(sample).sort(), leafPaths(defaultConfig).sort());
});

test('each "Default X" in the sample\'s comments is the default the schema has', () => {
  const doc = parseDocument(sampleText);
  let checked = 0;
  const visit = (map: YAMLMap, path: string[]): void => {
    map.items.forEach((pair, i) => {
      if (!isPair(pair) || !isScalar(pair.key)) return;
      const keyPath = [...path, String(pair.key.value)];
      if (isMap(pair.value) && keyPath.join('.') !== 'kafka.ssl') {
        visit(pair.value, keyPath);
        return;
      }
      // The yaml package keeps a comment above a mapping's first key on the mapping.
      const comment = ((i === 0 ? map.commentBefore : undefined) ?? pair.key.commentBefore ?? '').replace(/\n/g, ' ');
      const m = / Default (.+?)(?:\.$|\. | \(|$)/.exec(` ${comment.trim()}`);
      assert.ok(m, `${keyPath.join('.')}: no "Default ..." in its comment: ${comment}`);
      const documented: unknown = parseDocument(m[1]!).toJS();
      const actual = keyPath.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], defaultConfig);
      assert.deepEqual(documented, actual, `${keyPath.join('.')}: comment says ${m[1]}`);
      checked++;
    });
  };
  visit(doc.contents as YAMLMap, []);
  assert.equal(checked, leafPaths(defaultConfig).length);
});

test('an empty file, or one with only comments, gives defaultConfig', () => {
  assert.deepEqual(parseConfig(''), defaultConfig);
  assert.deepEqual(parseConfig('# nothing here\n\n   # workers: 4\n'), defaultConfig);
  assert.deepEqual(parseConfig('---\n'), defaultConfig);
});

test('the defaults are the documented ones', () => {
  assert.deepEqual(defaultConfig.listen, { udp: ['0.0.0.0:4739', '[::]:4739'], receive_buffer_bytes: 8388608, tcp: [], tcp_max_connections: 256 });
  assert.deepEqual(defaultConfig.http, {
    listen: '0.0.0.0:8080', admin_token: '', protect_api: false, auth_failures_max: 10, auth_failure_window_ms: 60000, auth_failure_addresses: 10000, max_body_bytes: 65536,
  });
  assert.deepEqual(defaultConfig.tap, { max_clients: 32, max_clients_per_tenant: 8, max_message_bytes: 1024 });
  assert.equal(defaultConfig.workers, 0);
  assert.deepEqual(defaultConfig.ring, { slots: 4096, slot_bytes: 9216 });
  assert.deepEqual(defaultConfig.decoder, {
    template_lifetime_s: 1800, ignore_exporter_port: false, udp_withdrawals: 'ignore', sequence_window: 100000, fields: [], held_max_bytes: 1048576, held_per_template_bytes: 65536,
    held_max_age_ms: 30000, max_templates_per_exporter: 256, max_sessions: 2048, scale_counters: false, dictionaries: [],
  });
  assert.deepEqual(defaultConfig.kafka, {
    brokers: ['127.0.0.1:9092'], client_id: 'flowgate', acks: -1, idempotent: true, compression: 'none', format: 'json', protobuf_length_prefix: true, key: 'none',
    records_per_message: 1, sink: 'kafka', linger_ms: 5, batch_max_records: 10000, batch_max_bytes: 1048576, max_in_flight: 5, queue_max_records: 200000,
    queue_max_bytes: 67108864, request_timeout_ms: 30000, retries: 5, connection_timeout_ms: 3000, flush_timeout_ms: 10000,
    ssl: false, sasl: null,
  });
  assert.deepEqual(defaultConfig.routing, { default_topic: 'ipfix', unknown_exporters: 'default', tenants: [], sampling: [], relays: [], options_topic: '' });
  assert.deepEqual(defaultConfig.state, { dir: '', save_interval_ms: 2000 });
  assert.deepEqual(defaultConfig.stats, { log_interval_s: 10 });
  assert.deepEqual(defaultConfig.log, { level: 'info' });
});

test('defaultConfig is frozen and each parse returns fresh objects', () => {
  assert.ok(Object.isFrozen(defaultConfig.listen.udp));
  const a = parseConfig(''), b = parseConfig('');
  assert.notEqual(a.listen.udp, b.listen.udp);
  a.listen.udp.push('127.0.0.1:1');
  assert.deepEqual(parseConfig('').listen.udp, ['0.0.0.0:4739', '[::]:4739']);
});

test('a section with all its keys commented out counts as empty', () => {
  assert.deepEqual(parseConfig('kafka:\n  # acks: 1\nrouting:\n').kafka, defaultConfig.kafka);
});

test('valid non-default values come through: ssl and sasl mappings, "datagram" messages, fields', () => {
  const config = parseConfig(`
kafka:
  acks: 1
  idempotent: false
  records_per_message: datagram
  ssl: {ca_file: /etc/ca.pem, cert_file: /etc/c.pem, key_file: /etc/c.key}
  sasl: {mechanism: scram-sha-512, username: fg, password: s3cret}
decoder:
  fields: [dvc, src, dst, bytes]
`);
  assert.deepEqual(config.kafka.ssl, { ca_file: '/etc/ca.pem', cert_file: '/etc/c.pem', key_file: '/etc/c.key', reject_unauthorized: true });
  assert.deepEqual(config.kafka.sasl, { mechanism: 'scram-sha-512', username: 'fg', password: 's3cret' });
  assert.equal(config.kafka.records_per_message, 'datagram');
  assert.deepEqual(config.decoder.fields, ['dvc', 'src', 'dst', 'bytes']);
  assert.deepEqual(parseConfig('kafka: {ssl: {}}').kafka.ssl, { reject_unauthorized: true });
});

test('exporter prefixes come out normalised', () => {
  const config = parseConfig('routing: {tenants: [{name: a, topic: t, exporters: ["192.0.2.77/24", "2001:DB8:0::/32", "::ffff:10.0.0.1"]}]}');
  assert.deepEqual(config.routing.tenants[0]!.exporters, ['192.0.2.0/24', '2001:db8::/32', '10.0.0.1']);
});

test('ConfigError carries the code FG_ERR_CONFIG, the problems, and a message listing them', () => {
  assert.throws(() => parseConfig('workers: 100\nlog: {level: loud}\n', { source: 'x.yaml' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'FG_ERR_CONFIG');
    assert.deepEqual(err.problems, [
      'x.yaml:1 workers: expected an integer from 0 to 64, got 100',
      'x.yaml:2 log.level: expected one of debug, info, warn, error, got "loud"',
    ]);
    assert.equal(err.message, `invalid configuration:\n  ${err.problems.join('\n  ')}`);
    return true;
  });
});

test('without a source, problems are located as "config:LINE"', () => {
  assert.throws(() => parseConfig('\nworkers: -1\n'), { message: 'invalid configuration:\n  config:2 workers: expected an integer from 0 to 64, got -1' });
});

test('a document that is not a mapping is one problem at the top level', () => {
  assert.throws(() => parseConfig('- workers\n'), { message: 'invalid configuration:\n  config:1 (top level): expected a mapping, got a list' });
  assert.throws(() => parseConfig('workers'), { message: 'invalid configuration:\n  config:1 (top level): expected a mapping, got "workers"' });
});

test('a YAML syntax error is reported with its line and column, and nothing else', () => {
  assert.throws(() => parseConfig('workers: 2\nkafka:\n  brokers: [a:1\n  acks: 1\n', { source: 'c.yaml' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 1);
    assert.match(err.problems[0]!, /^c\.yaml:\d+:\d+ YAML syntax error: /);
    return true;
  });
  assert.throws(() => parseConfig('a: 1\n\tb: 2\n', { source: 'c.yaml' }), /c\.yaml:2:1 YAML syntax error: /);
});

test('alias expansion is bounded', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) =>
    `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${new Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
  assert.throws(() => parseConfig(bomb), /YAML syntax error: .*alias/i);
});
