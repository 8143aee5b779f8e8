// `flowgate health [--config FILE] [--set path=value ...]`: asks a running gateway's /readyz on
// the address its configuration gives and exits 0 when ready, 1 when not or unreachable. The
// container image's HEALTHCHECK runs it: the image has no curl, and the HTTP port follows the
// configuration (file, FLOWGATE_* variables, --set) instead of being written into the image.
import { splitHostPort } from '../config/addresses.js';
import { configCommandArgs, loadConfigOrReport } from './config-command.js';

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
  const args = configCommandArgs('health', healthHelp, argv, { 'timeout-ms': '2000' });
  if (typeof args === 'number') return args;
  const config = await loadConfigOrReport(args);
  if (!config) return 1;
  const url = readyzUrl(config.http.listen);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(Number(args.options['timeout-ms']) || 2000) });
    const body = (await response.text()).trim();
    if (response.status === 200) return 0;
    process.stderr.write(`flowgate health: ${url} answered ${response.status}: ${body}\n`);
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code; // fetch hides ECONNREFUSED in cause
    process.stderr.write(`flowgate health: ${url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}\n`);
  }
  return 1;
}
