// `flowgate health [--config FILE] [--set path=value ...]`: asks a running gateway's /readyz on
// the address its configuration gives and exits 0 when ready, 1 when not or unreachable. The
// container image's HEALTHCHECK runs it: the image has no curl, and the HTTP port follows the
// configuration (file, FLOWGATE_* variables, --set) instead of being written into the image.
import { parseArgs } from 'node:util';
import { splitHostPort } from '../config/addresses.js';
import { ConfigError, loadConfig } from '../config/load.js';

export const healthHelp = `usage: flowgate health [--config FILE] [--set path=value ...] [--timeout-ms N]

  --config FILE     the running gateway's configuration (default ./config.yaml), with the same
                    FLOWGATE_* variables and --set flags; http.listen says where to ask
  --timeout-ms N    give up after N ms (default 2000)

Exits 0 when GET /readyz answers 200, 1 otherwise (the answer or the error on stderr).
`;

/** The address to ask: a wildcard listen address is asked on the loopback of its family. */
export function readyzUrl(listen: string): string {
  const { host, port } = splitHostPort(listen, false);
  const v6 = host.includes(':');
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${v6 ? `[${target}]` : target}:${port}/readyz`;
}

/** Runs `flowgate health`; resolves to the exit code. */
export async function runHealth(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', default: 'config.yaml' },
        set: { type: 'string', multiple: true, default: [] },
        'timeout-ms': { type: 'string', default: '2000' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`flowgate health: ${(err as Error).message}\n\n${healthHelp}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(healthHelp);
    return 0;
  }
  let url: string;
  try {
    url = readyzUrl((await loadConfig(values.config, { env: process.env, overrides: values.set })).http.listen);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(Number(values['timeout-ms']) || 2000) });
    const body = (await response.text()).trim();
    if (response.status === 200) return 0;
    process.stderr.write(`flowgate health: ${url} answered ${response.status}: ${body}\n`);
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code; // fetch hides ECONNREFUSED in cause
    process.stderr.write(`flowgate health: ${url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}\n`);
  }
  return 1;
}
