// Secrets in the configuration: kafka.sasl.password, http.admin_token and each tenant's tap_token.
// Each may be given as `<key>_file` instead, the path of a file holding it (a mounted Kubernetes
// Secret, a Docker or systemd credential): read when the configuration loads (again on a reload),
// one trailing newline removed. And no problem text ever shows a secret's value.
import { readFileSync } from 'node:fs';
import type { Path, Problem } from './problems.js';

/** Keys that hold a secret, wherever they appear. */
export const secretKeys: ReadonlySet<string> = new Set(['password', 'admin_token', 'tap_token']);
const FILE_SUFFIX = '_file';

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Replaces every `<secret>_file` in `data` (in place) by `<secret>` with the file's content. */
export function readSecretFiles(data: unknown, problems: Problem[], path: Path = [], read: (file: string) => string = (f) => readFileSync(f, 'utf8')): void {
  if (Array.isArray(data)) {
    data.forEach((item, i) => readSecretFiles(item, problems, [...path, i], read));
    return;
  }
  if (!isMapping(data)) return;
  for (const key of Object.keys(data)) {
    const secret = key.endsWith(FILE_SUFFIX) ? key.slice(0, -FILE_SUFFIX.length) : '';
    if (!secretKeys.has(secret)) {
      readSecretFiles(data[key], problems, [...path, key], read);
      continue;
    }
    const file = data[key];
    const at = [...path, key];
    delete data[key];
    if (typeof file !== 'string' || file === '') {
      problems.push({ path: at, message: 'expected the path of a file holding the secret' });
      data[secret] ??= '';
    } else if (data[secret] !== undefined && data[secret] !== '') {
      problems.push({ path: at, message: `set ${secret} or ${key}, not both` });
    } else {
      try {
        data[secret] = read(file).replace(/\r?\n$/, '');
      } catch (err) {
        problems.push({ path: at, message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
        data[secret] = ''; // this problem is the one to report, not a missing secret
      }
    }
  }
}

/** A problem's text with the value it quotes left out when its key holds a secret. */
export function hideSecret(path: Path | null | undefined, message: string): string {
  const last = path?.[path.length - 1];
  return typeof last === 'string' && secretKeys.has(last) ? message.replace(/, got [\s\S]*$/, ', got a value not shown (a secret)') : message;
}
