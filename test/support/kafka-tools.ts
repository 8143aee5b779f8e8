// Kafka's own command-line tools (org.apache.kafka:kafka-tools: the console consumer, ProducerPerformance)
// from the same Maven Central release as the broker, for the tests' independent consumers and the
// baseline benchmarks.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';

export function kafkaVersion(): string {
  return process.env.KAFKA_VERSION ?? '4.3.1';
}

export function javaBin(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * Classpath dir of org.apache.kafka:kafka-tools:<version> and its runtime deps, from Maven Central via
 * tools/kafka/pom-tools.xml, fetched once into .kafka/tools-lib-<version>/ (git-ignored, like the broker's
 * .kafka/lib-<version>/). mvn runs offline first, so a filled ~/.m2 needs no network.
 */
export function ensureToolsJars(version = kafkaVersion(), log: (m: string) => void = (m) => console.error(m)): string {
  const root = repoRoot;
  const kdir = path.resolve(process.env.KAFKA_DIR ?? path.join(root, '.kafka'));
  const libDir = path.resolve(process.env.KAFKA_TOOLS_LIB_DIR ?? path.join(kdir, `tools-lib-${version}`));
  if (fs.existsSync(path.join(libDir, '.complete'))) return libDir;
  fs.mkdirSync(path.join(kdir, 'logs'), { recursive: true });
  const tmp = `${libDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const args = [
    '-q', '-B', ...(process.env.KAFKA_MVN_ARGS ?? '').split(/\s+/).filter(Boolean),
    '-f', path.join(root, 'tools', 'kafka', 'pom-tools.xml'),
    `-Dkafka.version=${version}`,
    ...(process.env.KAFKA_LOG4J2_VERSION ? [`-Dlog4j2.version=${process.env.KAFKA_LOG4J2_VERSION}`] : []),
    'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`,
  ];
  const mvnLog = path.join(kdir, 'logs', 'mvn-tools.log');
  log(`fetching org.apache.kafka:kafka-tools:${version} and its runtime deps into ${libDir} (one time)`);
  const runMvn = (a: string[]) => {
    const r = spawnSync('mvn', a, { encoding: 'utf8', maxBuffer: 64 << 20 });
    fs.appendFileSync(mvnLog, `$ mvn ${a.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}\n`);
    if (r.error) throw new Error(`cannot run mvn: ${r.error.message}`);
    return r.status === 0;
  };
  if (!runMvn(['-o', ...args]) && !runMvn(args)) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`mvn could not fetch kafka-tools ${version}; see ${mvnLog}`);
  }
  if (!fs.readdirSync(tmp).some((f) => f.startsWith(`kafka-tools-${version}`))) {
    throw new Error(`mvn finished but ${tmp} has no kafka-tools-${version} jar; see ${mvnLog}`);
  }
  fs.writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.renameSync(tmp, libDir);
  return libDir;
}
