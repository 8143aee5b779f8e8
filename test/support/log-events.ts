// Log records as events: each JSON line parsed, so a test matches a record by its `msg` (the
// event's name) and its fields, never by searching the line's text.
import { createLogger, type Logger, type LogLevel } from '../../src/log.js';

/** One log record: `msg` is the event's name, the other fields its details. */
export interface LogEvent {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A logger that keeps every record it writes, parsed, in `events` (in order). */
export function recordingLogger(level: LogLevel = 'info'): { log: Logger; events: LogEvent[] } {
  const events: LogEvent[] = [];
  return { log: createLogger(level, {}, (line) => events.push(JSON.parse(line) as LogEvent)), events };
}

/** The events named `msg` whose fields pass `match`. */
export function eventsNamed(events: readonly LogEvent[], msg: string, match: (e: LogEvent) => boolean = () => true): LogEvent[] {
  return events.filter((e) => e.msg === msg && match(e));
}
