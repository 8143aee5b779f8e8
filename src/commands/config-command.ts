// What `flowgate check`, `health` and `firewall` share: the --config / --set / -h arguments (plus
// a command's own string options), the usage error or help they print, and loading the
// configuration the way the server does, its problems printed.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

export interface ConfigCommandArgs<K extends string> {
  config: string;
  set: string[];
  options: Record<K, string>;
}

/**
 * Parses `argv`; `defaults` names the command's own string options and their defaults. Returns
 * the exit code instead when the command is done: 0 after printing `help` (-h), 1 after a usage error.
 */
export function configCommandArgs<K extends string>(command: string, help: string, argv: string[], defaults: Record<K, string>): ConfigCommandArgs<K> | number {
  const own = Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, { type: 'string' as const, default: v as string }]));
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', default: 'config.yaml' },
        set: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
        ...own,
      },
    });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const parsed = values as Record<string, unknown>;
    const options = Object.fromEntries(Object.keys(defaults).map((k) => [k, String(parsed[k])])) as Record<K, string>;
    return { config: values.config as string, set: values.set as string[], options };
  } catch (err) {
    process.stderr.write(`flowgate ${command}: ${(err as Error).message}\n\n${help}`);
    return 1;
  }
}

/** The configuration, as the server would load it; null after printing its problems. */
export async function loadConfigOrReport(args: { config: string; set: string[] }): Promise<Config | null> {
  try {
    return await loadConfig(args.config, { env: process.env, overrides: args.set });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return null;
  }
}
