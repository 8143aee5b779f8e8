// The two offline tools the Kubernetes manifests' tests run, both built or installed by .ci/run
// under .tools/ (git-ignored), so a test needs nothing from the network:
//   .tools/kustomize-render         tools/kustomize-render (the kustomize API, pinned in go.mod)
//   .tools/k8s-venv/bin/kubernetes-validate   from PyPI, pinned in tools/kubernetes-validate/requirements.txt
// kubernetes-validate carries the Kubernetes OpenAPI schemas of each release it knows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from './paths.js';

export const kustomizeRender = join(repoRoot, '.tools', 'kustomize-render');
export const kubernetesValidate = join(repoRoot, '.tools', 'k8s-venv', 'bin', 'kubernetes-validate');
/** The kubernetes-validate release tools/kubernetes-validate/requirements.txt pins. */
export const kubernetesValidateVersion = '1.37.0';

const howToInstall = 'run the tool steps of .ci/run (bash .ci/run installs them; or by hand: '
  + '(cd tools/kustomize-render && go build -o ../../.tools/kustomize-render .) and '
  + 'python3 -m venv .tools/k8s-venv && .tools/k8s-venv/bin/pip install -r tools/kubernetes-validate/requirements.txt)';

/** Why the manifests cannot be rendered and validated here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (!existsSync(kustomizeRender)) return `no ${kustomizeRender}: ${howToInstall}`;
  if (!existsSync(kubernetesValidate)) return `no ${kubernetesValidate}: ${howToInstall}`;
  const version = spawnSync(kubernetesValidate, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return `${kubernetesValidate} does not run: ${version.error?.message ?? version.stderr}`;
  if (version.stdout.trim() !== kubernetesValidateVersion) {
    return `${kubernetesValidate} is ${version.stdout.trim()}, the tests expect ${kubernetesValidateVersion}: ${howToInstall}`;
  }
  return undefined;
}

export interface ToolRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[]): ToolRun {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error) return { ok: false, stdout: r.stdout ?? '', stderr: `${command}: ${r.error.message}` };
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** `kustomize build DIR`: the rendered YAML stream on stdout. */
export function render(kustomizationDir: string): ToolRun {
  return run(kustomizeRender, [kustomizationDir]);
}

/**
 * Validates a YAML stream against the API schemas of each Kubernetes version, strictly (a field
 * the schema does not know is an error, as a misspelt one would be). Every line of output names
 * a resource: INFO passed, ERROR did not validate, WARN no schema for its kind.
 */
export function validate(yamlStream: string, kubernetesVersions: readonly string[]): ToolRun {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-k8s-'));
  try {
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, yamlStream);
    return run(kubernetesValidate, ['--strict', ...kubernetesVersions.flatMap((v) => ['-k', v]), file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Renders `base` with kustomize components added, in `namespace`, as an overlay listing them would: a
 * kustomization written to a temporary directory (removed afterwards) that points at both.
 */
export function renderWithComponents(base: string, components: readonly string[], namespace: string): ToolRun {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-k8s-'));
  try {
    // kustomize takes no absolute path as a kustomization root: relative to the temporary one.
    const from = (p: string): string => JSON.stringify(relative(dir, p));
    writeFileSync(join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `namespace: ${JSON.stringify(namespace)}`,
      `resources: [${from(base)}]`,
      `components: [${components.map(from).join(', ')}]`,
      '',
    ].join('\n'));
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
