// One JSON object per line on stderr: {"time":...,"level":"info","msg":"...",...}. Small
// enough to write by hand; messages are lowercase, fields carry the details. Repeated
// warnings are rate-limited per key so a broken exporter cannot flood the log.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Logs at most `burst` lines per `key` every `periodMs`, then one line saying how many were suppressed. */
  sampled(level: LogLevel, key: string, msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const min = order[level];
  const samples = new Map<string, { start: number; count: number }>();
  const periodMs = 10_000;
  const burst = 3;
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (order[lvl] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields }) + '\n');
  };
  const logger: Logger = {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    sampled(lvl, key, msg, fields) {
      const now = Date.now();
      let s = samples.get(key);
      if (!s || now - s.start >= periodMs) {
        if (s && s.count > burst) emit(lvl, 'repeated log lines suppressed', { key, suppressed: s.count - burst });
        s = { start: now, count: 0 };
        samples.set(key, s);
        if (samples.size > 10_000) samples.clear();
      }
      if (++s.count <= burst) emit(lvl, msg, fields);
    },
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
  return logger;
}
