// Golden cases: test/config/cases/<name>/config.yaml is parsed (no environment, no flags) and
// the outcome compared with expected.txt beside it: the ConfigError message, or "valid".
// UPDATE_GOLDEN=1 rewrites expected.txt from the current output; review the diff before committing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { repoRoot } from '../support/paths.js';

const casesDir = join(repoRoot, 'test', 'config', 'cases');

function outcome(text: string): string {
  try {
    parseConfig(text, { source: 'config.yaml', env: {} });
    return 'valid\n';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return `${err.message}\n`;
  }
}

for (const name of readdirSync(casesDir).sort()) {
  const dir = join(casesDir, name);
  test(`golden case ${name}: the configuration gives exactly the problems in expected.txt`, () => {
    const actual = outcome(readFileSync(join(dir, 'config.yaml'), 'utf8'));
    const expectedFile = join(dir, 'expected.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, actual);
    assert.ok(existsSync(expectedFile), `${expectedFile} is missing (run with UPDATE_GOLDEN=1 to write it)`);
    assert.equal(actual, readFileSync(expectedFile, 'utf8'));
  });
}
