// config.yaml -> Config: parse the YAML, apply FLOWGATE_* variables then --set flags, validate,
// and report every problem at once, each with where it is (file:line, or the variable or flag
// it came from) and its YAML path:
//   config.yaml:12 routing.default_topic: "a b" is not a valid Kafka topic name (...)
//   workers: expected an integer from 0 to 64, got "two" (from env FLOWGATE_WORKERS)
import { readFile } from 'node:fs/promises';
import { applyOverrides, envOverrides, flagOverrides } from './overrides.js';
import { ConfigError, formatPath, type Problem } from './problems.js';
import { crossKeyProblems } from './rules.js';
import { validate, type Config } from './schema.js';
import { parseYaml } from './yaml.js';
import { hideSecret, readSecretFiles } from './secrets.js';

export { ConfigError } from './problems.js';
export { defaultConfig, type Config } from './schema.js';

export interface ParseOptions {
  /** Variables to read FLOWGATE_* overrides from. parseConfig reads none unless given; loadConfig defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** --set flags, "path=value", applied after the environment in order. */
  overrides?: string[];
  /** The file name problems are located in ("config.yaml:12 ..."); default "config". */
  source?: string;
}

/** The origin recorded for `path` or its nearest ancestor, if an override set it. */
function originOf(origins: Map<string, string>, path: (string | number)[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const origin = origins.get(formatPath(path.slice(0, n)));
    if (origin !== undefined) return origin;
  }
  return undefined;
}

/**
 * Parses and validates config text. Overrides from `options.env` (FLOWGATE_*) and then
 * `options.overrides` (--set) win over the text. Throws ConfigError listing every problem.
 */
export function parseConfig(text: string, options: ParseOptions = {}): Config {
  const source = options.source ?? 'config';
  const yaml = parseYaml(text);
  if (yaml.errors.length > 0) {
    throw new ConfigError(yaml.errors.map((e) => `${source}:${e.line}:${e.col} YAML syntax error: ${e.message}`));
  }
  // An empty file (or only comments) is all defaults.
  const data = yaml.data ?? {};
  const problems: Problem[] = [];
  const origins = new Map<string, string>();
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const root = data as Record<string, unknown>;
    const overrides = [...envOverrides(options.env ?? {}, problems), ...flagOverrides(options.overrides ?? [], problems)];
    applyOverrides(root, overrides, origins, problems);
    readSecretFiles(root, problems);
  }
  const { config, problems: schemaProblems } = validate(data);
  problems.push(...schemaProblems, ...crossKeyProblems(data));
  if (problems.length === 0 && config !== null) return config;

  const located = problems.map((p, order) => {
    const origin = p.origin ?? (p.path ? originOf(origins, p.path) : undefined);
    const line = origin === undefined && p.path ? yaml.lineOf(p.path) : undefined;
    const where = line === undefined ? '' : `${source}:${line} `;
    const message = hideSecret(p.path, p.message);
    const what = p.path ? `${formatPath(p.path)}: ${message}` : message;
    return { text: `${where}${what}${origin ? ` (from ${origin})` : ''}`, line: line ?? Infinity, order };
  });
  // File problems in file order, then those of overrides in the order they were applied.
  located.sort((a, b) => a.line - b.line || a.order - b.order);
  throw new ConfigError(located.map((p) => p.text));
}

/** Reads and parses a config file (see parseConfig); `options.env` defaults to process.env. */
export async function loadConfig(file: string, options: Omit<ParseOptions, 'source'> = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : e.message;
    throw new ConfigError([`${file}: cannot read the file (${why})`]);
  }
  return parseConfig(text, { env: options.env ?? process.env, overrides: options.overrides, source: file });
}
