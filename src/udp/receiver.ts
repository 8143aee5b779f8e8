// UDP sockets (IPv4 and IPv6) on the main thread. Each datagram is copied into the ring of
// the worker that owns its exporter; a full ring drops it ("ring_full") rather than waiting,
// so the receive loop never blocks. Exporter lookups are cached per source address.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { addressBytes } from '../net/address.js';
import type { DecoderPool } from '../decoder/pool.js';
import type { Logger } from '../log.js';

export const datagramDropReasons = ['ring_full', 'too_large'] as const;
export type DatagramDropReason = (typeof datagramDropReasons)[number];

export interface ReceiverStats {
  datagrams: number;
  bytes: number;
  dropped: Record<DatagramDropReason, number>;
}

/** "0.0.0.0:4739" or "[::]:4739" -> host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`listen address must be HOST:PORT or [V6HOST]:PORT, got "${text}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

interface Exporter {
  address: Uint8Array;
  worker: number;
}

export class UdpReceiver {
  readonly #listen: readonly string[];
  readonly #bufferBytes: number;
  readonly #pool: DecoderPool;
  readonly #log: Logger;
  readonly #sockets: dgram.Socket[] = [];
  readonly #exporters = new Map<string, Exporter>();
  readonly stats: ReceiverStats = { datagrams: 0, bytes: 0, dropped: { ring_full: 0, too_large: 0 } };

  constructor(listen: readonly string[], receiveBufferBytes: number, pool: DecoderPool, log: Logger) {
    this.#listen = listen;
    this.#bufferBytes = receiveBufferBytes;
    this.#pool = pool;
    this.#log = log;
  }

  /** Binds every listen address; resolves with the bound addresses (port 0 gets a free port). */
  async start(): Promise<AddressInfo[]> {
    const bound: AddressInfo[] = [];
    for (const text of this.#listen) {
      const { host, port } = parseListen(text);
      const v6 = host.includes(':');
      // ipv6Only keeps [::] from claiming the IPv4 port as well, so both can be listed.
      const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: this.#bufferBytes });
      socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address, rinfo.port));
      socket.on('error', (err) => this.#log.error('udp socket error', { listen: text, error: err.message }));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: host, port }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      this.#sockets.push(socket);
      const info = socket.address();
      bound.push(info);
      this.#log.info('listening for IPFIX / NetFlow', { address: info.address, port: info.port, receiveBufferBytes: socket.getRecvBufferSize() });
    }
    return bound;
  }

  #onDatagram(msg: Buffer, from: string, port: number): void {
    this.stats.datagrams++;
    this.stats.bytes += msg.length;
    let exporter = this.#exporters.get(from);
    if (!exporter) {
      const address = addressBytes(from);
      exporter = { address, worker: this.#pool.workerFor(address) };
      if (this.#exporters.size > 100_000) this.#exporters.clear();
      this.#exporters.set(from, exporter);
    }
    const result = this.#pool.ring(exporter.worker).push(msg, exporter.address, 0, port, Date.now());
    if (result === 1) this.stats.dropped.ring_full++;
    else if (result === 2) this.stats.dropped.too_large++;
  }

  /** The kernel-side sockets, for /proc/net/udp lookups. */
  boundPorts(): { family: 'udp' | 'udp6'; port: number }[] {
    return this.#sockets.map((s) => {
      const a = s.address();
      return { family: a.family === 'IPv6' ? 'udp6' : 'udp', port: a.port };
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.#sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.#sockets.length = 0;
  }
}
