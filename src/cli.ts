// `flowgate <command>`: dispatches to one module per command, imported only when it runs (start-up
// time: `serve` need not load the decoder's pcap reader, nor `decode` the HTTP server).
import { availableParallelism } from 'node:os';
import { prewarmDecoderWorkers } from './decoder/prewarm.js';

const usage = `usage: flowgate <command> [options]

commands:
  serve [--config FILE] [--set path=value ...]
      run the gateway against the configured Kafka brokers (production)
  start [--config FILE] [--set path=value ...]
      like serve, but first starts the project's local Kafka when the brokers are on this machine and down
  check [--config FILE] [--set path=value ...]
      validate a configuration; exit 0 when valid, 1 with every problem listed
  health [--config FILE] [--set path=value ...]
      ask the gateway this configuration describes whether it is ready (/readyz); exit 0 or 1
  decode FILE [--port N] [--fields LIST] [--ignore-port] [--template-lifetime S]
      decode a pcap / pcapng capture of IPFIX, NetFlow v9 or v5 export datagrams;
      JSON records on stdout (exactly what goes to Kafka), a summary on stderr
  firewall [--config FILE] [--set path=value ...] [--table NAME]
      print the admission rules and rate limits as an nftables ruleset (nft -f -), so the
      kernel drops a flood before it fills the UDP socket's buffer
`;

/** Boots one decoder worker per CPU (the default of `workers`) while the config loads; see prewarm.ts. */
function prewarm(): void {
  prewarmDecoderWorkers(Math.max(1, availableParallelism() - 1));
}

/** Runs the command in argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      prewarm();
      return (await import('./commands/serve.js')).runServe(rest);
    case 'start':
      prewarm();
      return (await import('./commands/start.js')).runStart(rest);
    case 'check':
      return (await import('./commands/check.js')).runCheck(rest);
    case 'health':
      return (await import('./commands/health.js')).runHealth(rest);
    case 'decode':
      return (await import('./commands/decode.js')).runDecode(rest);
    case 'firewall':
      return (await import('./commands/firewall.js')).runFirewall(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`flowgate: unknown command "${command}"\n\n${usage}`);
      return 1;
  }
}
