// `flowgate check`: exit 0 with a summary on stdout, or exit 1 with every problem on stderr.
// Each case runs runCheck in a child process, so its real stdout, stderr and exit code are seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

const checkModule = new URL('../../src/commands/check.js', import.meta.url).href;
const runner = 'const [url, ...args] = process.argv.slice(1); const { runCheck } = await import(url); process.exitCode = await runCheck(args);';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `flowgate check ARGS` in `cwd` with only PATH and `env` in its environment. */
function check(args: string[], options: { cwd: string; env?: Record<string, string> }): Run {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', runner, checkModule, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a valid config exits 0 and prints a summary of the routing on stdout', () => {
  const r = check(['--config', join(repoRoot, 'config.yaml')], { cwd: repoRoot });
  assert.deepEqual(r, {
    code: 0,
    stdout: `config OK: ${join(repoRoot, 'config.yaml')} (2 tenants, 6 exporter prefixes, default topic ipfix, unknown exporters: default)\n`,
    stderr: '',
  });
});

test('without --config, ./config.yaml is checked', (t) => {
  const dir = tempDir(t);
  copyFileSync(join(repoRoot, 'config.yaml'), join(dir, 'config.yaml'));
  const r = check([], { cwd: dir });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'config OK: config.yaml (2 tenants, 6 exporter prefixes, default topic ipfix, unknown exporters: default)\n');
});

test('an invalid config exits 1 and prints every problem on stderr, nothing on stdout', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bad.yaml'), 'workers: two\nkafka:\n  compresion: gzip\n');
  const r = check(['--config', 'bad.yaml'], { cwd: dir });
  assert.deepEqual(r, {
    code: 1,
    stdout: '',
    stderr: 'invalid configuration:\n'
      + '  bad.yaml:1 workers: expected an integer from 0 to 64, got "two"\n'
      + '  bad.yaml:3 kafka.compresion: unknown key (did you mean "compression"?)\n',
  });
});

test('--set and FLOWGATE_* variables are applied before checking', (t) => {
  const dir = tempDir(t);
  copyFileSync(join(repoRoot, 'config.yaml'), join(dir, 'config.yaml'));
  const ok = check(['--set', 'routing.default_topic=rest', '--set', 'routing.tenants[1]={name: initech, topic: t, exporters: [10.0.0.0/8]}'],
    { cwd: dir, env: { FLOWGATE_ROUTING__UNKNOWN_EXPORTERS: 'drop' } });
  assert.equal(ok.stdout, 'config OK: config.yaml (2 tenants, 4 exporter prefixes, default topic rest, unknown exporters: drop)\n');
  assert.equal(ok.code, 0);
  writeFileSync(join(dir, 'kafka.yaml'), 'kafka:\n  idempotent: true\n');
  const bad = check(['--config', 'kafka.yaml', '--set', 'kafka.acks=1'], { cwd: dir, env: { FLOWGATE_WORKERS: '65' } });
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'invalid configuration:\n'
    + '  kafka.yaml:2 kafka.idempotent: true requires kafka.acks -1 (all in-sync replicas), got acks 1\n'
    + '  workers: expected an integer from 0 to 64, got 65 (from env FLOWGATE_WORKERS)\n');
});

test('a file that cannot be read exits 1 naming the file', (t) => {
  const dir = tempDir(t);
  const r = check(['--config', 'missing.yaml'], { cwd: dir });
  assert.deepEqual(r, { code: 1, stdout: '', stderr: 'invalid configuration:\n  missing.yaml: cannot read the file (ENOENT: no such file or directory)\n' });
});

test('an unknown option exits 1 with the usage', (t) => {
  const r = check(['--confg', 'x.yaml'], { cwd: tempDir(t) });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flowgate check: Unknown option '--confg'/);
  assert.match(r.stderr, /usage: flowgate check/);
});

test('--help prints the usage and exits 0', (t) => {
  const r = check(['--help'], { cwd: tempDir(t) });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^usage: flowgate check \[--config FILE\] \[--set path=value \.\.\.\]/);
});
