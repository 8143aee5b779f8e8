// A real gateway (in-process, real broker, real UDP) with the live tap mounted on its own HTTP
// server, tap clients over the ws package, and captures replayed without blocking the event
// loop (the receiver and the tap run on this thread).
import WebSocket from 'ws';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { HttpServer } from '../../src/http/server.js';
import { mountTap, type TapHub } from '../../src/tap/hub.js';
import type { TapBatch, TapSpec } from '../../src/tap/forwarder.js';
import { testBrokers } from '../support/broker.js';
import { readTopic, topicCounts, uniqueTopic } from '../support/kafka-topics.js';
import { replayAsync, type ReplayOptions } from '../support/corpus.js';
import { recordingLogger, type LogEvent } from '../support/log-events.js';
import { waitUntil } from '../support/wait.js';

export const tokens = { admin: 'admin-7f3c9a', acme: 'acme-tap-51e2', globex: 'globex-tap-9d04' } as const;
/** Exporters of multi_exporter.pcap: 127.0.0.21 to .25. */
export const owners = { acme: ['127.0.0.21', '127.0.0.22'], globex: ['127.0.0.23'] } as const;

export interface TapSetup {
  gateway: Gateway;
  hub: TapHub;
  server: HttpServer;
  http: number;
  udp: number;
  topics: { acme: string; globex: string; other: string };
  /** Every spec the hub gave the workers, in order. */
  specs: (TapSpec | null)[];
  /** Batches the workers posted, with their records. */
  batches: TapBatch[];
  /** Every log record of the gateway and the tap, parsed. */
  events: LogEvent[];
  configYaml(opts?: { withTokens?: boolean; acmeToken?: string }): string;
  /** Every message delivered to Kafka so far (all three topics), once `total` are delivered. */
  kafkaRecords(total: number): Promise<{ topic: string; value: string }[]>;
}

export async function startTapGateway(t: { after(fn: () => unknown): void }, opts: { withTokens?: boolean } = {}): Promise<TapSetup> {
  const topics = { acme: uniqueTopic('flows.acme'), globex: uniqueTopic('flows.globex'), other: uniqueTopic('ipfix') };
  const configYaml = (o: { withTokens?: boolean; acmeToken?: string } = opts): string => `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0", admin_token: "${o.withTokens ? tokens.admin : ''}" }
workers: 2
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing:
  default_topic: ${topics.other}
  tenants:
    - { name: acme, topic: ${topics.acme}, exporters: ${JSON.stringify(owners.acme)}, tap_token: "${o.withTokens ? (o.acmeToken ?? tokens.acme) : ''}" }
    - { name: globex, topic: ${topics.globex}, exporters: ${JSON.stringify(owners.globex)}, tap_token: "${o.withTokens ? tokens.globex : ''}" }
stats: { log_interval_s: 0 }
`;
  const { log, events } = recordingLogger('info');
  const gateway = await startGateway(parseConfig(configYaml()), log);
  const specs: (TapSpec | null)[] = [];
  const setTap = gateway.pool.setTap.bind(gateway.pool);
  gateway.pool.setTap = (spec) => {
    specs.push(spec);
    setTap(spec);
  };
  const server = new HttpServer(log);
  // Subscribed before the hub, so a batch is recorded before the hub dispatches it.
  const batches: TapBatch[] = [];
  gateway.pool.subscribeTap((batch) => batches.push(batch));
  const hub = mountTap(server, { source: gateway.pool, config: gateway.config, log });
  const http = await server.listen('127.0.0.1', 0);
  t.after(async () => {
    hub.close();
    server.close();
    await gateway.stop();
  });
  const brokers = testBrokers();
  return {
    gateway, hub, server, http, udp: gateway.addresses[0]!.port, topics, specs, batches, events, configYaml,
    async kafkaRecords(total) {
      await waitUntil(`${total} records delivered to Kafka`, () => gateway.accounting().records.delivered >= total, { timeoutMs: 30_000 });
      const names = Object.values(topics);
      const counts = await topicCounts(brokers, names);
      const out: { topic: string; value: string }[] = [];
      for (const topic of names) {
        if (counts[topic] === 0) continue;
        for (const m of await readTopic(brokers, topic, counts[topic]!)) out.push({ topic, value: m.value });
      }
      return out;
    },
  };
}

/** Replays a corpus capture from its original exporter addresses; resolves when it is sent. */
export const replay = (capture: string, port: number, o: ReplayOptions = {}): Promise<void> =>
  replayAsync(capture, `127.0.0.1:${port}`, { bindOriginal: true, ...o });

/** A window in which nothing more may arrive (the negative checks: no batch, no extra record). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Control {
  type: string;
  [key: string]: unknown;
}

/** One tap connection: records (the raw JSON lines) and control messages, as they arrive. */
export class TapClient {
  readonly ws: WebSocket;
  readonly records: string[] = [];
  readonly controls: Control[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data: WebSocket.RawData) => {
      for (const line of data.toString().split('\n')) {
        if (!line) continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        if ('type' in obj) this.controls.push(obj as Control);
        else this.records.push(line);
      }
    });
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<TapClient> {
    const c = new TapClient(url, headers);
    await c.opened;
    await waitUntil('hello', () => c.controls.some((m) => m.type === 'hello'), { timeoutMs: 5_000 });
    return c;
  }

  hello(): Control {
    return this.controls.find((m) => m.type === 'hello')!;
  }

  /** Sends a filter (object or raw text) and resolves with the answer: a filter or error message. */
  async filter(filter: unknown): Promise<Control> {
    const seen = this.controls.length;
    this.ws.send(typeof filter === 'string' ? filter : JSON.stringify(filter));
    return waitUntil('filter answer', () => this.controls.slice(seen).find((m) => m.type === 'filter' || m.type === 'error'), { timeoutMs: 5_000 });
  }

  parsed(): Record<string, unknown>[] {
    return this.records.map((r) => JSON.parse(r) as Record<string, unknown>);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The HTTP status an upgrade is refused with (0 when it was accepted). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? -1);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Sorted copy, to compare multisets of records. */
export const sorted = (values: string[]): string[] => [...values].sort();
