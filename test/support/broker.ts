// The Kafka broker tests and benchmarks run against: the one the test runner names
// (TEST_KAFKA_BROKERS, set by scripts/run-tests.js), the one already answering on the local port
// (benchmarks), or a private one a test starts and stops itself (scripts/kafka.js).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { kafkaScript } from './paths.js';

interface KafkaScript {
  kafkaConfig(o?: object): { libDir: string; java: string };
  probeKafka(port?: number, timeoutMs?: number): Promise<unknown>;
  startKafka(o?: object): Promise<{ bootstrap: string; alreadyRunning: boolean; secure: SecureListener | null }>;
  stopKafka(o?: object): Promise<unknown>;
}

export const loadKafkaScript = async (): Promise<KafkaScript> => (await import(pathToFileURL(kafkaScript).href)) as KafkaScript;

/** The broker the test runner started (scripts/run-tests.js), or a clear failure. */
export function testBrokers(): string[] {
  const b = process.env.TEST_KAFKA_BROKERS;
  if (!b) throw new Error('TEST_KAFKA_BROKERS is not set: run integration tests with `npm test`, which starts the local Kafka broker');
  return b.split(',');
}

export interface Broker {
  bootstrap: string;
  /** True when this process started it (and release() stops it). */
  started: boolean;
  release(): Promise<void>;
}

/**
 * The broker answering on 127.0.0.1:<port> (whoever started it: another worktree's .kafka, a CI
 * job), else the project's own one, started with scripts/kafka.js and stopped again by release()
 * only if this process started it.
 */
export async function ensureBroker(port = Number(process.env.KAFKA_PORT ?? 9092), log: (m: string) => void = () => undefined): Promise<Broker> {
  const kafka = await loadKafkaScript();
  // A broker from another directory answers too: startKafka() would refuse its port as taken.
  const answering = await kafka.probeKafka(port, 3000).then(() => true, () => false);
  if (answering) return { bootstrap: `127.0.0.1:${port}`, started: false, release: async () => undefined };
  log(`no broker on 127.0.0.1:${port}: starting the project's (scripts/kafka.js)`);
  const b = await kafka.startKafka({ log });
  const started = !b.alreadyRunning;
  return {
    bootstrap: b.bootstrap,
    started,
    release: async () => {
      if (started) await kafka.stopKafka({ log });
    },
  };
}

/** The SASL_SSL listener of a broker started with `secure` (scripts/kafka-secure.js). */
export interface SecureListener {
  bootstrap: string;
  caFile: string;
  username: string;
  password: string;
  /** The SSL listener that requires a client certificate, and one signed by the CA. */
  mtls: { bootstrap: string; certFile: string; keyFile: string };
}

export interface PrivateBroker {
  bootstrap: string;
  /** With `secure`: the SASL_SSL listener (ACLs on; the plain listener's clients are super users). */
  secure: SecureListener | null;
  /** Starts it again (same data directory: topics and records are kept). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it if it runs and removes its data directory. */
  dispose(): Promise<void>;
}

export interface PrivateBrokerOptions {
  port: number;
  controllerPort: number;
  /**
   * The address its client listener binds and advertises (default 127.0.0.1): e.g. a network
   * namespace lab's bridgeAddress, so that processes in the lab's namespaces reach it too.
   */
  host?: string;
  /** Also a SASL_SSL listener on port + 2, with ACLs (scripts/kafka-secure.js). */
  secure?: boolean;
}

/**
 * A broker of the caller's own, in a temporary directory, on its own ports: a test may stop it
 * mid-stream without disturbing the shared one. Its bootstrap is `${host}:${port}`.
 */
export async function startPrivateBroker(o: PrivateBrokerOptions): Promise<PrivateBroker> {
  const kafka = await loadKafkaScript();
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-kafka-'));
  // The jars of the project's broker (KAFKA_DIR, KAFKA_LIB_DIR, KAFKA_VERSION as it reads them), not a download of its own.
  const opts = { dir, port: o.port, controllerPort: o.controllerPort, host: o.host, secure: o.secure, libDir: kafka.kafkaConfig().libDir, log: () => undefined };
  const { bootstrap, secure } = await kafka.startKafka(opts);
  return {
    bootstrap,
    secure,
    start: async () => void (await kafka.startKafka(opts)),
    stop: async () => void (await kafka.stopKafka(opts)),
    dispose: async () => {
      await kafka.stopKafka(opts).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
