// UDP sockets (IPv4 and IPv6) on the main thread. Each datagram is copied into the ring of
// the worker that owns its exporter; a full ring drops it ("ring_full") rather than waiting,
// so the receive loop never blocks; a source the admission rules refuse is dropped
// ("not_allowed") before that, and a datagram over its exporter's rate limit ("rate_limited").
// Exporter lookups (worker, admission, rate limit) are cached per source address, with whether
// the exporter is protected (udp/admission.ts), which each datagram's ring slot carries.
// Per datagram this is the hot path of the process (bench/receive.bench.ts): nothing here may
// allocate, post or make a system call; see datagram-hook.ts and tick-clock.ts for what was cut.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { platform } from 'node:os';
import { addressBytes } from '../net/address.js';
import { splitHostPort } from '../config/addresses.js';
import { receiverDropReasons, zeroCounts, type ReceiverDropReason } from '../pipeline/drop-reasons.js';
import type { PacketRing } from '../ring/ring.js';
import { receiveDatagrams, type DatagramPath } from './datagram-hook.js';
import { TickClock } from './tick-clock.js';
import type { Admission } from './admission.js';
import { bucketFor, LimitedCounts, takeToken, type LimitedCount, type RateLimits, type TokenBucket } from './rate-limit.js';
import type { Logger } from '../log.js';

export interface ReceiverStats {
  datagrams: number;
  bytes: number;
  dropped: Record<ReceiverDropReason, number>;
}

interface Exporter {
  address: Uint8Array;
  worker: number;
  /** Let in by the admission rules (decided once per source address). */
  admitted: boolean;
  /** Its rate limit's bucket (ratePerMs 0: none). */
  bucket: TokenBucket;
  /** Where its rate-limited datagrams are counted by exporter, once it had one. */
  limited: LimitedCount | null;
  /** Its ring slots' flags: SLOT_FLAG_PROTECTED when the configuration names it. */
  flags: number;
}

/** Where datagrams go: the decoder pool's rings (DecoderPool), or a benchmark's. */
export interface RingSet {
  /** The worker that owns an exporter, from its 16 address bytes. */
  workerFor(address: Uint8Array): number;
  ring(worker: number): PacketRing;
}

export interface ReceiverOptions {
  /** 'event' forces dgram's public 'message' event instead of the handle hook (tests). */
  datagramPath?: DatagramPath;
}

export class UdpReceiver {
  readonly #listen: readonly string[];
  readonly #bufferBytes: number;
  readonly #rings: RingSet;
  readonly #log: Logger;
  readonly #options: ReceiverOptions;
  readonly #sockets: dgram.Socket[] = [];
  readonly #exporters = new Map<string, Exporter>();
  #admission: Admission | null = null;
  #rateLimits: RateLimits | null = null;
  /** Rate-limited datagrams by exporter (bounded labels); kept across reloads, as counters must be. */
  readonly limitedByExporter = new LimitedCounts();
  readonly #clock = new TickClock();
  readonly #onDatagram = (msg: Buffer, from: string, port: number): void => this.#receive(msg, from, port);
  readonly stats: ReceiverStats = { datagrams: 0, bytes: 0, dropped: zeroCounts(receiverDropReasons) };
  /** How each socket delivers datagrams (the handle hook unless this Node's dgram changed). */
  readonly datagramPaths: DatagramPath[] = [];

  constructor(listen: readonly string[], receiveBufferBytes: number, rings: RingSet, log: Logger, options: ReceiverOptions = {}) {
    this.#listen = listen;
    this.#bufferBytes = receiveBufferBytes;
    this.#rings = rings;
    this.#log = log;
    this.#options = options;
  }

  /** Binds every listen address; resolves with the bound addresses (port 0 gets a free port). */
  async start(): Promise<AddressInfo[]> {
    const bound: AddressInfo[] = [];
    for (const text of this.#listen) {
      const { host, port } = splitHostPort(text, false);
      const v6 = host.includes(':');
      // ipv6Only keeps [::] from claiming the IPv4 port as well, so both can be listed.
      const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: this.#bufferBytes });
      socket.on('error', (err) => this.#log.error('udp socket error', { listen: text, error: err.message }));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: host, port }, () => {
          socket.off('error', reject);
          // In bind's callback, before the first poll phase can deliver a datagram.
          this.datagramPaths.push(receiveDatagrams(socket, this.#onDatagram, this.#options.datagramPath));
          resolve();
        });
      });
      this.#sockets.push(socket);
      const info = socket.address();
      bound.push(info);
      const granted = socket.getRecvBufferSize();
      this.#log.info('listening for IPFIX / NetFlow', { address: info.address, port: info.port, receiveBufferBytes: granted });
      // Linux grants min(request, net.core.rmem_max) and reports twice that. The buffer is what
      // absorbs the receive thread's pauses (GC, other processes on its core): at 200k datagrams/s
      // 8 MiB holds ~15 ms of 1,400 B datagrams.
      if (platform() === 'linux' && granted < 2 * this.#bufferBytes) {
        this.#log.warn('udp receive buffer capped by net.core.rmem_max; raise it to avoid kernel drops in bursts', {
          listen: text, requestedBytes: this.#bufferBytes, grantedBytes: granted / 2,
          fix: `sysctl -w net.core.rmem_max=${this.#bufferBytes}`,
        });
      }
    }
    return bound;
  }

  #receive(msg: Buffer, from: string, port: number): void {
    this.stats.datagrams++;
    this.stats.bytes += msg.length;
    let exporter = this.#exporters.get(from);
    if (!exporter) {
      const address = addressBytes(from);
      const admission = this.#admission;
      exporter = {
        address, worker: this.#rings.workerFor(address), admitted: admission?.admits(from) ?? true, flags: admission?.slotFlags(from) ?? 0,
        bucket: bucketFor(this.#rateLimits?.limitFor(from) ?? null, this.#clock.now()), limited: null,
      };
      if (this.#exporters.size > 100_000) this.#exporters.clear();
      this.#exporters.set(from, exporter);
    }
    if (!exporter.admitted) {
      this.stats.dropped.not_allowed++;
      return;
    }
    const now = this.#clock.now();
    if (exporter.bucket.ratePerMs > 0 && !takeToken(exporter.bucket, now)) {
      this.stats.dropped.rate_limited++;
      (exporter.limited ??= this.limitedByExporter.counterFor(from)).count++;
      return;
    }
    const result = this.#rings.ring(exporter.worker).push(msg, exporter.address, 0, port, now, exporter.flags);
    if (result === 1) this.stats.dropped.ring_full++;
    else if (result === 2) this.stats.dropped.too_large++;
  }

  /** Sets the admission rules (null: every source, none protected); answers cached per source are forgotten. */
  setAdmission(admission: Admission | null): void {
    this.#admission = admission;
    this.#exporters.clear();
  }

  /** Sets the per-exporter rate limits (null: none); every exporter starts again with a full bucket. */
  setRateLimits(limits: RateLimits | null): void {
    this.#rateLimits = limits;
    this.#exporters.clear();
  }

  /** Each socket's receive buffer as the kernel reports it (twice the granted size on Linux). */
  receiveBufferBytes(): number[] {
    return this.#sockets.map((s) => s.getRecvBufferSize());
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
