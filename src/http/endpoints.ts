// The HTTP side of the gateway on one uWS server (http.listen): Prometheus metrics, health,
// readiness, the exporter and template APIs, and the live tap with its page.
import { readFileSync } from 'node:fs';
import { HttpServer, type Request, type Response } from './server.js';
import { authLimits, tokenMatches, TokenGate } from './auth.js';
import { splitHostPort } from '../config/addresses.js';
import { Metrics } from '../metrics.js';
import { mountTap } from '../tap/hub.js';
import type { Gateway } from '../gateway.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { projectPath } from '../paths.js';
import { Admission } from '../udp/admission.js';

export interface HttpEndpoint {
  readonly port: number;
  readonly metrics: Metrics;
  reload(config: Config): void;
  close(): void;
}

/** Extra routes mounted on the same server (the live tap). */
export interface Mount {
  reload?(config: Config): void;
  close?(): void;
}

const version = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;

const json = (status: number, body: unknown): Response => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) + '\n' });
const text = (status: number, body: string): Response => ({ status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });

/** What a mount is given: the server, the metrics, and the token gate the APIs use too. */
export type MountFn = (server: HttpServer, metrics: Metrics, gate: TokenGate) => Mount;

/** The live tap and its page, counted in the metrics. */
const tapMount = (gateway: Gateway, log: Logger): MountFn => (server, metrics, gate) => {
  const hub = mountTap(server, { source: gateway.pool, config: gateway.config, log, gate });
  metrics.setTap(hub);
  return hub;
};

export async function startHttp(gateway: Gateway, log: Logger, mounts: MountFn[] = [tapMount(gateway, log)]): Promise<HttpEndpoint> {
  let config = gateway.config;
  const server = new HttpServer(log, { maxBodyBytes: config.http.max_body_bytes });
  const metrics = new Metrics(gateway, version);
  const gate = new TokenGate(authLimits(config.http), log);
  metrics.setHttp({ authFailures: () => gate.failures(), refused: () => server.refused(), authClients: () => gate.limiter.size, authEvictions: () => gate.limiter.evictions });
  /** /metrics and /api/* need the admin token when http.protect_api is on. */
  const guard = (handler: (req: Request) => Promise<Response> | Response) => async (req: Request): Promise<Response> => {
    if (config.http.protect_api) {
      const checked = gate.check(req, (token) => tokenMatches(token, config.http.admin_token) || undefined, text(401, 'a valid admin token is required\n'));
      if (!checked.ok) return checked.response;
    }
    return handler(req);
  };

  server.get('/healthz', () => text(200, 'ok\n'));
  server.get('/readyz', async () => {
    const reports = await gateway.pool.reports(500);
    const problems: string[] = [];
    if (!gateway.pool.allRunning()) problems.push('a decoder worker is not running');
    if (reports.length < gateway.pool.size) problems.push('a decoder worker did not answer');
    for (const r of reports) if (!r.kafkaConnected) problems.push(`worker ${r.worker}: not connected to Kafka${r.kafkaConnectError ? `: ${r.kafkaConnectError}` : ''}`);
    const { consumer, templates } = gateway.scale;
    if (consumer && !consumer.joined) problems.push('not a member of the consumer group yet');
    if (templates && templates.counters.catchUps === 0) problems.push('template topic not read yet');
    return problems.length ? json(503, { ready: false, problems }) : json(200, { ready: true });
  });
  server.get('/metrics', guard(async () => ({ status: 200, headers: { 'content-type': metrics.registry.contentType }, body: await metrics.render() })));
  server.get('/api/exporters', guard(async () => {
    const described = (await gateway.pool.describe()).exporters;
    described.sort((a, b) => a.exporter.localeCompare(b.exporter) || a.port - b.port || a.domain - b.domain);
    // Protected: never evicted for another exporter's room (a tenant's or on admission.allow), as the configuration says now.
    const admission = Admission.of(gateway.config);
    const exporters = described.map((e) => ({ ...e, protected: admission.protects(e.exporter) }));
    // Role decode: the raw partition each exporter's datagrams come from.
    const consumer = gateway.scale.consumer;
    if (consumer) {
      const partitionOf = new Map<string, number>();
      for (const [p, set] of consumer.exportersByPartition) for (const e of set) partitionOf.set(e, p);
      return json(200, { exporters: exporters.map((e) => ({ ...e, raw_partition: partitionOf.get(e.exporter) ?? null })), partitions: consumer.assigned });
    }
    return json(200, { exporters });
  }));
  server.get('/api/templates', guard(async () => {
    const { templates } = await gateway.pool.describe();
    // Grouped per exporter session and domain, as the operator looks for them.
    const groups = new Map<string, { exporter: string; port: number; domain: number; templates: unknown[] }>();
    for (const t of templates) {
      const key = `${t.exporter}|${t.port}|${t.domain}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { exporter: t.exporter, port: t.port, domain: t.domain, templates: [] }));
      g.templates.push({ id: t.id, kind: t.kind, scope_fields: t.scope_fields, fields: t.fields, age_s: t.age_s });
    }
    return json(200, { sessions: [...groups.values()] });
  }));
  server.get('/api/scale', guard(() => {
    const { role, instanceId, consumer, templates } = gateway.scale;
    return json(200, {
      role, instance: instanceId, raw_topic: role === 'all' ? null : config.scale.raw_topic, template_topic: config.scale.template_topic || null,
      group: role === 'decode' ? config.scale.group : null,
      consumer: consumer ? {
        joined: consumer.joined, in_flight: consumer.inFlight, ...consumer.counters,
        partitions: consumer.assigned.map((p) => ({ partition: p, lag: consumer.lag.get(p) ?? null, exporters: [...(consumer.exportersByPartition.get(p) ?? [])].sort() })),
      } : null,
      templates: templates ? { ...templates.counters, keys: templates.keys } : null,
    });
  }));
  server.get('/api/spool', guard(async () => {
    // Records from the accounting (exact); files and ages from the workers' reports.
    const reports = (await gateway.pool.reports(1_000)).sort((a, b) => a.worker - b.worker);
    const records = gateway.accounting().records;
    const now = Date.now();
    const workers = reports.map((r) => r.spool === null ? { worker: r.worker, enabled: false } : {
      worker: r.worker, enabled: true, bytes: r.spool.bytes, records: r.spool.records,
      oldest_record_age_s: r.spool.oldestReceivedAt === undefined ? null : Math.max(0, (now - r.spool.oldestReceivedAt) / 1000),
      written_records: r.spool.written, replayed_records: r.spool.replayed, corrupt_entries: r.spool.corruptEntries,
    });
    return json(200, {
      enabled: config.spool.dir !== '', dir: config.spool.dir, max_bytes: config.spool.max_bytes,
      records: records.spooled, recovered_records: records.recovered,
      bytes: reports.reduce((n, r) => n + (r.spool?.bytes ?? 0), 0), workers,
    });
  }));
  const mounted = mounts.map((m) => m(server, metrics, gate));

  const { host, port } = splitHostPort(config.http.listen, false);
  const bound = await server.listen(host, port);
  log.info('http listening', { address: host, port: bound, metrics: '/metrics', tap: '/tap' });
  if (!config.http.admin_token && !config.routing.tenants.some((t) => t.tap_token)) {
    log.warn('no tap or admin token configured: the live tap shows every record to anyone who can reach the http port');
  }
  return {
    port: bound,
    metrics,
    reload(next: Config) {
      config = next;
      server.configure({ maxBodyBytes: next.http.max_body_bytes });
      gate.limiter.configure(authLimits(next.http));
      for (const m of mounted) m.reload?.(next);
    },
    close() {
      for (const m of mounted) m.close?.();
      server.close();
    },
  };
}
