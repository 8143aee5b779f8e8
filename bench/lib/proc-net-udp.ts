// A UDP socket's kernel counters from /proc/net/udp (udp6 for IPv6), Linux only. A row:
//   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
// local_address is HEX_ADDRESS:HEX_PORT (the address in host byte order per 32-bit word, so
// 127.0.0.1 is 0100007F); field 13 (`drops`) counts datagrams the kernel dropped because the
// receive buffer was full (it matches /proc/net/snmp Udp: RcvbufErrors), field 5 holds rx_queue,
// the bytes waiting in the receive buffer.
import { readFileSync } from 'node:fs';

export interface UdpSocketCounters {
  /** Datagrams dropped by the kernel for this socket since it was created. */
  drops: number;
  /** Bytes in the receive queue now. */
  rxQueue: number;
  inode: number;
}

/** The counters of the IPv4 socket bound to `port` (and `address`, dotted, if given); undefined if none. */
export function udpSocketCounters(port: number, address?: string, family: 'udp' | 'udp6' = 'udp'): UdpSocketCounters | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/net/${family}`, 'utf8');
  } catch {
    return undefined;
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const addressHex = address && family === 'udp'
    ? address.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('')
    : undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const [localAddress, localPort] = f[1]!.split(':');
    if (localPort !== portHex || (addressHex && localAddress !== addressHex)) continue;
    return { drops: Number(f[12]), rxQueue: parseInt(f[4]!.split(':')[1]!, 16), inode: Number(f[9]) };
  }
  return undefined;
}
