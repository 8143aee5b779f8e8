// `flowgate check --config FILE [--set path=value ...]`: validates a configuration the way the
// server loads it (file, then FLOWGATE_* variables, then --set flags) and exits 0 or 1, so a
// change can be checked before a reload or in CI.
import { configCommandArgs, loadConfigOrReport } from './config-command.js';

export const checkHelp = `usage: flowgate check [--config FILE] [--set path=value ...]

  --config FILE     configuration to validate (default ./config.yaml); FLOWGATE_* variables and --set override it
  --set path=value  override one key, e.g. --set kafka.brokers='["10.0.0.1:9092"]' (repeatable)

Prints a summary and exits 0 when the configuration is valid; prints every problem and exits 1 when not.
`;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Runs `flowgate check`; resolves to the exit code. */
export async function runCheck(argv: string[]): Promise<number> {
  const args = configCommandArgs('check', checkHelp, argv, {});
  if (typeof args === 'number') return args;
  const config = await loadConfigOrReport(args);
  if (!config) return 1;
  const { tenants, default_topic, unknown_exporters } = config.routing;
  const prefixes = tenants.reduce((n, t) => n + t.exporters.length, 0);
  process.stdout.write(`config OK: ${args.config} (${plural(tenants.length, 'tenant', 'tenants')}, `
    + `${plural(prefixes, 'exporter prefix', 'exporter prefixes')}, default topic ${default_topic}, unknown exporters: ${unknown_exporters})\n`);
  return 0;
}
