#!/usr/bin/env node
// `npm test`: runs every test in dist/test with Node's runner. Exits with the runner's code.
import { spawnSync } from 'node:child_process';

const args = ['--test', '--test-reporter=spec', 'dist/test/'];
const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(run.status ?? 1);
