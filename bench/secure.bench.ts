// What TLS and SASL cost: the gateway (pipeline.bench's configuration, 1 worker, acks -1) against a
// broker of its own with a SASL_SSL listener (scripts/kafka-secure.js), through the plain listener
// and through SASL_SSL (SCRAM-SHA-512, TLS verified with the broker's CA), in the same run: the
// lossless rate (the same search) and the gateway's and the broker's CPU per record at one rate.
//
//   npm run build && node dist/bench/secure.bench.js [--rate 200000] [--seconds 5] [--port 19992]
import { parseArgs } from 'node:util';
import { startPrivateBroker } from '../test/support/broker.js';
import { measureVariant } from './lib/variant-step.js';
import { mergeResults } from './lib/results.js';
import { int } from './lib/table.js';

const { values: opts } = parseArgs({ options: {
  rate: { type: 'string', default: '200000' }, seconds: { type: 'string', default: '5' }, port: { type: 'string', default: '19992' },
} });
const log = (m: string) => process.stderr.write(`${m}\n`);
const port = Number(opts.port);
const broker = await startPrivateBroker({ port, controllerPort: port + 1, secure: true });
const secure = broker.secure!;
const modes = {
  plain: { brokers: broker.bootstrap, kafkaYaml: '' },
  sasl_ssl: { brokers: secure.bootstrap, kafkaYaml: `  ssl: { ca_file: "${secure.caFile}" }\n  sasl: { mechanism: scram-sha-512, username: ${secure.username}, password: "${secure.password}" }\n` },
};
const results: Record<string, unknown> = {};
const rows: string[] = [];
try {
  for (const [mode, m] of Object.entries(modes)) {
    const { lossless, usPerRecord } = await measureVariant(mode, { brokers: m.brokers, kafkaYaml: m.kafkaYaml, sink: 'kafka', workers: 1, recordsPerMessage: 1 },
      { rate: Number(opts.rate), seconds: Number(opts.seconds), adminBrokers: broker.bootstrap, log });
    results[`secure_${mode}`] = { lossless, gateway_us_per_record: usPerRecord, rate: Number(opts.rate) };
    rows.push(`| ${mode} | ${int(lossless)} | ${usPerRecord.toFixed(2)} |`);
  }
} finally {
  await broker.dispose();
}
console.log(`| listener | gateway lossless records/s | gateway CPU µs per record at ${int(Number(opts.rate))}/s |`);
console.log('|:--|--:|--:|');
for (const r of rows) console.log(r);
mergeResults(results);
console.log('reproduce: npm run build && node dist/bench/secure.bench.js');
