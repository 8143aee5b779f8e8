// `flowgate <command>`: dispatches to one module per command.
import { runDecode } from './commands/decode.js';

const usage = `usage: flowgate <command> [options]

commands:
  decode FILE [--port N] [--fields LIST] [--ignore-port] [--template-lifetime S]
      decode a pcap / pcapng capture of IPFIX, NetFlow v9 or v5 export datagrams;
      JSON records on stdout (exactly what goes to Kafka), a summary on stderr
`;

/** Runs the command in argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
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
