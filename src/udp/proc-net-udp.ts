// A UDP socket's kernel counters from /proc/net/udp (udp6 for IPv6), Linux only: the one parser
// of that file (the metrics and bench/lib/proc-net-udp.ts use it). A row:
//   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
// local_address is HEX_ADDRESS:HEX_PORT (the address in host byte order per 32-bit word, so
// 127.0.0.1 is 0100007F); `drops` (the last field) counts datagrams the kernel dropped because
// the receive buffer was full (it matches /proc/net/snmp Udp: RcvbufErrors), rx_queue is the
// bytes waiting in the receive buffer.
import { readFileSync } from 'node:fs';

export type UdpFamily = 'udp' | 'udp6';

export interface UdpSocketRow {
  /** Local address as the file writes it: hex, host byte order per 32-bit word. */
  localAddressHex: string;
  localPort: number;
  /** Bytes in the receive queue now. */
  rxQueue: number;
  inode: number;
  /** Datagrams dropped by the kernel for this socket since it was created. */
  drops: number;
}

/** One row of /proc/net/udp or udp6; null for the header and anything that is not a socket row. */
export function parseUdpSocketRow(line: string): UdpSocketRow | null {
  const f = line.trim().split(/\s+/);
  if (f.length < 13 || !/^[0-9]+:$/.test(f[0]!)) return null;
  const local = f[1]!;
  const colon = local.lastIndexOf(':');
  const queues = f[4]!.split(':');
  if (colon < 0 || queues.length !== 2) return null;
  return {
    localAddressHex: local.slice(0, colon),
    localPort: parseInt(local.slice(colon + 1), 16),
    rxQueue: parseInt(queues[1]!, 16),
    inode: Number(f[9]),
    drops: Number(f[f.length - 1]),
  };
}

/** Every socket row of /proc/net/udp or udp6; empty when the file cannot be read (not Linux). */
export function readUdpSockets(family: UdpFamily): UdpSocketRow[] {
  let text: string;
  try {
    text = readFileSync(`/proc/net/${family}`, 'utf8');
  } catch {
    return [];
  }
  const rows: UdpSocketRow[] = [];
  for (const line of text.split('\n')) {
    const row = parseUdpSocketRow(line);
    if (row) rows.push(row);
  }
  return rows;
}

/** Receive queue and kernel drops of our sockets, labelled "udp:PORT" / "udp6:PORT". Empty off Linux. */
export function udpSocketStats(ports: { family: UdpFamily; port: number }[]): { socket: string; rxQueue: number; drops: number }[] {
  const out: { socket: string; rxQueue: number; drops: number }[] = [];
  for (const family of ['udp', 'udp6'] as const) {
    const wanted = new Set(ports.filter((p) => p.family === family).map((p) => p.port));
    if (wanted.size === 0) continue;
    for (const row of readUdpSockets(family)) {
      if (wanted.has(row.localPort)) out.push({ socket: `${family}:${row.localPort}`, rxQueue: row.rxQueue, drops: row.drops });
    }
  }
  return out;
}
