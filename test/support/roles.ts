// One host's scale-out roles for the loopback tests (test/scale/roles.test.ts, raw-fetch.test.ts):
// topic and group names of their own per test, a gateway config for role all, receive or decode
// against the test broker, a started gateway stopped after the test, and the capture they send.
import { join } from 'node:path';
import { GatewayProcess } from './gateway-process.js';
import { testBrokers } from './broker.js';
import { uniqueTopic } from './kafka-topics.js';
import { pcapsDir } from './corpus.js';
import { readDatagrams } from '../state/capture-split.js';

export interface RoleNames { tenant: string; raw: string; templates: string; group: string }

/** Fresh tenant, raw and template topics and a consumer group, named after `prefix`. */
export function roleNames(prefix: string): RoleNames {
  const id = uniqueTopic(prefix);
  return { tenant: `flows.${id}`, raw: `raw.${id}`, templates: `templates.${id}`, group: `decode.${id}` };
}

export interface RoleConfigOptions {
  workers?: number;
  compression?: string;
  queueMaxRecords?: number;
  ringSlots?: number;
}

/** A gateway in `role` on ephemeral loopback ports (a receiver listens on TCP too), the names' topics and group. */
export function roleConfigYaml(role: 'all' | 'receive' | 'decode', n: RoleNames, o: RoleConfigOptions = {}): string {
  return `role: ${role}
listen: { udp: ["127.0.0.1:0"]${role === 'receive' ? ', tcp: ["127.0.0.1:0"]' : ''} }
http: { listen: "127.0.0.1:0" }
workers: ${o.workers ?? 2}${o.ringSlots ? `\nring: { slots: ${o.ringSlots} }` : ''}
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5${o.compression ? `, compression: ${o.compression}` : ''}${o.queueMaxRecords ? `, queue_max_records: ${o.queueMaxRecords}` : ''} }
scale: { raw_topic: ${n.raw}, raw_partitions: 4, template_topic: ${n.templates}, group: ${n.group}, commit_interval_ms: 100 }
routing: { default_topic: ${n.tenant} }
stats: { log_interval_s: 0 }
`;
}

/** A gateway started with `yaml`, ready, disposed of after the test. */
export async function startGateway(t: { after(fn: () => unknown): void }, yaml: string): Promise<GatewayProcess> {
  const gw = new GatewayProcess(yaml);
  t.after(() => gw.dispose());
  await gw.ready();
  return gw;
}

/** softflowd_v10_mixed's datagrams, the capture the role tests send. */
export const roleCapture = () => readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
