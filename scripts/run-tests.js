#!/usr/bin/env node
// `npm test`: starts the project's Kafka broker (scripts/kafka.js) for the integration tests,
// runs every test in dist/test with Node's runner, and stops the broker it started, by pid,
// whatever the outcome. Exits with the runner's code.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka, stopKafka } from './kafka.js';

/** *.test.js below dir: Node 20 given a directory would also run helper modules as tests. */
function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : []);
}

let started = false;
let code = 1;
try {
  const kafka = await startKafka();
  started = !kafka.alreadyRunning;
  process.stderr.write(`run-tests: Kafka ${kafka.version} at ${kafka.bootstrap}${kafka.alreadyRunning ? ' (already running, left running)' : ''}\n`);
  const runner = spawn(process.execPath, ['--test', '--test-reporter=spec', ...testFiles('dist/test').sort()], {
    stdio: 'inherit',
    env: { ...process.env, TEST_KAFKA_BROKERS: kafka.bootstrap },
  });
  const stop = (signal) => runner.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  code = await new Promise((resolve) => runner.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} catch (err) {
  process.stderr.write(`run-tests: ${err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  if (started) await stopKafka().catch((err) => process.stderr.write(`run-tests: stopping Kafka: ${err.message}\n`));
}
process.exit(code);
