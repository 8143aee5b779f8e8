// The Kafka broker the suite measures against: the one already answering on 127.0.0.1:<port>
// (whoever started it: another worktree's .kafka, or a CI job), else the project's own one,
// started with scripts/kafka.js and stopped again only if this process started it.
import { projectPath } from '../../src/paths.js';

interface KafkaScript {
  probeKafka(port?: number, timeoutMs?: number): Promise<unknown>;
  startKafka(o?: object): Promise<{ bootstrap: string; alreadyRunning: boolean }>;
  stopKafka(o?: object): Promise<unknown>;
}

export interface Broker {
  bootstrap: string;
  /** True when this process started it (and release() stops it). */
  started: boolean;
  release(): Promise<void>;
}

const script = projectPath('scripts', 'kafka.js');

export async function ensureBroker(port = Number(process.env.KAFKA_PORT ?? 9092), log: (m: string) => void = () => undefined): Promise<Broker> {
  const kafka = (await import(script)) as KafkaScript;
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
