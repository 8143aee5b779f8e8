// `flowgate serve --config FILE`: runs the gateway until SIGTERM / SIGINT; reloads routing on
// SIGHUP and when the file changes (a bad file is rejected and the running config kept).
import { parseArgs } from 'node:util';
import { watch, type FSWatcher } from 'node:fs';
import { loadConfig, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { startGateway, type Gateway } from '../gateway.js';
import type { HttpEndpoint } from '../http/endpoints.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from '../node-flags.js';

export const serveHelp = `usage: flowgate serve [--config FILE] [--role all|receive|decode] [--set path=value ...]

  --config FILE     configuration (default ./config.yaml); FLOWGATE_* variables and --set override it
  --role ROLE       all (receive and decode, the default), receive (UDP to the raw topic) or
                    decode (a consumer group member on the raw topic); the same as --set role=ROLE
  --set path=value  override one key, e.g. --set kafka.brokers='["10.0.0.1:9092"]' (repeatable)
`;

export interface ServeArgs {
  config: string;
  overrides: string[];
}

export function parseServeArgs(argv: string[]): ServeArgs | string {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', default: 'config.yaml' }, role: { type: 'string' }, set: { type: 'string', multiple: true, default: [] }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) return serveHelp;
    return { config: values.config, overrides: values.role === undefined ? values.set : [...values.set, `role=${values.role}`] };
  } catch (err) {
    return `flowgate serve: ${(err as Error).message}\n\n${serveHelp}`;
  }
}

/** Runs the gateway with `config` until a signal stops it; resolves to the exit code. */
export async function serveUntilSignal(args: ServeArgs, config: Config, log: Logger, onReady?: (gateway: Gateway, http: HttpEndpoint) => void): Promise<number> {
  // The HTTP side (uWS, prom-client: ~35 ms of imports) loads while the decoder workers boot.
  const httpModule = import('../http/endpoints.js');
  httpModule.catch(() => undefined); // awaited below; a failure is reported there
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, log);
  } catch (err) {
    log.error('gateway failed to start', { error: (err as Error).message });
    return 1;
  }
  let http: HttpEndpoint;
  try {
    http = await (await httpModule).startHttp(gateway, log);
  } catch (err) {
    log.error('http endpoint failed to start', { listen: config.http.listen, error: (err as Error).message });
    await gateway.stop();
    return 1;
  }
  onReady?.(gateway, http);
  const missing = missingNodeFlags();
  if (missing.length > 0) {
    log.warn('node started without the gateway\'s flags: more CPU goes to garbage collection', { missing, start: `node ${GATEWAY_NODE_FLAGS.join(' ')} bin/flowgate.js serve`, see: 'docs/performance.md section 18' });
  }
  log.info('ready', { udp: gateway.addresses.map((a) => `${a.address}:${a.port}`), tcp: gateway.tcpAddresses.map((a) => `${a.address}:${a.port}`), http: http.port, workers: gateway.pool.size });

  const reload = async (why: string): Promise<void> => {
    try {
      const next = await loadConfig(args.config, { env: process.env, overrides: args.overrides });
      const notes = gateway.reload(next);
      http.reload(next); // tokens and API protection apply at once
      log.info('config reloaded', { why, file: args.config, notApplied: notes });
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      log.error('config reload rejected', { why, file: args.config, problems, kept: 'the running config' });
    }
  };
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  try {
    // Editors replace files; watching the file and debouncing covers both writes and renames.
    watcher = watch(args.config, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void reload('file changed'), 200);
    });
  } catch (err) {
    log.warn('cannot watch config file, reload with SIGHUP', { file: args.config, error: (err as Error).message });
  }
  const onHup = (): void => void reload('SIGHUP');
  process.on('SIGHUP', onHup);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('stopping', { signal });
  watcher?.close();
  clearTimeout(debounce);
  process.off('SIGHUP', onHup);
  http.close();
  await gateway.stop();
  return 0;
}

/** Arguments and configuration of `serve` and `start`, or the exit code when they are not usable. */
export async function argsAndConfig(command: string, argv: string[]): Promise<{ args: ServeArgs; config: Config } | number> {
  const args = parseServeArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(args);
    return args === serveHelp ? 0 : 1;
  }
  try {
    return { args, config: await loadConfig(args.config, { env: process.env, overrides: args.overrides }) };
  } catch (err) {
    process.stderr.write(`flowgate ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

export async function runServe(argv: string[]): Promise<number> {
  const loaded = await argsAndConfig('serve', argv);
  if (typeof loaded === 'number') return loaded;
  return serveUntilSignal(loaded.args, loaded.config, createLogger(loaded.config.log.level as LogLevel));
}
