// Consumers that share no code with FlowGate or kafkajs, to read back what FlowGate produced:
// Kafka's console consumer (its Java client: lz4-java and zstd-jni decompress) and kcat
// (librdkafka, C). Each returns the record values, in partition order.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureToolsJars, javaBin } from './kafka-tools.js';
import { repoRoot } from './paths.js';

function collect(command: string, args: string[], what: string): Promise<string[]> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stdout.split('\n').filter((l) => l !== '')) : reject(new Error(`${what} exited ${code}: ${stderr.trim().slice(-1500)}`))));
  });
}

/**
 * `count` values of `topic` read by Kafka's console consumer (org.apache.kafka.tools.consumer.ConsoleConsumer,
 * what kafka-console-consumer.sh runs; the Java client decompresses with lz4-java, zstd-jni, snappy-java);
 * fails when fewer arrive within 30 s.
 */
export async function readWithConsoleConsumer(brokers: string[], topic: string, count: number): Promise<string[]> {
  const libDir = ensureToolsJars();
  return collect(javaBin(), ['-Xmx256m', '-XX:TieredStopAtLevel=1',
    `-Dlog4j2.configurationFile=${join(repoRoot, 'tools', 'kafka', 'log4j2.properties')}`, '-Dflowgate.kafka.log.level=WARN',
    '-cp', join(libDir, '*'), 'org.apache.kafka.tools.consumer.ConsoleConsumer', '--bootstrap-server', brokers.join(','), '--topic', topic,
    '--from-beginning', '--max-messages', String(count), '--timeout-ms', '30000', '--group', `flowgate-test-${process.pid}-${Date.now()}`], 'the console consumer');
}

/** Why kcat cannot run here, or undefined. */
export function kcatSkipReason(): string | undefined {
  return spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0 ? undefined : 'no kcat (apt-get install kcat; .ci/run does)';
}

/** `count` values of `topic` read by kcat from the beginning (exits at the end of every partition). */
export function readWithKcat(brokers: string[], topic: string, count: number): Promise<string[]> {
  return collect('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-c', String(count), '-e', '-q', '-f', '%s\\n'], 'kcat');
}
