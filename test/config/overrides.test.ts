// FLOWGATE_* environment variables and --set flags over the file: precedence, value reading,
// paths into lists, and problems that name the variable or flag they came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { repoRoot } from '../support/paths.js';

const sample = readFileSync(join(repoRoot, 'config.yaml'), 'utf8');

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('an environment variable sets a number: FLOWGATE_WORKERS=4', () => {
  assert.equal(parseConfig(sample, { env: { FLOWGATE_WORKERS: '4' } }).workers, 4);
});

test('nested keys use "__" between levels and keep single underscores: FLOWGATE_ROUTING__DEFAULT_TOPIC', () => {
  const config = parseConfig(sample, {
    env: { FLOWGATE_ROUTING__DEFAULT_TOPIC: 'flows', FLOWGATE_DECODER__IGNORE_EXPORTER_PORT: 'true', FLOWGATE_KAFKA__ACKS: '-1' },
  });
  assert.equal(config.routing.default_topic, 'flows');
  assert.equal(config.decoder.ignore_exporter_port, true);
  assert.equal(config.kafka.acks, -1);
});

test('a list is given as a YAML flow list or as a comma-separated string', () => {
  const brokers = ['10.0.0.1:9092', '10.0.0.2:9092'];
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_KAFKA__BROKERS: '["10.0.0.1:9092","10.0.0.2:9092"]' } }).kafka.brokers, brokers);
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_KAFKA__BROKERS: '[10.0.0.1:9092, 10.0.0.2:9092]' } }).kafka.brokers, brokers);
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_KAFKA__BROKERS: '10.0.0.1:9092,10.0.0.2:9092' } }).kafka.brokers, brokers);
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_KAFKA__BROKERS: ' 10.0.0.1:9092 , 10.0.0.2:9092 ,' } }).kafka.brokers, brokers);
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_KAFKA__BROKERS: 'kafka:9092' } }).kafka.brokers, ['kafka:9092']);
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_LISTEN__UDP: '[::]:4739,0.0.0.0:4739' } }).listen.udp, ['[::]:4739', '0.0.0.0:4739']);
  assert.deepEqual(parseConfig('', { env: { FLOWGATE_DECODER__FIELDS: 'src,dst' } }).decoder.fields, ['src', 'dst']);
});

test('a bracketed IPv6 address stays a string, not a YAML list', () => {
  assert.equal(parseConfig('', { env: { FLOWGATE_HTTP__LISTEN: '[::]:8080' } }).http.listen, '[::]:8080');
  assert.equal(parseConfig('', { overrides: ['http.listen=[::1]:9090'] }).http.listen, '[::1]:9090');
});

test('text YAML would read as a mapping stays a string', () => {
  assert.equal(parseConfig('', { env: { FLOWGATE_KAFKA__CLIENT_ID: 'gateway: eu-1' } }).kafka.client_id, 'gateway: eu-1');
});

test('an empty value is "" for a string and [] for a list', () => {
  const config = parseConfig('http: {admin_token: abc}\ndecoder: {fields: [src]}\n', {
    env: { FLOWGATE_HTTP__ADMIN_TOKEN: '', FLOWGATE_DECODER__FIELDS: '' },
  });
  assert.equal(config.http.admin_token, '');
  assert.deepEqual(config.decoder.fields, []);
});

test('a mapping value can be given whole, or key by key into a key that was false or null', () => {
  const whole = parseConfig('', { env: { FLOWGATE_KAFKA__SASL: '{mechanism: plain, username: u, password: p}' } });
  assert.deepEqual(whole.kafka.sasl, { mechanism: 'plain', username: 'u', password: 'p' });
  const byKey = parseConfig('', {
    env: { FLOWGATE_KAFKA__SSL__CA_FILE: '/etc/ca.pem', FLOWGATE_KAFKA__SASL__MECHANISM: 'scram-sha-256', FLOWGATE_KAFKA__SASL__USERNAME: 'u',
      FLOWGATE_KAFKA__SASL__PASSWORD: 'p' },
  });
  assert.deepEqual(byKey.kafka.ssl, { ca_file: '/etc/ca.pem', reject_unauthorized: true });
  assert.deepEqual(byKey.kafka.sasl, { mechanism: 'scram-sha-256', username: 'u', password: 'p' });
});

test('a number in an environment path is a list index', () => {
  const config = parseConfig(sample, { env: { FLOWGATE_ROUTING__TENANTS__1__TOPIC: 'flows.globex2', FLOWGATE_ROUTING__TENANTS__0__EXPORTERS: '10.0.0.0/8' } });
  assert.equal(config.routing.tenants[1]!.topic, 'flows.globex2');
  assert.deepEqual(config.routing.tenants[0]!.exporters, ['10.0.0.0/8']);
  assert.equal(config.routing.tenants[0]!.topic, 'flows.acme');
});

test('a whole tenant list can come from one variable', () => {
  const config = parseConfig('', { env: { FLOWGATE_ROUTING__TENANTS: '[{name: a, topic: t.a, exporters: [10.0.0.0/8]}]' } });
  assert.deepEqual(config.routing.tenants, [{ name: 'a', topic: 't.a', exporters: ['10.0.0.0/8'], tap_token: '' }]);
});

test('the environment wins over the file, even over a value the file got wrong', () => {
  assert.equal(parseConfig('workers: two\n', { env: { FLOWGATE_WORKERS: '3' } }).workers, 3);
});

test('a deeper variable refines a shallower one whatever their order in the environment', () => {
  const config = parseConfig('', { env: { FLOWGATE_KAFKA__ACKS: '1', FLOWGATE_KAFKA: '{acks: 0, idempotent: false}' } });
  assert.equal(config.kafka.acks, 1);
  assert.equal(config.kafka.idempotent, false);
});

test('an environment variable naming an unknown key is an error that names the variable', () => {
  assert.deepEqual(problems(() => parseConfig(sample, { env: { FLOWGATE_KAFKA__COMPRESION: 'gzip', FLOWGATE_WROKERS: '2' } })), [
    'kafka.compresion: unknown key (did you mean "compression"?) (from env FLOWGATE_KAFKA__COMPRESION)',
    'wrokers: unknown key (did you mean "workers"?) (from env FLOWGATE_WROKERS)',
  ]);
});

test('a bad value from the environment names the variable, not a line of the file', () => {
  assert.deepEqual(problems(() => parseConfig(sample, { source: 'config.yaml', env: { FLOWGATE_WORKERS: 'two', FLOWGATE_KAFKA__BROKERS: '' } })), [
    'workers: expected an integer from 0 to 64, got "two" (from env FLOWGATE_WORKERS)',
    'kafka.brokers: expected at least one broker, got an empty list (from env FLOWGATE_KAFKA__BROKERS)',
  ]);
});

test('a key missing below a mapping a variable created names that variable', () => {
  assert.deepEqual(problems(() => parseConfig('', { env: { FLOWGATE_KAFKA__SASL__USERNAME: 'u' } })), [
    'kafka.sasl.mechanism: missing (expected one of plain, scram-sha-256, scram-sha-512) (from env FLOWGATE_KAFKA__SASL__USERNAME)',
    'kafka.sasl.password: missing (expected a string) (from env FLOWGATE_KAFKA__SASL__USERNAME)',
  ]);
});

test('a variable name that is not a key path is an error', () => {
  assert.deepEqual(problems(() => parseConfig('', { env: { FLOWGATE_KAFKA____ACKS: '1' } })), [
    'env FLOWGATE_KAFKA____ACKS: not a configuration key (FLOWGATE_ and the key path in capitals with "__" between levels, as in FLOWGATE_KAFKA__BROKERS)',
  ]);
});

test('only FLOWGATE_ variables are read, and FLOWGATE_CORPUS is not a key', () => {
  const config = parseConfig('', { env: { WORKERS: '3', KAFKA__BROKERS: 'x', FLOWGATE_CORPUS: '/data/corpus', HOME: '/root', flowgate_workers: '5' } });
  assert.equal(config.workers, 0);
});

test('parseConfig reads no environment unless given one; loadConfig reads process.env by default', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-config-'));
  t.after(() => {
    delete process.env.FLOWGATE_WORKERS;
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'workers: 1\n');
  process.env.FLOWGATE_WORKERS = '7';
  assert.equal(parseConfig('workers: 1\n').workers, 1);
  assert.equal((await loadConfig(file)).workers, 7);
  assert.equal((await loadConfig(file, { env: {} })).workers, 1);
});

test('--set sets a key by its dotted path, with list indexes as [N] or .N', () => {
  const config = parseConfig(sample, {
    overrides: ['workers=8', 'kafka.brokers=[a:9092, b:9092]', 'routing.tenants[0].topic=flows.acme2', 'routing.tenants.1.tap_token=t0k'],
  });
  assert.equal(config.workers, 8);
  assert.deepEqual(config.kafka.brokers, ['a:9092', 'b:9092']);
  assert.equal(config.routing.tenants[0]!.topic, 'flows.acme2');
  assert.equal(config.routing.tenants[1]!.tap_token, 't0k');
});

test('--set can add a list item at the end of a list', () => {
  const config = parseConfig(sample, { overrides: ['routing.tenants[2]={name: initech, topic: flows.initech, exporters: [10.9.0.0/16]}'] });
  assert.equal(config.routing.tenants.length, 3);
  assert.equal(config.routing.tenants[2]!.name, 'initech');
});

test('--set wins over the environment, and a later --set over an earlier one', () => {
  const config = parseConfig('workers: 1\n', { env: { FLOWGATE_WORKERS: '2' }, overrides: ['workers=3'] });
  assert.equal(config.workers, 3);
  assert.equal(parseConfig('', { overrides: ['workers=3', 'workers=4'] }).workers, 4);
  const topic = parseConfig('', { env: { FLOWGATE_ROUTING__DEFAULT_TOPIC: 'from-env' }, overrides: ['routing.default_topic=from-flag'] });
  assert.equal(topic.routing.default_topic, 'from-flag');
});

test('a value that contains "=" keeps everything after the first one', () => {
  assert.equal(parseConfig('', { overrides: ['http.admin_token=a=b=c'] }).http.admin_token, 'a=b=c');
});

test('--set problems name the flag: unknown keys, bad values, bad syntax, an index past the end', () => {
  assert.deepEqual(problems(() => parseConfig(sample, {
    source: 'config.yaml',
    overrides: ['kafka.compresion=gzip', 'ring.slots=1000', 'routing.tenants[5].topic=x', 'workers', '__proto__.polluted=1'],
  })), [
    '--set "workers": expected PATH=VALUE, as in --set kafka.brokers=[10.0.0.1:9092]',
    'routing.tenants[5].topic: routing.tenants has 2 items: index 5 is past the end (2 adds one) (from --set routing.tenants[5].topic)',
    '__proto__.polluted: "__proto__" is not a configuration key (from --set __proto__.polluted)',
    'ring.slots: expected a power of two from 64 to 1048576, got 1000 (from --set ring.slots)',
    'kafka.compresion: unknown key (did you mean "compression"?) (from --set kafka.compresion)',
  ]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('an override replaces what an earlier one set inside it, and problems name the later one', () => {
  assert.deepEqual(problems(() => parseConfig('', { env: { FLOWGATE_KAFKA__ACKS: '1' }, overrides: ['kafka={acks: 7, idempotent: false}'] })), [
    'kafka.acks: expected -1 (all in-sync replicas), 1 (leader only) or 0 (no acknowledgement), got 7 (from --set kafka)',
  ]);
});

test('problems of the file and of overrides are reported together, file lines first', () => {
  assert.deepEqual(problems(() => parseConfig('workers: 99\nlog:\n  level: loud\n', {
    source: 'f.yaml', env: { FLOWGATE_STATS__LOG_INTERVAL_S: '-5' }, overrides: ['ring.slot_bytes=1500'],
  })), [
    'f.yaml:1 workers: expected an integer from 0 to 64, got 99',
    'f.yaml:3 log.level: expected one of debug, info, warn, error, got "loud"',
    'ring.slot_bytes: expected a multiple of 8 from 1504 to 65528, got 1500 (from --set ring.slot_bytes)',
    'stats.log_interval_s: expected an integer from 0 to 86400, got -5 (from env FLOWGATE_STATS__LOG_INTERVAL_S)',
  ]);
});

test('decoder.fields takes "all" from the file, the environment and --set alike', () => {
  assert.equal(parseConfig('decoder:\n  fields: all\n').decoder.fields, 'all');
  assert.equal(parseConfig('', { env: { FLOWGATE_DECODER__FIELDS: 'all' } }).decoder.fields, 'all');
  assert.equal(parseConfig('', { overrides: ['decoder.fields=all'] }).decoder.fields, 'all');
  assert.throws(() => parseConfig('', { env: { FLOWGATE_DECODER__FIELDS: 'src,all' } }), ConfigError, '"all" is not a field among others');
  assert.throws(() => parseConfig('decoder:\n  fields: everything\n'), /expected "all" or a list of record field names, got "everything"/);
});
