// The shape of config.yaml: every key, its default and what values it takes. Each leaf says
// what it expected in its own words, so a problem reads "workers: expected an integer from 0 to
// 64, got "two"" rather than a zod default. Rules that span keys are in rules.ts; config.yaml
// at the repo root documents each key for people.
import { z } from 'zod';
import { formatPrefix, parseEndpoint, parsePrefix } from './addresses.js';
import type { Path, Problem } from './problems.js';
import { defaultDecoderOptions as decoderDefaults, udpWithdrawalActions } from '../decoder/options.js';
import { recordFields } from '../decoder/wasm.js';
import { compressionNames } from '../kafka/names.js';

/** Kafka's own rule for topic names (kafka.common.internals.Topic). */
export const topicPattern = /^[a-zA-Z0-9._-]{1,249}$/;
export const tenantNamePattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isTopicName(s: string): boolean {
  return topicPattern.test(s) && s !== '.' && s !== '..';
}

/** How a value shows in a problem: strings quoted, collections by kind. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  return String(v);
}

type ErrorMap = (issue: z.core.$ZodRawIssue) => string;

/** The message for a value that is not `what`; a missing required key says so. */
function expected(what: string): ErrorMap {
  return (issue) => (issue.input === undefined ? `missing (expected ${what})` : `expected ${what}, got ${describeValue(issue.input)}`);
}

const MAX_INT32 = 2147483647;

/** An integer in [min, max] for which `also` holds; one problem per value, worded as `what`. */
function int(min: number, max: number, what = `an integer from ${min} to ${max}`, also: (n: number) => boolean = () => true) {
  const error = expected(what);
  return z.number({ error }).refine((n) => Number.isInteger(n) && n >= min && n <= max && also(n), { error });
}

function bool() {
  return z.boolean({ error: expected('true or false') });
}

function oneOf<const T extends readonly string[]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(', ')}`) });
}

/** A string checked by `parse`, which returns the problem text or anything else when valid. */
function checkedString(what: string, parse: (s: string) => unknown) {
  return z.string({ error: expected(what) }).superRefine((s, ctx) => {
    const r = parse(s);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r, input: s });
  });
}

/** A list of `items`; with `one`, at least one is required ("expected at least one <one>"). */
function list<T extends z.ZodType>(item: T, items: string, one?: string) {
  const schema = z.array(item, { error: expected(`a list of ${items}`) });
  return one ? schema.min(1, { error: `expected at least one ${one}, got an empty list` }) : schema;
}

/** A mapping with unknown keys rejected; null (a key with only commented-out children) counts as empty. */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess((v) => (v === null ? undefined : v), strictMapping(shape).prefault({} as never));
}

function strictMapping<S extends z.core.$ZodLooseShape>(shape: S) {
  const map = expected('a mapping');
  return z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? map(issue) : undefined) });
}

/** A record field name: one the decoder emits (its Field.* exports, read on first use). */
const recordField = z.string({ error: (issue) => expected(`one of ${recordFields().join(', ')}`)(issue) }).superRefine((s, ctx) => {
  if (!recordFields().includes(s)) ctx.addIssue({ code: 'custom', message: `expected one of ${recordFields().join(', ')}, got ${describeValue(s)}`, input: s });
});

const listenAddress = checkedString('"HOST:PORT" with an IP address', (s) => parseEndpoint(s, false));
const brokerAddress = checkedString('"HOST:PORT"', (s) => parseEndpoint(s, true));
const topic = checkedString('a Kafka topic name', (s) =>
  isTopicName(s) ? true : `${describeValue(s)} is not a valid Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, not "." or "..")`);
const filePath = z.string({ error: expected('a file path') }).min(1, { error: 'expected a file path, got ""' });

/** An exporter address or CIDR prefix, normalised (host bits cleared, RFC 5952 IPv6, IPv4-mapped as IPv4). */
const exporterPrefix = checkedString('an IPv4/IPv6 address or CIDR prefix', parsePrefix).transform((s) => {
  const p = parsePrefix(s);
  return typeof p === 'string' ? s : formatPrefix(p);
});

const tenant = strictMapping({
  name: checkedString('a tenant name', (s) =>
    tenantNamePattern.test(s) ? true : `${describeValue(s)} is not a valid tenant name (1 to 63 of a-z 0-9 _ -, starting with a letter or digit)`),
  topic,
  exporters: list(exporterPrefix, 'exporter addresses or CIDR prefixes', 'exporter address or CIDR prefix'),
  tap_token: z.string({ error: expected('a string') }).default(''),
});

/** Another rate limit for the exporters of some prefixes or of one tenant (rules.ts: exactly one of the two). */
const rateLimitOverride = strictMapping({
  exporters: list(exporterPrefix, 'exporter addresses or CIDR prefixes', 'exporter address or CIDR prefix').optional(),
  tenant: z.string({ error: expected('a tenant name') }).optional(),
  datagrams_per_s: int(0, MAX_INT32),
  burst: int(0, MAX_INT32).default(0),
});

/** Sampling rates for the exporters of some prefixes or of one tenant (rules.ts: exactly one of the two). */
const samplingRule = strictMapping({
  exporters: list(exporterPrefix, 'exporter addresses or CIDR prefixes', 'exporter address or CIDR prefix').optional(),
  tenant: z.string({ error: expected('a tenant name') }).optional(),
  default_rate: int(0, MAX_INT32).default(0),
  override_rate: int(0, MAX_INT32).default(0),
});

const sslOptions = strictMapping({
  ca_file: filePath.optional(),
  cert_file: filePath.optional(),
  key_file: filePath.optional(),
  reject_unauthorized: bool().default(true),
  servername: z.string({ error: expected('a host name') }).optional(),
});

const saslOptions = strictMapping({
  mechanism: oneOf(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string({ error: expected('a user name') }).min(1, { error: 'expected a user name, got ""' }),
  password: z.string({ error: expected('a string') }),
});

export const configSchema = strictMapping({
  listen: section({
    udp: list(listenAddress, '"HOST:PORT" addresses', 'address').default(() => ['0.0.0.0:4739', '[::]:4739']),
    receive_buffer_bytes: int(65536, MAX_INT32).default(8388608),
    tcp: list(listenAddress, '"HOST:PORT" addresses').default(() => []),
    tcp_max_connections: int(1, 65535).default(256),
  }),
  admission: section({
    allow: list(exporterPrefix, 'exporter addresses or CIDR prefixes').default(() => []),
    tenants_only: bool().default(false),
    rate_limit: section({
      datagrams_per_s: int(0, MAX_INT32).default(0),
      burst: int(0, MAX_INT32).default(0),
      overrides: list(rateLimitOverride, 'rate limit overrides').default(() => []),
    }),
  }),
  http: section({
    listen: listenAddress.default('0.0.0.0:8080'),
    admin_token: z.string({ error: expected('a string') }).default(''),
    protect_api: bool().default(false),
    // Defences of the HTTP side (http/auth.ts, http/server.ts): failed token attempts per client
    // address, and the largest request body accepted.
    auth_failures_max: int(1, 1_000_000).default(10),
    auth_failure_window_ms: int(100, 86_400_000).default(60_000),
    auth_failure_addresses: int(16, 10_000_000).default(10_000),
    max_body_bytes: int(0, 1 << 30).default(65_536),
  }),
  tap: section({
    // Each client may hold up to 8 MiB buffered (tap/hub.ts): max_clients bounds that memory.
    max_clients: int(1, 256).default(32),
    max_clients_per_tenant: int(1, 256).default(8),
    max_message_bytes: int(256, 65_536).default(1024),
  }),
  role: oneOf(['all', 'receive', 'decode'] as const).default('all'),
  workers: int(0, 64).default(0),
  ring: section({
    slots: int(64, 1048576, 'a power of two from 64 to 1048576', (n) => (n & (n - 1)) === 0).default(4096),
    slot_bytes: int(1504, 65528, 'a multiple of 8 from 1504 to 65528', (n) => n % 8 === 0).default(9216),
  }),
  decoder: section({
    // Defaults: the decoder's own (decoder/options.ts).
    template_lifetime_s: int(0, MAX_INT32).default(decoderDefaults.templateLifetimeSec),
    ignore_exporter_port: bool().default(decoderDefaults.ignoreExporterPort),
    udp_withdrawals: oneOf(udpWithdrawalActions).default(decoderDefaults.udpWithdrawals),
    sequence_window: int(1, MAX_INT32).default(decoderDefaults.sequenceWindow),
    // "all": every short field, then every other information element by name (decoder/options.ts).
    // An override (FLOWGATE_DECODER__FIELDS=all, --set decoder.fields=all) reads as the list ["all"].
    fields: z.preprocess((v) => (Array.isArray(v) && v.length === 1 && v[0] === 'all' ? 'all' : v),
      z.union([z.literal('all'), list(recordField, 'record field names')], {
        error: (issue) => (Array.isArray(issue.input) ? undefined : `expected "all" or a list of record field names, got ${describeValue(issue.input)}`),
      })).default(() => []),
    held_max_bytes: int(1, 1048576).default(decoderDefaults.heldMaxBytes),
    held_per_template_bytes: int(1, 1048576).default(decoderDefaults.heldPerTemplateBytes),
    held_max_age_ms: int(1, MAX_INT32).default(decoderDefaults.heldMaxAgeMs),
    max_templates_per_exporter: int(1, 4096).default(decoderDefaults.maxTemplatesPerExporter),
    max_sessions: int(1, 2048).default(decoderDefaults.maxSessions),
    scale_counters: bool().default(decoderDefaults.scaleCounters),
    // Users' element dictionaries (decoder/elements/dictionary-file.ts); rules.ts reads and checks each.
    dictionaries: list(filePath, 'dictionary file paths').default(() => []),
  }),
  kafka: section({
    brokers: list(brokerAddress, '"HOST:PORT" addresses', 'broker').default(() => ['127.0.0.1:9092']),
    client_id: z.string({ error: expected('a string') }).min(1, { error: 'expected a client id, got ""' }).default('flowgate'),
    acks: z.union([z.literal(-1), z.literal(1), z.literal(0)], {
      error: expected('-1 (all in-sync replicas), 1 (leader only) or 0 (no acknowledgement)'),
    }).default(-1),
    idempotent: bool().default(true),
    compression: oneOf(compressionNames).default('none'),
    format: oneOf(['json', 'protobuf'] as const).default('json'),
    protobuf_length_prefix: bool().default(true),
    key: oneOf(['none', 'dvc', 'flow']).default('none'),
    records_per_message: z.union([z.literal(1), z.literal('datagram')], { error: expected('1 or "datagram"') }).default(1),
    sink: oneOf(['kafka', 'discard'] as const).default('kafka'),
    linger_ms: int(0, 60000).default(5),
    batch_max_records: int(1, MAX_INT32).default(10000),
    batch_max_bytes: int(1024, MAX_INT32).default(1048576),
    max_in_flight: int(1, 5).default(5),
    queue_max_records: int(1, MAX_INT32).default(200000),
    queue_max_bytes: int(1024, Number.MAX_SAFE_INTEGER, 'an integer of at least 1024').default(67108864),
    request_timeout_ms: int(1, MAX_INT32).default(30000),
    retries: int(0, 1000).default(5),
    connection_timeout_ms: int(1, MAX_INT32).default(3000),
    flush_timeout_ms: int(0, MAX_INT32).default(10000),
    ssl: z.union([z.literal(false), sslOptions], {
      error: expected('false or a mapping of ca_file, cert_file, key_file, reject_unauthorized, servername ({} for TLS with the system CAs)'),
    }).default(false),
    sasl: z.union([z.null(), saslOptions], { error: expected('null or a mapping of mechanism, username, password') }).default(null),
  }),
  spool: section({
    dir: z.string({ error: expected('a directory path, or "" for no spool') }).default(''),
    max_bytes: int(1 << 20, Number.MAX_SAFE_INTEGER, 'an integer of at least 1048576').default(1073741824),
    fsync_interval_ms: int(0, 60000).default(1000),
    segment_bytes: int(1 << 20, 1 << 30).default(16777216),
    queue_high_water: z.number({ error: expected('a number from 0.1 to 1') }).min(0.1, { error: 'expected a number from 0.1 to 1' })
      .max(1, { error: 'expected a number from 0.1 to 1' }).default(0.9),
  }),
  routing: section({
    default_topic: topic.default('ipfix'),
    unknown_exporters: oneOf(['default', 'drop']).default('default'),
    tenants: list(tenant, 'tenants').default(() => []),
    sampling: list(samplingRule, 'sampling rules').default(() => []),
    // Relays and NATs whose datagrams carry other exporters' records: each record is routed by the
    // exporter it states (IE 130 / 131; assembly/relay.ts), told by ring slot flag (udp/admission.ts).
    relays: list(exporterPrefix, 'relay addresses or CIDR prefixes').default(() => []),
    options_topic: z.union([z.literal(''), topic], { error: expected('a topic name, or "" for options records not sent') }).default(''),
  }),
  scale: section({
    raw_topic: topic.default('flowgate.raw'),
    raw_partitions: int(1, 10000).default(16),
    raw_linger_ms: int(0, 1000).default(5),
    group: z.string({ error: expected('a consumer group id') }).min(1, { error: 'expected a consumer group id, got ""' }).max(249).default('flowgate-decode'),
    template_topic: z.union([z.literal(''), topic], { error: expected('a topic name, or "" for templates not shared') }).default(''),
    instance_id: z.string({ error: expected('a string') }).max(128).default(''),
    commit_interval_ms: int(10, 60000).default(500),
    session_timeout_ms: int(6000, 300000).default(10000),
  }),
  state: section({
    dir: z.string({ error: expected('a directory path, or "" for no state') }).default(''),
    save_interval_ms: int(100, 3600000).default(2000),
  }),
  stats: section({
    log_interval_s: int(0, 86400).default(10),
  }),
  log: section({
    level: oneOf(['debug', 'info', 'warn', 'error']).default('info'),
  }),
});

/** The configuration after validation: keys as in config.yaml, every default filled in. */
export type Config = z.infer<typeof configSchema>;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** What an empty config.yaml gives. Frozen: copy it (structuredClone) to change it. */
export const defaultConfig: Config = deepFreeze(configSchema.parse({}));

/** The schemas a value at `path` may have to match (more than one below a union). */
function schemasAt(path: Path): z.core.$ZodType[] {
  let current: z.core.$ZodType[] = [configSchema];
  for (const segment of path) {
    const next: z.core.$ZodType[] = [];
    for (const s of current.flatMap(unwrap)) {
      const def = s._zod.def;
      if (def.type === 'object' && typeof segment === 'string') {
        const shape = (def as z.core.$ZodObjectDef).shape;
        if (Object.hasOwn(shape, segment)) next.push(shape[segment]!);
      } else if (def.type === 'array' && typeof segment === 'number') {
        next.push((def as z.core.$ZodArrayDef).element);
      }
    }
    current = next;
  }
  return current.flatMap(unwrap);
}

/** Strips defaults, optionality, preprocessing and transforms; splits unions into their options. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = schema._zod.def;
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return unwrap((def as z.core.$ZodDefaultDef).innerType);
    case 'pipe': {
      const { in: from, out: to } = def as z.core.$ZodPipeDef;
      return unwrap(from._zod.def.type === 'transform' ? to : from);
    }
    case 'union':
      return (def as z.core.$ZodUnionDef).options.flatMap(unwrap);
    default:
      return [schema];
  }
}

/** The keys a mapping at `path` may have, or null when the schema has no mapping there. */
export function keysAt(path: Path): string[] | null {
  const objects = schemasAt(path).filter((s) => s._zod.def.type === 'object');
  return objects.length ? objects.flatMap((s) => Object.keys((s._zod.def as z.core.$ZodObjectDef).shape)) : null;
}

/** True when the value at `path` is a list (so an override may give it as "a,b,c"). */
export function isListAt(path: Path): boolean {
  return schemasAt(path).some((s) => s._zod.def.type === 'array');
}

/** Edit distance, to suggest the key a misspelt one was meant to be. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function unknownKey(parent: Path, key: string): string {
  const known = keysAt(parent) ?? [];
  let best: string | undefined, bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best === undefined ? 'unknown key' : `unknown key (did you mean "${best}"?)`;
}

function toProblems(issues: readonly z.core.$ZodIssue[], base: Path, out: Problem[]): void {
  for (const issue of issues) {
    const path: Path = [...base, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: unknownKey(path, key) });
    } else if (issue.code === 'invalid_union') {
      // Report inside the one option whose type matched (the mapping form of kafka.ssl, say);
      // when none did, the union's own message lists the forms it takes.
      const matched = issue.errors.filter((option) =>
        !option.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
      if (matched.length === 1) toProblems(matched[0]!, path, out);
      else out.push({ path, message: issue.message });
    } else {
      out.push({ path, message: issue.message });
    }
  }
}

/** Validates a merged document; fills in defaults and normalises exporter prefixes. */
export function validate(data: unknown): { config: Config; problems: [] } | { config: null; problems: Problem[] } {
  const result = configSchema.safeParse(data);
  if (result.success) return { config: result.data, problems: [] };
  const problems: Problem[] = [];
  toProblems(result.error.issues, [], problems);
  return { config: null, problems };
}
