// Rules that span keys, checked on the merged document (file + environment + --set) beside the
// schema rather than after it, so they are reported together with every other problem. A rule
// only looks at values that are valid on their own; the schema reports the others.
import { parseEndpoint, parseIPv6, formatIPv6, formatPrefix, parsePrefix } from './addresses.js';
import { defaultConfig, tenantNamePattern } from './schema.js';
import type { Path, Problem } from './problems.js';
import { LZ4_MAX_RECORDS_BYTES } from '../kafka/protocol/compression.js';
import { dictionaryProblems } from '../decoder/elements/load.js';

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function at(data: unknown, path: Path): unknown {
  let v = data;
  for (const segment of path) {
    if (typeof segment === 'number' ? !Array.isArray(v) : !isMapping(v)) return undefined;
    v = (v as Record<string | number, unknown>)[segment];
  }
  return v;
}

/** The value at `path`, or its default when the document leaves it out. */
function effective(data: unknown, path: Path): unknown {
  const v = at(data, path);
  return v === undefined ? at(defaultConfig, path) : v;
}

function kafkaRules(data: unknown, problems: Problem[]): void {
  // A datagram's records in one message are NDJSON lines; FlowMessages are one per message, as goflow2 writes them.
  if (effective(data, ['kafka', 'format']) === 'protobuf' && effective(data, ['kafka', 'records_per_message']) === 'datagram') {
    problems.push({ path: ['kafka', 'records_per_message'], message: '"datagram" needs kafka.format json (with protobuf each record is one message, as goflow2 writes them)' });
  }
  // Output by name writes JSON only: a FlowMessage has no field for an element it does not define.
  const fields = effective(data, ['decoder', 'fields']);
  const allFields = fields === 'all' || (Array.isArray(fields) && fields.length === 1 && fields[0] === 'all');
  if (allFields && effective(data, ['kafka', 'format']) === 'protobuf') {
    problems.push({ path: ['decoder', 'fields'], message: '"all" needs kafka.format json (a FlowMessage has no field for the elements it does not define)' });
  }
  // lz4 batches must be one LZ4 block for Kafka's readers (protocol/compression.ts says why).
  const batchBytes = effective(data, ['kafka', 'batch_max_bytes']);
  if (effective(data, ['kafka', 'compression']) === 'lz4' && typeof batchBytes === 'number' && batchBytes > LZ4_MAX_RECORDS_BYTES) {
    problems.push({ path: ['kafka', 'batch_max_bytes'], message: `at most ${LZ4_MAX_RECORDS_BYTES} (4 MiB) with kafka.compression lz4, got ${batchBytes}` });
  }
  const idempotent = effective(data, ['kafka', 'idempotent']);
  const acks = effective(data, ['kafka', 'acks']);
  if (idempotent === true && (acks === 0 || acks === 1)) {
    if (at(data, ['kafka', 'idempotent']) === true) {
      problems.push({ path: ['kafka', 'idempotent'], message: `true requires kafka.acks -1 (all in-sync replicas), got acks ${acks}` });
    } else {
      problems.push({ path: ['kafka', 'acks'], message: `${acks} requires kafka.idempotent: false (idempotent delivery is on by default and needs acks -1)` });
    }
  }
  // Idempotence exists to make resending safe; retries 0 would read as "never resend", which the
  // producer does not do (a batch the broker did not take is always sent again): refuse the pair.
  const retries = effective(data, ['kafka', 'retries']);
  if (idempotent === true && retries === 0) {
    problems.push({ path: ['kafka', 'retries'], message: '0 requires kafka.idempotent: false (an idempotent producer needs retries)' });
  }
  const ssl = at(data, ['kafka', 'ssl']);
  if (isMapping(ssl)) {
    const cert = typeof ssl.cert_file === 'string', key = typeof ssl.key_file === 'string';
    if (cert && !key) problems.push({ path: ['kafka', 'ssl', 'cert_file'], message: 'needs kafka.ssl.key_file too (a client certificate comes with its key)' });
    if (key && !cert) problems.push({ path: ['kafka', 'ssl', 'key_file'], message: 'needs kafka.ssl.cert_file too (a client key comes with its certificate)' });
  }
}

function decoderRules(data: unknown, problems: Problem[]): void {
  // A dictionary that is missing or malformed is a config problem naming the file and the entry.
  const dictionaries = at(data, ['decoder', 'dictionaries']);
  if (Array.isArray(dictionaries)) {
    dictionaries.forEach((file, i) => {
      if (typeof file !== 'string' || file === '') return;
      for (const message of dictionaryProblems([file])) problems.push({ path: ['decoder', 'dictionaries', i], message });
    });
  }
  const total = effective(data, ['decoder', 'held_max_bytes']);
  const perTemplate = effective(data, ['decoder', 'held_per_template_bytes']);
  if (Number.isInteger(total) && Number.isInteger(perTemplate) && (perTemplate as number) > (total as number)) {
    if (at(data, ['decoder', 'held_per_template_bytes']) === undefined) {
      problems.push({ path: ['decoder', 'held_max_bytes'], message: `${total} is less than decoder.held_per_template_bytes (${perTemplate} by default)` });
    } else {
      problems.push({ path: ['decoder', 'held_per_template_bytes'], message: `${perTemplate} is more than decoder.held_max_bytes (${total})` });
    }
  }
}

function listenRules(data: unknown, problems: Problem[]): void {
  const udp = at(data, ['listen', 'udp']);
  if (!Array.isArray(udp)) return;
  const seen = new Map<string, number>();
  udp.forEach((text, i) => {
    if (typeof text !== 'string') return;
    const e = parseEndpoint(text, false);
    // Port 0 asks for any free port: two of them are two sockets.
    if (typeof e === 'string' || e.port === 0) return;
    const v6 = parseIPv6(e.host);
    const key = `${v6 ? formatIPv6(v6) : e.host}|${e.port}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else problems.push({ path: ['listen', 'udp', i], message: `${JSON.stringify(text)} is listed twice (also listen.udp[${first}])` });
  });
}

function tenantRules(data: unknown, problems: Problem[]): void {
  const tenants = at(data, ['routing', 'tenants']);
  if (!Array.isArray(tenants)) return;
  const names = new Map<string, number>();
  const prefixes = new Map<string, { tenant: number; index: number }>();
  const label = (i: number): string => {
    const name = at(tenants, [i, 'name']);
    return typeof name === 'string' && tenantNamePattern.test(name) ? `tenant ${JSON.stringify(name)}` : `routing.tenants[${i}]`;
  };
  // A tap token names one tenant: shared with another tenant or the admin, it would show one
  // tenant's records to another. The message never repeats the token itself.
  const tokens = new Map<string, number>();
  const admin = at(data, ['http', 'admin_token']);
  tenants.forEach((t, i) => {
    if (!isMapping(t) || typeof t.tap_token !== 'string' || t.tap_token === '') return;
    if (t.tap_token === admin) {
      problems.push({ path: ['routing', 'tenants', i, 'tap_token'], message: 'is the same as http.admin_token; a tenant token must be its own' });
    }
    const first = tokens.get(t.tap_token);
    if (first === undefined) tokens.set(t.tap_token, i);
    else problems.push({ path: ['routing', 'tenants', i, 'tap_token'], message: `is the same as the tap_token of ${label(first)}; each tenant needs its own` });
  });
  tenants.forEach((t, i) => {
    if (!isMapping(t)) return;
    if (typeof t.name === 'string' && tenantNamePattern.test(t.name)) {
      const first = names.get(t.name);
      if (first === undefined) names.set(t.name, i);
      else problems.push({ path: ['routing', 'tenants', i, 'name'], message: `${JSON.stringify(t.name)} is already the name of routing.tenants[${first}]` });
    }
    if (!Array.isArray(t.exporters)) return;
    t.exporters.forEach((text, j) => {
      if (typeof text !== 'string') return;
      const p = parsePrefix(text);
      if (typeof p === 'string') return;
      const canonical = formatPrefix(p);
      const first = prefixes.get(canonical);
      if (first === undefined) {
        prefixes.set(canonical, { tenant: i, index: j });
        return;
      }
      const shown = canonical === text ? JSON.stringify(text) : `${JSON.stringify(text)} (${canonical})`;
      const where = `routing.tenants[${first.tenant}].exporters[${first.index}]`;
      problems.push({
        path: ['routing', 'tenants', i, 'exporters', j],
        message: first.tenant === i
          ? `${shown} is listed twice for ${label(i)} (also ${where})`
          : `${label(i)} lists ${shown}, already an exporter of ${label(first.tenant)} (${where}); a prefix belongs to one tenant`,
      });
    });
  });
}

function scaleRules(data: unknown, problems: Problem[]): void {
  const role = effective(data, ['role']);
  const templates = effective(data, ['scale', 'template_topic']);
  const raw = effective(data, ['scale', 'raw_topic']);
  if (role === 'decode' && templates === '') {
    problems.push({ path: ['scale', 'template_topic'], message: 'role decode needs a template topic (e.g. flowgate.templates): decoders share templates through it' });
  }
  if (typeof templates === 'string' && templates !== '' && templates === raw) {
    problems.push({ path: ['scale', 'template_topic'], message: `${JSON.stringify(templates)} is also scale.raw_topic; the two need their own topics` });
  }
}

/** Rules that name exporters by prefix or by tenant (rate limit overrides, sampling rules): exactly one of the two, a known tenant. */
function exporterRules(data: unknown, listPath: Path, problems: Problem[]): void {
  const overrides = at(data, listPath);
  if (!Array.isArray(overrides)) return;
  const tenants = at(data, ['routing', 'tenants']);
  const names = new Set(Array.isArray(tenants) ? tenants.map((t) => (isMapping(t) ? t.name : undefined)) : []);
  overrides.forEach((o, i) => {
    if (!isMapping(o)) return;
    const path = [...listPath, i];
    if ((o.exporters === undefined) === (o.tenant === undefined)) {
      problems.push({ path, message: 'needs exactly one of exporters (addresses or prefixes) or tenant (a tenant name)' });
    } else if (typeof o.tenant === 'string' && !names.has(o.tenant)) {
      problems.push({ path: [...path, 'tenant'], message: `${JSON.stringify(o.tenant)} is not the name of any routing.tenants entry` });
    }
  });
}

/** Problems of the merged document that no single key shows. */
export function crossKeyProblems(data: unknown): Problem[] {
  const problems: Problem[] = [];
  listenRules(data, problems);
  decoderRules(data, problems);
  kafkaRules(data, problems);
  tenantRules(data, problems);
  scaleRules(data, problems);
  exporterRules(data, ['admission', 'rate_limit', 'overrides'], problems);
  exporterRules(data, ['routing', 'sampling'], problems);
  return problems;
}
