// `flowgate firewall [--config FILE] [--table NAME]`: prints the configuration's admission rules
// and per-exporter rate limits as an nftables ruleset (src/net/nftables.ts), for `nft -f`. The
// kernel then drops a flood before it fills the UDP socket's buffer, where FlowGate's own checks
// can only drop what it has read (docs/security.md).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { renderNftables } from '../net/nftables.js';

export const firewallHelp = `usage: flowgate firewall [--config FILE] [--set path=value ...] [--table NAME]

  --config FILE     configuration to read (default ./config.yaml); FLOWGATE_* variables and --set override it
  --table NAME      the nftables table (inet family) the ruleset replaces (default flowgate)

Prints an nftables ruleset that drops, in the kernel, what the configuration's admission.allow,
admission.tenants_only and admission.rate_limit would drop in FlowGate: apply it with
  flowgate firewall --config config.yaml | nft -f -
and apply it again after changing those keys. Counters: nft list counters table inet flowgate
`;

export async function runFirewall(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', default: 'config.yaml' },
        set: { type: 'string', multiple: true, default: [] },
        table: { type: 'string', default: 'flowgate' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`flowgate firewall: ${(err as Error).message}\n\n${firewallHelp}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(firewallHelp);
    return 0;
  }
  if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(values.table)) {
    process.stderr.write(`flowgate firewall: --table ${JSON.stringify(values.table)}: expected a letter then up to 31 letters, digits or _\n`);
    return 1;
  }
  try {
    const config = await loadConfig(values.config, { env: process.env, overrides: values.set });
    process.stdout.write(renderNftables(config, values.table, values.config));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
}
