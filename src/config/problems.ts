// A configuration problem (a path in the document and what is wrong there) and the one error
// that carries all of them, so an operator fixes a file in one pass rather than one per run.

/** A path in the document: mapping keys and list indexes, e.g. ['routing', 'tenants', 1, 'name']. */
export type Path = (string | number)[];

export interface Problem {
  /** null for a problem that belongs to no key (a malformed --set, an unreadable file). */
  path: Path | null;
  message: string;
  /** Where the value came from when not the file: "env FLOWGATE_X" or "--set a.b". */
  origin?: string;
}

/** routing.tenants[1].exporters[0]; the empty path is "(top level)". */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${segment}` : segment;
  return out || '(top level)';
}

export class ConfigError extends Error {
  readonly code = 'FG_ERR_CONFIG' as const;
  /** One line per problem, each starting with its location and YAML path. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
