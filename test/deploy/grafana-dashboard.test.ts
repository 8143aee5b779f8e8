// The operations material against the code it describes: every metric that the Grafana dashboard
// (deploy/grafana/flowgate.json), the alert rules (deploy/prometheus/alerts.yaml) and
// docs/operations.md query is exposed by a real gateway's /metrics (role all and role decode,
// against the test broker), and every drop reason of the code's closed lists has a dashboard
// panel and a line in docs/operations.md that says what it means and what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic } from '../support/kafka-topics.js';
import { httpGet } from '../support/http.js';
import { repoRoot } from '../support/paths.js';
import { exposes, keepsLabel, matchersOf, metricNames, parseExposition, type Exposition } from '../support/promql.js';
import { decoderRecordStatuses, httpAuthFailureReasons, httpRefuseReasons, receiverDropReasons, recordDropReasons, tapRefuseReasons, tapSkipReasons } from '../../src/pipeline/drop-reasons.js';
import { datagramStatuses, decodeStatuses } from '../../src/decoder/wasm.js';
import { rawSkipReasons } from '../../src/scale/raw-message.js';
import { templateSkipReasons } from '../../src/scale/template-message.js';
import { stateFileRejectReasons } from '../../src/state/file.js';

const dashboardFile = join(repoRoot, 'deploy', 'grafana', 'flowgate.json');
const alertsFile = join(repoRoot, 'deploy', 'prometheus', 'alerts.yaml');
const operationsFile = join(repoRoot, 'docs', 'operations.md');

/** Series Prometheus adds to every target at scrape time: never in /metrics, always there. */
const SCRAPE_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

interface Panel { type: string; title?: string; targets?: { expr?: string }[]; panels?: Panel[] }
interface Dashboard { panels: Panel[]; templating: { list: { type: string; name: string; query?: string | { query?: string } }[] } }

function dashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
}

/** Every query of the dashboard, with where it is (panels in collapsed rows too). */
function dashboardQueries(): { where: string; expr: string }[] {
  const d = dashboard();
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
    // label_values(SELECTOR, LABEL): the selector is PromQL, the label is not a metric.
    const selector = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(query)?.[1] ?? query;
    out.push({ where: `variable $${v.name}`, expr: selector });
  }
  return out;
}

function alertRules(): { alert: string; expr: string }[] {
  const file = parseYaml(readFileSync(alertsFile, 'utf8')) as { groups: { rules: { alert?: string; expr: string }[] }[] };
  return file.groups.flatMap((g) => g.rules).map((r) => ({ alert: r.alert ?? '(recording rule)', expr: String(r.expr) }));
}

/** The ```promql blocks of docs/operations.md. */
function operationsQueries(): string[] {
  return [...readFileSync(operationsFile, 'utf8').matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

/** Every counter labelled by reason, and the reasons it can carry, from the code's closed lists. */
function reasonsByMetric(): Record<string, readonly string[]> {
  return {
    flowgate_datagrams_dropped_total: [...receiverDropReasons, ...datagramStatuses()],
    flowgate_records_dropped_total: [...recordDropReasons, ...decoderRecordStatuses],
    flowgate_decoder_events_total: decodeStatuses().filter((s) => s !== 'ok'),
    flowgate_tap_records_skipped_total: tapSkipReasons,
    flowgate_tap_refused_total: tapRefuseReasons,
    flowgate_http_auth_failures_total: httpAuthFailureReasons,
    flowgate_http_requests_refused_total: httpRefuseReasons,
    flowgate_raw_messages_skipped_total: [...rawSkipReasons, 'too_large'],
    flowgate_template_messages_skipped_total: templateSkipReasons,
    flowgate_state_files_rejected_total: stateFileRejectReasons,
  };
}

/** True when a label matcher `{reason op "value"}` selects `reason`. */
function selects(matcher: { op: string; value: string }, reason: string): boolean {
  const re = new RegExp(`^(?:${matcher.value})$`);
  switch (matcher.op) {
    case '=': return matcher.value === reason;
    case '!=': return matcher.value !== reason;
    case '=~': return re.test(reason);
    default: return !re.test(reason);
  }
}

test('metric names are read out of PromQL: functions, keywords, labels, strings, ranges and Grafana variables left out', () => {
  assert.deepEqual(metricNames('sum by (reason) (rate(flowgate_records_dropped_total{job=~"$job",reason!="no_tenant"}[$__rate_interval]))'), ['flowgate_records_dropped_total']);
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(flowgate_kafka_produce_latency_seconds_bucket[5m]))) > 1e-3'),
    ['flowgate_kafka_produce_latency_seconds_bucket']);
  assert.deepEqual(metricNames('a_total > 0.01 * sum without (x) (b) unless on (instance) group_left c offset 5m and up == bool 1'), ['a_total', 'b', 'c', 'up']);
  assert.deepEqual(metricNames('topk(10, sum(rate(x{e="sum(y)"}[1h30m]))) / ignoring(le) z'), ['x', 'z']);
  assert.deepEqual(matchersOf('rate(m{reason=~"a|b", job="j"}[5m])', 'm'), new Map([['reason', { op: '=~', value: 'a|b' }], ['job', { op: '=', value: 'j' }]]));
  assert.ok(keepsLabel('sum by (instance, reason) (x)', 'reason'));
  assert.ok(!keepsLabel('sum by (instance) (x{reason="a"})', 'reason'));
  const e = parseExposition('# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 0\n# TYPE c_total counter\n# TYPE g gauge\ng{a="b"} 1\n');
  for (const name of ['h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count', 'c_total', 'g']) assert.ok(exposes(e, name), name);
  for (const name of ['c', 'g_total', 'g_bucket', 'nope']) assert.ok(!exposes(e, name), name);
});

test('the dashboard has a datasource variable, job and instance variables, and every query names a metric', () => {
  const d = dashboard();
  const variables = new Map(d.templating.list.map((v) => [v.name, v]));
  assert.equal(variables.get('datasource')?.type, 'datasource');
  assert.equal((variables.get('datasource') as { query?: string }).query, 'prometheus');
  assert.ok(variables.has('job') && variables.has('instance'));
  for (const { where, expr } of dashboardQueries()) assert.ok(metricNames(expr).length > 0, `${where}: no metric in ${expr}`);
});

test('every drop and skip reason in the code has a dashboard panel: a query by (reason) over its counter, or the reason named', () => {
  const exprs = dashboardQueries().map((q) => q.expr);
  for (const [metric, reasons] of Object.entries(reasonsByMetric())) {
    const uses = exprs.filter((e) => metricNames(e).includes(metric));
    for (const reason of reasons) {
      const covered = uses.some((e) => {
        const matcher = matchersOf(e, metric).get('reason');
        return matcher ? selects(matcher, reason) && (keepsLabel(e, 'reason') || matcher.op === '=') : keepsLabel(e, 'reason');
      });
      assert.ok(covered, `no dashboard query shows ${metric}{reason="${reason}"}`);
    }
  }
});

test('every drop and skip reason in the code is explained in docs/operations.md: its meaning and what to do', () => {
  // One table row per reason: | `reason` | counted in | what it means | what to do |
  const rows = new Map<string, string[]>();
  for (const line of readFileSync(operationsFile, 'utf8').split('\n')) {
    const cells = /^\|(.*)\|\s*$/.exec(line)?.[1]!.split('|').map((c) => c.trim());
    const reason = cells && /^`([a-z_]+)`$/.exec(cells[0]!)?.[1];
    if (cells && reason) rows.set(`${reason}\t${cells[1]}`, cells);
  }
  for (const [metric, reasons] of Object.entries(reasonsByMetric())) {
    for (const reason of reasons) {
      const row = [...rows].find(([key]) => key.startsWith(`${reason}\t`) && key.includes(metric.replace(/^flowgate_/, '')))?.[1];
      assert.ok(row, `docs/operations.md has no row | \`${reason}\` | ...${metric.replace(/^flowgate_/, '')}... |`);
      assert.equal(row.length, 4, `docs/operations.md, ${reason}: 4 cells (reason, counted in, meaning, what to do)`);
      assert.ok(row[2]!.length > 10 && row[3]!.length > 10, `docs/operations.md, ${reason}: its meaning and what to do`);
    }
  }
});

test('every alert of deploy/prometheus/alerts.yaml is in docs/operations.md, with the same expression', () => {
  const doc = operationsQueries().map((q) => q.replace(/\s+/g, ' '));
  const text = readFileSync(operationsFile, 'utf8');
  const rules = alertRules();
  assert.ok(rules.length > 0);
  for (const { alert, expr } of rules) {
    assert.ok(text.includes(alert), `${alert} is not in docs/operations.md`);
    assert.ok(doc.includes(expr.replace(/\s+/g, ' ').trim()), `${alert}: its expression is not a promql block of docs/operations.md:\n${expr}`);
  }
});

test('every metric the dashboard, the alert rules and docs/operations.md query is in /metrics of a running gateway (role all and role decode)', async (t) => {
  const id = uniqueTopic('ops');
  const config = (role: 'all' | 'decode') => `role: ${role}
listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { brokers: ${JSON.stringify(testBrokers())} }
scale: { raw_topic: raw.${id}, raw_partitions: 2, template_topic: templates.${id}, group: decode.${id} }
routing: { default_topic: flows.${id} }
stats: { log_interval_s: 0 }
`;
  const scrape = async (role: 'all' | 'decode'): Promise<Exposition> => {
    const gw = new GatewayProcess(config(role));
    t.after(() => gw.dispose());
    await gw.ready();
    const r = await httpGet(`${gw.base}/metrics`);
    assert.equal(r.status, 200);
    return parseExposition(r.body);
  };
  const [all, decode] = await Promise.all([scrape('all'), scrape('decode')]);
  const queries = [
    ...dashboardQueries().map((q) => ({ where: `${dashboardFile}: ${q.where}`, expr: q.expr })),
    ...alertRules().map((r) => ({ where: `${alertsFile}: ${r.alert}`, expr: r.expr })),
    ...operationsQueries().map((expr) => ({ where: operationsFile, expr })),
  ];
  const checked = new Set<string>();
  const missing: string[] = [];
  for (const { where, expr } of queries) {
    for (const name of metricNames(expr)) {
      checked.add(name);
      if (!SCRAPE_SERIES.has(name) && !exposes(all, name) && !exposes(decode, name)) missing.push(`${name} (${where})`);
    }
  }
  assert.deepEqual(missing, [], 'metrics queried that no gateway exposes');
  assert.ok(checked.size >= 50, `only ${checked.size} metric names found in the queries: is the extractor broken?`);
});
