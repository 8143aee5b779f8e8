// One UDP socket's kernel counters (drops, receive queue) for the benchmarks, looked up by port
// and address among the rows src/udp/proc-net-udp.ts parses (the one parser of /proc/net/udp).
import { readUdpSockets, type UdpFamily, type UdpSocketRow } from '../../src/udp/proc-net-udp.js';

/** /proc/net/udp writes an IPv4 address in host byte order: 127.0.0.1 is 0100007F. */
function ipv4Hex(dotted: string): string {
  return dotted.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}

/** The socket bound to `port` (and to `address`, dotted IPv4, if given); undefined if none or off Linux. */
export function udpSocketCounters(port: number, address?: string, family: UdpFamily = 'udp'): UdpSocketRow | undefined {
  const addressHex = address && family === 'udp' ? ipv4Hex(address) : undefined;
  return readUdpSockets(family).find((r) => r.localPort === port && (!addressHex || r.localAddressHex === addressHex));
}
