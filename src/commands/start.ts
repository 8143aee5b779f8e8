// `npm start` / `flowgate start`: the newcomer's way in. Like `serve`, but when the configured
// brokers are on this machine and not answering, it first starts the project's own Kafka
// (scripts/kafka.js), and stops it again on exit. Then it says where to send IPFIX.
import { createConnection } from 'node:net';
import { argsAndConfig, serveUntilSignal } from './serve.js';
import { createLogger, type LogLevel } from '../log.js';
import { splitHostPort } from '../config/addresses.js';
import { pathToFileURL } from 'node:url';
import { projectPath } from '../paths.js';

const localHosts = new Set(['127.0.0.1', 'localhost', '::1']);

function brokerAnswers(broker: string): Promise<boolean> {
  const { host, port } = splitHostPort(broker, true);
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1_000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

interface LocalKafka {
  startKafka(opts?: { port?: number }): Promise<{ bootstrap: string; alreadyRunning: boolean }>;
  stopKafka(): Promise<unknown>;
}

async function localKafka(): Promise<LocalKafka> {
  // scripts/kafka.js is plain JS beside dist/; resolved from the repo root at run time.
  return (await import(pathToFileURL(projectPath('scripts', 'kafka.js')).href)) as LocalKafka;
}

export async function runStart(argv: string[]): Promise<number> {
  const loaded = await argsAndConfig('start', argv);
  if (typeof loaded === 'number') return loaded;
  const { args, config } = loaded;
  const log = createLogger(config.log.level as LogLevel);
  let started: LocalKafka | undefined;
  const brokers = config.kafka.brokers;
  const allLocal = brokers.every((b) => localHosts.has(splitHostPort(b, true).host));
  if (allLocal && !(await Promise.all(brokers.map(brokerAnswers))).some(Boolean)) {
    const { port } = splitHostPort(brokers[0]!, true);
    log.info('no Kafka answering on this machine: starting the project broker (first start downloads its jars)', { port });
    const kafka = await localKafka();
    try {
      const r = await kafka.startKafka({ port });
      if (!r.alreadyRunning) started = kafka;
    } catch (err) {
      log.error('could not start the local Kafka broker', { error: (err as Error).message });
      return 1;
    }
  }
  const code = await serveUntilSignal(args, config, log, (gateway, http) => {
    const text = (a: { family: string; address: string; port: number }) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
    const udp = gateway.addresses.map(text).join(', ');
    const tcp = gateway.tcpAddresses.map(text).join(', ');
    const topics = [...config.routing.tenants.map((t) => `${t.topic} (tenant ${t.name})`),
      `${config.routing.default_topic} (exporters no tenant owns${config.routing.unknown_exporters === 'drop' ? ': dropped by policy' : ''})`];
    process.stdout.write(`\nFlowGate is running.\n  send IPFIX / NetFlow v9 / v5 to UDP ${udp}\n${tcp ? `  send IPFIX over TCP to ${tcp}\n` : ''}  records go to Kafka ${brokers.join(', ')} on topics:\n    ${topics.join('\n    ')}\n  metrics http://127.0.0.1:${http.port}/metrics, live tap http://127.0.0.1:${http.port}/\n  stop with Ctrl-C\n\n`);
  });
  if (started) await started.stopKafka().catch(() => undefined);
  return code;
}
