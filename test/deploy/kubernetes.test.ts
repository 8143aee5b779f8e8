// The Kubernetes manifests (deploy/kubernetes), checked offline. Every overlay, alone and with each
// optional component, must render with kustomize and validate strictly against the Kubernetes API
// schemas of KUBERNETES_VERSIONS. Then what no schema sees: the references between objects, and
// FlowGate's own side (the ConfigMap's config.yaml with each workload's FLOWGATE_* variables and
// --role must pass the config loader; probes must reach the port it listens on; the spool and
// state directories must be on the volumes the role needs; UDP must reach it without SNAT).
// Custom resources (the ServiceMonitor component) have no schema there: they are set aside by an
// explicit kind list and their fields checked here. Any other kind without a schema fails.
// Skipped, saying why, when the tools .ci/run builds (test/support/kubernetes-tools.ts) are missing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { parseConfig, type Config } from '../../src/config/index.js';
import { repoRoot } from '../support/paths.js';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';
import { render, renderWithComponents, skipReason, validate, type ToolRun } from '../support/kubernetes-tools.js';

/** The oldest release still served by the major clouds and the newest kubernetes-validate knows. */
const KUBERNETES_VERSIONS = ['1.30.0', '1.37.0'];
const k8sDir = join(repoRoot, 'deploy', 'kubernetes');
const SKIP = skipReason() ?? false;

// ---- the shapes read below (the schema validation has checked the rest) ----

interface Metadata { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Manifest { apiVersion: string; kind: string; metadata: Metadata; spec?: unknown; data?: Record<string, string> }
interface Probe { httpGet?: { path: string; port: string | number } }
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; hostPort?: number; protocol?: string }[];
  env?: EnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  hostPath?: { path: string };
  emptyDir?: object;
}
interface PodSpec {
  hostNetwork?: boolean;
  dnsPolicy?: string;
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Volume[];
}
interface WorkloadSpec { selector: { matchLabels: Record<string, string> }; template: { metadata: Metadata; spec: PodSpec } }
interface ServiceSpec {
  type?: string;
  externalTrafficPolicy?: string;
  selector?: Record<string, string>;
  ports: { name?: string; protocol?: string; port: number; targetPort?: string | number }[];
}

type Role = Config['role'];
interface Workload { manifest: Manifest; spec: WorkloadSpec; container: Container; role: Role }

const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);
/** Custom resources: no schema in kubernetes-validate, checked field by field below instead. */
const CUSTOM_KINDS: ReadonlyMap<string, (doc: Manifest, all: readonly Manifest[]) => void> = new Map([
  ['ServiceMonitor', checkServiceMonitor],
]);

// ---- rendering ----

function subdirectories(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

function succeeded(what: string, run: ToolRun): string {
  assert.ok(run.ok, `${what} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

function documents(stream: string): Manifest[] {
  return parseAllDocuments(stream).map((d) => {
    assert.equal(d.errors.length, 0, String(d.errors[0]));
    return d.toJS() as Manifest;
  }).filter((m) => m !== null);
}

/** Strict schema validation of the core kinds; custom kinds are left to CUSTOM_KINDS. */
function assertValidAgainstSchemas(docs: readonly Manifest[]): void {
  const core = docs.filter((d) => !CUSTOM_KINDS.has(d.kind));
  const run = validate(core.map((d) => stringify(d)).join('---\n'), KUBERNETES_VERSIONS);
  const output = `${run.stdout}${run.stderr}`;
  assert.ok(run.ok, `kubernetes-validate found problems:\n${output}`);
  // A kind it has no schema for is only a warning there: here it is a kind nobody checked.
  const unchecked = output.split('\n').filter((l) => l.startsWith('WARN'));
  assert.deepEqual(unchecked, [], 'a kind with no schema that CUSTOM_KINDS does not check either');
  const passed = output.split('\n').filter((l) => l.startsWith('INFO') && l.includes(' passed for resource '));
  assert.equal(passed.length, core.length * KUBERNETES_VERSIONS.length, `every resource validated once per version:\n${output}`);
}

// ---- what the objects say about each other ----

function named(docs: readonly Manifest[], kind: string, name: string): Manifest | undefined {
  return docs.find((d) => d.kind === kind && d.metadata.name === name);
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function workloads(docs: readonly Manifest[]): Workload[] {
  return docs.filter((d) => WORKLOAD_KINDS.has(d.kind)).map((manifest) => {
    const spec = manifest.spec as WorkloadSpec;
    const container = spec.template.spec.containers.find((c) => c.name === 'flowgate');
    assert.ok(container, `${manifest.kind}/${manifest.metadata.name}: no container named flowgate`);
    const args = container.args ?? [];
    const roleAt = args.indexOf('--role');
    assert.ok(roleAt >= 0, `${manifest.metadata.name}: the role is given on the command line (--role)`);
    return { manifest, spec, container, role: args[roleAt + 1] as Role };
  });
}

/** The Secret's keys and sample values, from the example the README tells operators to copy. */
function exampleCredentials(): Map<string, string> {
  const text = readFileSync(join(k8sDir, 'credentials.env.example'), 'utf8');
  return new Map(text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => {
    const eq = l.indexOf('=');
    return [l.slice(0, eq), l.slice(eq + 1)] as [string, string];
  }));
}

/**
 * The FLOWGATE_* variables a pod would get: literal values, the pod field a fieldRef names (a
 * sample), and each secretKeyRef from the example credentials; without them, only the optional
 * ones may be missing (the Secret not created yet).
 */
function podEnv(w: Workload, withSecret: boolean): Record<string, string> {
  const credentials = exampleCredentials();
  const env: Record<string, string> = {};
  for (const v of w.container.env ?? []) {
    const secret = v.valueFrom?.secretKeyRef;
    const field = v.valueFrom?.fieldRef;
    if (v.value !== undefined) env[v.name] = v.value;
    else if (field) env[v.name] = `sample-${field.fieldPath.replace(/\W/g, '-')}`;
    else if (secret) {
      assert.equal(secret.name, 'flowgate-credentials', `${v.name}: every credential comes from the Secret flowgate-credentials`);
      assert.ok(credentials.has(secret.key), `${v.name}: key ${secret.key} is not in credentials.env.example`);
      if (withSecret) env[v.name] = credentials.get(secret.key)!;
      else assert.equal(secret.optional, true, `${v.name}: a pod must start before the Secret exists`);
    }
  }
  return env;
}

function configMapText(docs: readonly Manifest[], w: Workload): { text: string; mountPath: string } {
  const volumes = w.spec.template.spec.volumes ?? [];
  const volume = volumes.find((v) => v.configMap);
  assert.ok(volume?.configMap, `${w.manifest.metadata.name}: the configuration is mounted from a ConfigMap`);
  const configMap = named(docs, 'ConfigMap', volume.configMap.name);
  assert.ok(configMap, `${w.manifest.metadata.name}: ConfigMap ${volume.configMap.name} is rendered`);
  const text = configMap.data?.['config.yaml'];
  assert.ok(text, `ConfigMap ${configMap.metadata.name} holds config.yaml`);
  const mount = w.container.volumeMounts?.find((m) => m.name === volume.name);
  assert.ok(mount, `${w.manifest.metadata.name}: the ConfigMap volume is mounted`);
  return { text, mountPath: mount.mountPath };
}

/** The configuration the pod would run with: the loader's own answer, or its list of problems. */
function effectiveConfig(docs: readonly Manifest[], w: Workload, withSecret: boolean): Config {
  const { text, mountPath } = configMapText(docs, w);
  const args = w.container.args ?? [];
  const file = args[args.indexOf('--config') + 1];
  assert.equal(file, `${mountPath}/config.yaml`, `${w.manifest.metadata.name}: --config names the mounted file`);
  try {
    return parseConfig(text, { env: podEnv(w, withSecret), overrides: [`role=${w.role}`], source: `${w.manifest.metadata.name} config.yaml` });
  } catch (err) {
    assert.fail(`${w.manifest.metadata.name}: the config loader refuses the pod's configuration: ${(err as Error).message}`);
  }
}

function portNumber(c: Container, port: string | number | undefined): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

function listenPort(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The volume mounted at or above `dir`, the deepest mount first. */
function volumeHolding(w: Workload, dir: string): Volume | undefined {
  const mount = (w.container.volumeMounts ?? [])
    .filter((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return mount && !mount.readOnly ? w.spec.template.spec.volumes?.find((v) => v.name === mount.name) : undefined;
}

function checkWorkload(docs: readonly Manifest[], w: Workload): void {
  const name = `${w.manifest.kind}/${w.manifest.metadata.name}`;
  const pod = w.spec.template.spec;
  assert.ok(selects(w.spec.selector.matchLabels, w.spec.template.metadata.labels), `${name}: its selector matches its pods`);
  assert.ok(w.container.image.startsWith('localhost/flowgate'), `${name}: runs the FlowGate image (${w.container.image})`);
  assert.deepEqual(w.container.command, ['node', ...GATEWAY_NODE_FLAGS, '/opt/flowgate/bin/flowgate.js'], `${name}: the image's entry point, with the gateway's node flags`);
  assert.equal(w.container.args?.[0], 'serve', `${name}: flowgate serve`);
  assert.equal(pod.securityContext?.runAsUser, 10001, `${name}: runs as uid 10001`);
  assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: refuses to run as root`);
  assert.ok(named(docs, 'ServiceAccount', pod.serviceAccountName ?? ''), `${name}: its ServiceAccount is rendered`);
  for (const what of ['cpu', 'memory']) assert.ok(w.container.resources?.requests?.[what], `${name}: requests ${what}`);
  assert.ok(w.container.resources?.limits?.memory, `${name}: has a memory limit`);

  const config = effectiveConfig(docs, w, true);
  effectiveConfig(docs, w, false);
  assert.equal(config.role, w.role);
  assert.ok(config.workers >= 1, `${name}: workers set (0 would count the node's cores, not the pod's)`);

  // Probes: liveness on /healthz, readiness on /healthz or /readyz, both on the HTTP port.
  const httpPort = listenPort(config.http.listen);
  for (const [kind, probe] of [['liveness', w.container.livenessProbe], ['readiness', w.container.readinessProbe]] as const) {
    assert.ok(probe?.httpGet, `${name}: has an HTTP ${kind} probe`);
    assert.equal(portNumber(w.container, probe.httpGet.port), httpPort, `${name}: ${kind} probe on http.listen's port ${httpPort}`);
  }
  assert.equal(w.container.livenessProbe?.httpGet?.path, '/healthz');
  // Decoders are ready once in their group with the templates read; receivers and role all stay
  // ready without a broker so that they can spool (docs/scaling.md sections 3 and 7).
  assert.equal(w.container.readinessProbe?.httpGet?.path, w.role === 'decode' ? '/readyz' : '/healthz', `${name}: readiness path`);
  const annotations = w.spec.template.metadata.annotations ?? {};
  assert.equal(annotations['prometheus.io/scrape'], 'true', `${name}: scrape annotation`);
  assert.equal(Number(annotations['prometheus.io/port']), httpPort, `${name}: scrape port`);

  // Written directories on volumes (the root file system is read-only) of the kind the role needs.
  assert.equal(w.container.securityContext?.readOnlyRootFilesystem, true, `${name}: read-only root file system`);
  if (w.role !== 'decode') {
    const spool = volumeHolding(w, config.spool.dir);
    assert.ok(spool, `${name}: spool.dir ${config.spool.dir} is on a writable volume`);
    if (w.role === 'all') assert.ok(spool.persistentVolumeClaim, `${name}: the spool outlives the pod (a PersistentVolumeClaim)`);
    if (w.role === 'receive') assert.ok(spool.hostPath, `${name}: the spool stays on the node (hostPath)`);
    if (spool.persistentVolumeClaim) {
      assert.ok(named(docs, 'PersistentVolumeClaim', spool.persistentVolumeClaim.claimName), `${name}: its claim is rendered`);
    }
  }
  if (w.role !== 'receive') assert.ok(volumeHolding(w, config.state.dir), `${name}: state.dir ${config.state.dir} is on a writable volume`);
  if (w.role === 'decode') assert.notEqual(config.scale.template_topic, '', `${name}: role decode needs scale.template_topic`);

  // UDP in, with the exporter's source address kept: the host network, or only Services that
  // deliver on the node they arrive at (externalTrafficPolicy Local: no SNAT).
  if (w.role !== 'decode') {
    const udpPorts = new Set((w.container.ports ?? []).filter((p) => p.protocol === 'UDP').map((p) => p.containerPort));
    for (const address of config.listen.udp) assert.ok(udpPorts.has(listenPort(address)), `${name}: declares UDP port ${listenPort(address)}`);
    const udpServices = docs.filter((d) => d.kind === 'Service').filter((d) => {
      const spec = d.spec as ServiceSpec;
      return selects(spec.selector, w.spec.template.metadata.labels) && spec.ports.some((p) => p.protocol === 'UDP');
    });
    if (pod.hostNetwork) {
      assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet', `${name}: resolves Service names from the host network`);
      for (const p of w.container.ports ?? []) assert.equal(p.hostPort, p.containerPort, `${name}: hostPort equals containerPort`);
    } else {
      assert.ok(udpServices.length > 0, `${name}: a Service brings exporters' UDP to it`);
    }
    for (const s of udpServices) {
      const spec = s.spec as ServiceSpec;
      if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') {
        assert.equal(spec.externalTrafficPolicy, 'Local', `Service/${s.metadata.name}: externalTrafficPolicy Local keeps the exporter's address`);
      }
    }
  }
}

function checkServices(docs: readonly Manifest[], all: readonly Workload[]): void {
  for (const s of docs.filter((d) => d.kind === 'Service')) {
    const spec = s.spec as ServiceSpec;
    const targets = all.filter((w) => selects(spec.selector, w.spec.template.metadata.labels));
    assert.equal(targets.length, 1, `Service/${s.metadata.name} selects one workload's pods`);
    for (const p of spec.ports) {
      const port = portNumber(targets[0]!.container, p.targetPort ?? p.port);
      assert.ok(port !== undefined, `Service/${s.metadata.name}: target port ${p.targetPort} is one of the container's`);
    }
  }
}

function checkDisruptionBudgets(docs: readonly Manifest[], all: readonly Workload[]): void {
  const budgets = docs.filter((d) => d.kind === 'PodDisruptionBudget');
  for (const b of budgets) {
    const selector = (b.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    assert.equal(all.filter((w) => selects(selector, w.spec.template.metadata.labels)).length, 1,
      `PodDisruptionBudget/${b.metadata.name} covers one workload`);
  }
  for (const w of all.filter((x) => x.role !== 'receive')) {
    assert.ok(budgets.some((b) => selects((b.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
      w.spec.template.metadata.labels)), `${w.manifest.metadata.name}: has a PodDisruptionBudget`);
  }
}

function checkAutoscalers(docs: readonly Manifest[], all: readonly Workload[]): void {
  interface HpaSpec { scaleTargetRef: { kind: string; name: string }; maxReplicas: number; metrics: { type: string; external?: { metric: { name: string } } }[] }
  const autoscalers = docs.filter((d) => d.kind === 'HorizontalPodAutoscaler');
  for (const h of autoscalers) {
    const spec = h.spec as HpaSpec;
    const target = all.find((w) => w.manifest.kind === spec.scaleTargetRef.kind && w.manifest.metadata.name === spec.scaleTargetRef.name);
    assert.ok(target, `HorizontalPodAutoscaler/${h.metadata.name}: its target is rendered`);
    assert.equal(target.role, 'decode', 'only decoders scale on lag');
    const config = effectiveConfig(docs, target, true);
    assert.ok(spec.maxReplicas <= config.scale.raw_partitions, 'no more decoders than raw partitions (the rest would idle)');
    assert.ok(spec.metrics.some((m) => m.type === 'External' && m.external?.metric.name === 'flowgate_raw_lag'), 'scaled on the raw lag');
    assert.equal((target.manifest.spec as { replicas?: number }).replicas, undefined, 'the autoscaler owns the replica count');
  }
  for (const w of all.filter((x) => x.role === 'decode')) {
    assert.ok(autoscalers.some((h) => (h.spec as HpaSpec).scaleTargetRef.name === w.manifest.metadata.name), `${w.manifest.metadata.name}: scaled on lag`);
  }
}

function checkNamespaces(docs: readonly Manifest[], namespace: string, all: readonly Workload[]): void {
  for (const d of docs.filter((x) => x.kind !== 'Namespace')) {
    assert.equal(d.metadata.namespace, namespace, `${d.kind}/${d.metadata.name} in namespace ${namespace}`);
  }
  // Pod Security admission would refuse pods on the host network or with a hostPath volume in a
  // namespace below "privileged"; the others are written to meet "restricted".
  const ns = named(docs, 'Namespace', namespace);
  assert.ok(ns, `the Namespace ${namespace} is rendered`);
  const hostAccess = all.some((w) => w.spec.template.spec.hostNetwork || w.spec.template.spec.volumes?.some((v) => v.hostPath));
  assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], hostAccess ? 'privileged' : 'restricted',
    `Namespace ${namespace}: the Pod Security level its pods need`);
}

/** The Prometheus operator's ServiceMonitor: the fields it must have to find FlowGate's /metrics. */
function checkServiceMonitor(doc: Manifest, all: readonly Manifest[]): void {
  interface Spec { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path?: string }[] }
  assert.equal(doc.apiVersion, 'monitoring.coreos.com/v1');
  const spec = doc.spec as Spec;
  const services = all.filter((d) => d.kind === 'Service' && d.metadata.namespace === doc.metadata.namespace
    && selects(spec.selector.matchLabels, d.metadata.labels));
  assert.ok(spec.endpoints.length > 0, 'ServiceMonitor: at least one endpoint');
  for (const e of spec.endpoints) {
    assert.equal(e.path ?? '/metrics', '/metrics');
    const scraped = services.filter((s) => (s.spec as ServiceSpec).ports.some((p) => p.name === e.port));
    assert.ok(scraped.length > 0, `ServiceMonitor/${doc.metadata.name}: a Service of its namespace has port ${e.port}`);
  }
  const fields = new Set(Object.keys(doc.spec as object));
  for (const f of fields) assert.ok(['selector', 'endpoints', 'namespaceSelector', 'jobLabel'].includes(f), `ServiceMonitor: field spec.${f} is not one this check knows`);
}

function overlayNamespace(overlay: string): string {
  const kustomization = parseYaml(readFileSync(join(k8sDir, 'overlays', overlay, 'kustomization.yaml'), 'utf8')) as { namespace?: string };
  assert.ok(kustomization.namespace, `overlay ${overlay} sets a namespace`);
  return kustomization.namespace;
}

function checkRendered(docs: readonly Manifest[], namespace: string): Workload[] {
  assertValidAgainstSchemas(docs);
  const all = workloads(docs);
  assert.ok(all.length > 0, 'at least one workload');
  checkNamespaces(docs, namespace, all);
  for (const w of all) checkWorkload(docs, w);
  checkServices(docs, all);
  checkDisruptionBudgets(docs, all);
  checkAutoscalers(docs, all);
  for (const d of docs) CUSTOM_KINDS.get(d.kind)?.(d, docs);
  return all;
}

/** Which roles each overlay runs: the split the README describes. */
const OVERLAY_ROLES: Readonly<Record<string, readonly Role[]>> = { all: ['all'], split: ['decode', 'receive'] };

describe('Kubernetes manifests (deploy/kubernetes)', { skip: SKIP }, () => {
  const overlays = SKIP ? [] : subdirectories(join(k8sDir, 'overlays'));
  const components = SKIP ? [] : subdirectories(join(k8sDir, 'components'));

  test('the overlays are the ones this test knows the roles of', () => {
    assert.deepEqual(overlays, Object.keys(OVERLAY_ROLES).sort());
  });

  for (const overlay of overlays) {
    test(`overlay ${overlay} renders, validates against Kubernetes ${KUBERNETES_VERSIONS.join(' and ')}, and holds together`, () => {
      const docs = documents(succeeded(`rendering overlays/${overlay}`, render(join(k8sDir, 'overlays', overlay))));
      const all = checkRendered(docs, overlayNamespace(overlay));
      assert.deepEqual(all.map((w) => w.role).sort(), [...(OVERLAY_ROLES[overlay] ?? [])].sort());
    });

    for (const component of components) {
      test(`overlay ${overlay} with component ${component} renders and validates (custom kinds checked by field)`, () => {
        const namespace = overlayNamespace(overlay);
        const run = renderWithComponents(join(k8sDir, 'overlays', overlay), [join(k8sDir, 'components', component)], namespace);
        const docs = documents(succeeded(`rendering overlays/${overlay} + components/${component}`, run));
        assert.ok(docs.some((d) => CUSTOM_KINDS.has(d.kind)), 'the component adds a custom resource');
        checkRendered(docs, namespace);
      });
    }
  }
});
