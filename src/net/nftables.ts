// The admission rules and per-exporter rate limits of a configuration as an nftables ruleset
// (`flowgate firewall`), so the kernel drops what FlowGate would drop before it reaches the UDP
// socket. FlowGate's own checks (udp/admission.ts, udp/rate-limit.ts) cost about a microsecond per
// refused datagram, but they run after the socket's receive buffer: a flood faster than one process
// reads datagrams fills that buffer, and the kernel then drops real exporters' datagrams with the
// forged ones. Rules in the input hook drop the flood before the buffer.
//
// Same decisions as the receiver's, with two differences, both documented in docs/security.md: a
// tenant override applies to the prefixes the tenant lists (the receiver asks the router, where a
// more specific prefix of another tenant wins), and each rate-limit set remembers at most SET_SIZE
// sources (an idle one is forgotten after SET_TIMEOUT_S; beyond that a new source is not limited).
import type { Config } from '../config/schema.js';
import { formatPrefix, parseEndpoint, parsePrefix } from '../config/addresses.js';

/** Sources a rate-limit set tracks at once, and how long an idle one is kept. */
export const SET_SIZE = 262_144;
export const SET_TIMEOUT_S = 60;
/** Ahead of the usual filter chains (priority 0), so another ruleset's accept does not let a flood by. */
export const CHAIN_PRIORITY = -10;

interface Split {
  v4: string[];
  v6: string[];
}

function byFamily(prefixes: readonly string[]): Split {
  const out: Split = { v4: [], v6: [] };
  for (const text of prefixes) {
    const p = parsePrefix(text);
    if (typeof p === 'string') continue; // the schema refused it already
    (p.family === 4 ? out.v4 : out.v6).push(formatPrefix(p)); // IPv4-mapped as IPv4, as the kernel sees it
  }
  return out;
}

const limitExpr = (family: 'ip' | 'ip6', datagramsPerSecond: number, burst: number) =>
  `{ ${family} saddr limit rate over ${datagramsPerSecond}/second burst ${burst || datagramsPerSecond} packets }`;

/** The ruleset for `config`; `table` is the nftables table it replaces (inet family). */
export function renderNftables(config: Pick<Config, 'admission' | 'routing'> & { listen: Pick<Config['listen'], 'udp'> & Partial<Pick<Config['listen'], 'tcp'>> }, table = 'flowgate', source = 'config.yaml'): string {
  const portsOf = (addresses: readonly string[]) => [...new Set(addresses.map((a) => {
    const e = parseEndpoint(a, false);
    return typeof e === 'string' ? NaN : e.port;
  }).filter((p) => Number.isInteger(p) && p > 0))].sort((a, b) => a - b);
  const ports = portsOf(config.listen.udp);
  // IPFIX over TCP: admission only (a rate of datagrams means nothing on a stream; TCP has its own flow control).
  const tcpPorts = portsOf(config.listen.tcp ?? []);
  const { allow, tenants_only, rate_limit } = config.admission;
  const admitting = allow.length > 0 || tenants_only;
  // tenants_only lets in the tenants' exporters and the relays (routing.relays) that carry theirs.
  const admitted = byFamily([...allow, ...(tenants_only ? [...config.routing.tenants.flatMap((t) => t.exporters), ...(config.routing.relays ?? [])] : [])]);

  const sets: string[] = [];
  const rules: string[] = [];
  const set = (name: string, type: string, elements: string[], flags = 'interval') =>
    sets.push(`  set ${name} { type ${type}; flags ${flags};${elements.length ? ` elements = { ${elements.join(', ')} };` : ''} }`);
  if (admitting) {
    set('admitted_v4', 'ipv4_addr', admitted.v4);
    set('admitted_v6', 'ipv6_addr', admitted.v6);
    rules.push('    # admission: allow and tenants_only (FlowGate counts these as not_allowed)');
    rules.push('    ip saddr != @admitted_v4 counter name not_allowed drop');
    rules.push('    ip6 saddr != @admitted_v6 counter name not_allowed drop');
  }
  const limiter = (name: string) => `  set ${name} { type ${name.endsWith('v4') ? 'ipv4_addr' : 'ipv6_addr'}; size ${SET_SIZE}; flags dynamic,timeout; timeout ${SET_TIMEOUT_S}s; }`;
  rate_limit.overrides.forEach((o, i) => {
    const prefixes = byFamily(o.exporters ?? config.routing.tenants.find((t) => t.name === o.tenant)?.exporters ?? []);
    rules.push(`    # rate_limit.overrides[${i}]: ${o.exporters ? 'exporters' : `tenant ${o.tenant}`}, ${o.datagrams_per_s === 0 ? 'no limit' : `${o.datagrams_per_s}/s`}`);
    for (const [family, list, suffix] of [['ip', prefixes.v4, 'v4'], ['ip6', prefixes.v6, 'v6']] as const) {
      if (!list.length) continue;
      const match = `${family} saddr { ${list.join(', ')} }`;
      if (o.datagrams_per_s > 0) {
        sets.push(limiter(`rate_${i}_${suffix}`));
        rules.push(`    ${match} update @rate_${i}_${suffix} ${limitExpr(family, o.datagrams_per_s, o.burst)} counter name rate_limited drop`);
      }
      rules.push(`    ${match} accept`);
    }
  });
  if (rate_limit.datagrams_per_s > 0) {
    sets.push(limiter('rate_default_v4'), limiter('rate_default_v6'));
    rules.push(`    # rate_limit: ${rate_limit.datagrams_per_s}/s per exporter address`);
    rules.push(`    update @rate_default_v4 ${limitExpr('ip', rate_limit.datagrams_per_s, rate_limit.burst)} counter name rate_limited drop`);
    rules.push(`    update @rate_default_v6 ${limitExpr('ip6', rate_limit.datagrams_per_s, rate_limit.burst)} counter name rate_limited drop`);
  }
  const header = [
    '#!/usr/sbin/nft -f',
    `# FlowGate's admission rules and rate limits for UDP ports ${ports.join(', ') || '(none)'}${tcpPorts.length ? ` (admission also for TCP ports ${tcpPorts.join(', ')})` : ''}, from ${source}`,
    '# (flowgate firewall). Applying it replaces the table; counters: nft list counters table inet ' + table,
  ];
  if (!admitting && rate_limit.datagrams_per_s === 0 && rate_limit.overrides.every((o) => o.datagrams_per_s === 0)) {
    header.push('# The configuration admits every source without a limit: the table has nothing to drop.');
  }
  return [
    ...header,
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  counter not_allowed { }',
    '  counter rate_limited { }',
    ...sets,
    '  chain input {',
    `    type filter hook input priority ${CHAIN_PRIORITY}; policy accept;`,
    ports.length ? `    udp dport { ${ports.join(', ')} } jump exporters` : '    # no UDP listen port',
    ...(tcpPorts.length && admitting ? [`    tcp dport { ${tcpPorts.join(', ')} } jump exporters_tcp`] : []),
    '  }',
    ...(tcpPorts.length && admitting ? [
      '  chain exporters_tcp {',
      '    ip saddr != @admitted_v4 counter name not_allowed drop',
      '    ip6 saddr != @admitted_v6 counter name not_allowed drop',
      '  }',
    ] : []),
    '  chain exporters {',
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n');
}
