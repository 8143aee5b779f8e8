// The local Kafka broker as a process, for what the Kafka protocol does not tell a benchmark: its
// pid (CPU time from /proc) and its log directories (bytes a topic takes on disk). Found by
// reading /proc/<pid>/cmdline of every process for kafka.Kafka and its server.properties: the
// one whose listeners name the port asked for. Read only: nothing is signalled. Linux only;
// undefined elsewhere or when the broker runs in a container this machine's /proc cannot see.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BrokerProcess {
  pid: number;
  /** log.dirs of its server.properties. */
  logDirs: string[];
}

function properties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf('=');
    if (i > 0) out.set(t.slice(0, i).trim(), t.slice(i + 1).trim());
  }
  return out;
}

/** The kafka.Kafka process listening on `port` of this machine, with its log directories. */
export function findBrokerProcess(port: number): BrokerProcess | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const p of pids) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone, or not ours to read
    }
    const main = args.indexOf('kafka.Kafka');
    if (main < 0 || !args[main + 1]?.endsWith('.properties')) continue;
    let props: Map<string, string>;
    try {
      props = properties(readFileSync(args[main + 1]!, 'utf8'));
    } catch {
      continue;
    }
    const listeners = props.get('listeners') ?? '';
    if (!listeners.split(',').some((l) => l.trim().endsWith(`:${port}`))) continue;
    const dirs = (props.get('log.dirs') ?? props.get('log.dir') ?? '').split(',').map((d) => d.trim()).filter(Boolean);
    return { pid: Number(p), logDirs: dirs };
  }
  return undefined;
}

/**
 * Bytes of a topic's log segments (*.log of every partition directory `<topic>-<n>`) in the
 * broker's log directories: record batches as the broker stores them (batch and record headers
 * included, indexes not). null when no partition directory is found.
 */
export function topicLogBytes(broker: BrokerProcess | undefined, topic: string): number | null {
  if (!broker) return null;
  let bytes = 0;
  let found = false;
  const partitionDir = new RegExp(`^${topic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`);
  for (const dir of broker.logDirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!partitionDir.test(e)) continue;
      found = true;
      for (const f of readdirSync(join(dir, e))) if (f.endsWith('.log')) bytes += statSync(join(dir, e, f)).size;
    }
  }
  return found ? bytes : null;
}
