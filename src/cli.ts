// `flowgate <command>`: dispatches to one module per command.
import { runDecode } from './commands/decode.js';
import { runServe } from './commands/serve.js';
import { runCheck } from './commands/check.js';
import { runStart } from './commands/start.js';

const usage = `usage: flowgate <command> [options]

commands:
  serve [--config FILE] [--set path=value ...]
      run the gateway against the configured Kafka brokers (production)
  start [--config FILE] [--set path=value ...]
      like serve, but first starts the project's local Kafka when the brokers are on this machine and down
  check [--config FILE] [--set path=value ...]
      validate a configuration; exit 0 when valid, 1 with every problem listed
  decode FILE [--port N] [--fields LIST] [--ignore-port] [--template-lifetime S]
      decode a pcap / pcapng capture of IPFIX, NetFlow v9 or v5 export datagrams;
      JSON records on stdout (exactly what goes to Kafka), a summary on stderr
`;

/** Runs the command in argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'start':
      return runStart(rest);
    case 'check':
      return runCheck(rest);
    case 'decode':
      return runDecode(rest);
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
