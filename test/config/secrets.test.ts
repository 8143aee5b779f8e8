// Secrets in the configuration: given as files (*_file), never shown in a problem's text, and
// absent from what `flowgate check` prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { flowgateBin, repoRoot } from '../support/paths.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'flowgate-secrets-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function problems(text: string, env: Record<string, string> = {}): string {
  try {
    parseConfig(text, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return (err as Error).message;
  }
  assert.fail('the configuration was accepted');
}

test('every secret may be a file (kafka.sasl.password, http.admin_token, a tenant\'s tap_token), one trailing newline removed', (t) => {
  const d = dir(t);
  for (const [name, value] of [['password', 'pa ss\n'], ['admin', 'admin-token\r\n'], ['tap', 'tap\ntoken\n']]) writeFileSync(join(d, name), value);
  const config = parseConfig(`kafka:
  sasl: { mechanism: scram-sha-512, username: flowgate, password_file: ${join(d, 'password')} }
http:
  admin_token_file: ${join(d, 'admin')}
routing:
  tenants:
    - { name: acme, topic: flows.acme, exporters: ["10.0.0.1"], tap_token_file: ${join(d, 'tap')} }
`);
  assert.equal(config.kafka.sasl?.password, 'pa ss');
  assert.equal(config.http.admin_token, 'admin-token');
  assert.equal(config.routing.tenants[0]!.tap_token, 'tap\ntoken');
});

test('a *_file variable works like the key (FLOWGATE_KAFKA__SASL__PASSWORD_FILE)', (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'pw'), 'from-a-file\n');
  const config = parseConfig('kafka:\n  sasl: { mechanism: plain, username: u }\n', { env: { FLOWGATE_KAFKA__SASL__PASSWORD_FILE: join(d, 'pw') } });
  assert.equal(config.kafka.sasl?.password, 'from-a-file');
});

test('a secret and its file together, or a file that cannot be read, are problems naming the key and the file, never the secret', (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'pw'), 'hunter2\n');
  assert.match(problems(`http:\n  admin_token: x\n  admin_token_file: ${join(d, 'pw')}\n`), /http\.admin_token_file: set admin_token or admin_token_file, not both/);
  const missing = problems(`kafka:\n  sasl: { mechanism: plain, username: u, password_file: ${join(d, 'nope')} }\n`);
  assert.match(missing, new RegExp(`kafka\\.sasl\\.password_file: cannot read ${join(d, 'nope').replaceAll('/', '\\/')} \\(ENOENT\\)`));
  assert.doesNotMatch(missing, /missing/, 'one problem, not a second "missing password"');
});

test('a problem with a secret\'s value does not show the value', () => {
  const text = problems('kafka:\n  sasl: { mechanism: plain, username: u, password: 987654321 }\nhttp:\n  admin_token: 123456789\n');
  assert.match(text, /kafka\.sasl\.password: expected a string, got a value not shown \(a secret\)/);
  assert.match(text, /http\.admin_token: expected a string, got a value not shown \(a secret\)/);
  assert.doesNotMatch(text, /987654321|123456789/);
});

test('flowgate check prints no secret, valid or not', (t) => {
  const d = dir(t);
  const file = join(d, 'config.yaml');
  writeFileSync(file, 'kafka:\n  sasl: { mechanism: plain, username: u, password: "s3cr3t-pw" }\nhttp:\n  admin_token: "s3cr3t-admin"\n');
  const ok = spawnSync(process.execPath, [flowgateBin(), 'check', '--config', file], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(ok.status, 0, ok.stderr);
  writeFileSync(file, 'kafka:\n  sasl: { mechanism: nope, username: u, password: "s3cr3t-pw" }\nhttp:\n  admin_token: "s3cr3t-admin"\n');
  const bad = spawnSync(process.execPath, [flowgateBin(), 'check', '--config', file], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(bad.status, 1);
  for (const out of [ok.stdout, ok.stderr, bad.stdout, bad.stderr]) assert.doesNotMatch(out, /s3cr3t/);
});
