// `flowgate firewall [--config FILE] [--table NAME]`: prints the configuration's admission rules
// and per-exporter rate limits as an nftables ruleset (src/net/nftables.ts), for `nft -f`. The
// kernel then drops a flood before it fills the UDP socket's buffer, where FlowGate's own checks
// can only drop what it has read (docs/security.md).
import { renderNftables } from '../net/nftables.js';
import { configCommandArgs, loadConfigOrReport } from './config-command.js';

export const firewallHelp = `usage: flowgate firewall [--config FILE] [--set path=value ...] [--table NAME]

  --config FILE     configuration to read (default ./config.yaml); FLOWGATE_* variables and --set override it
  --table NAME      the nftables table (inet family) the ruleset replaces (default flowgate)

Prints an nftables ruleset that drops, in the kernel, what the configuration's admission.allow,
admission.tenants_only and admission.rate_limit would drop in FlowGate: apply it with
  flowgate firewall --config config.yaml | nft -f -
and apply it again after changing those keys. Counters: nft list counters table inet flowgate
`;

export async function runFirewall(argv: string[]): Promise<number> {
  const args = configCommandArgs('firewall', firewallHelp, argv, { table: 'flowgate' });
  if (typeof args === 'number') return args;
  const { table } = args.options;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(table)) {
    process.stderr.write(`flowgate firewall: --table ${JSON.stringify(table)}: expected a letter then up to 31 letters, digits or _\n`);
    return 1;
  }
  const config = await loadConfigOrReport(args);
  if (!config) return 1;
  process.stdout.write(renderNftables(config, table, args.config));
  return 0;
}
