// IPFIX over TCP (RFC 7011 section 10.4) on the main thread, next to the UDP receiver: each
// connection's stream is cut into messages by their length field (framer.ts) and each message is
// copied into the ring of the worker that owns the exporter's address, as a datagram would be,
// with SLOT_FLAG_RELIABLE: the decoder then honours withdrawals and keeps the session's templates
// for as long as the connection lives (RFC 7011 section 8). When the connection closes, a
// zero-length SLOT_FLAG_SESSION_END slot follows its last message in the same ring, and the
// decoder frees the sessions of that address and port.
//
// TCP gives flow control, so a full ring is not a loss here: the message is kept, the socket is
// paused (the kernel's window closes on the exporter) and the push is tried again shortly.
// Admission is decided once per connection, at accept; a connection over
// listen.tcp_max_connections is closed at once. A stream that stops being IPFIX (bad version or
// length) cannot be framed again: the connection is closed and the error counted.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { addressBytes } from '../net/address.js';
import { splitHostPort } from '../config/addresses.js';
import { receiverDropReasons, zeroCounts, type ReceiverDropReason } from '../pipeline/drop-reasons.js';
import { RING_FULL, RING_TOO_LARGE, type PacketRing } from '../ring/ring.js';
import { SLOT_FLAG_RELIABLE, SLOT_FLAG_SESSION_END } from '../ring/slots.js';
import type { RingSet } from '../udp/receiver.js';
import type { Admission } from '../udp/admission.js';
import { FRAME_ERROR, FRAME_MESSAGE, IpfixFramer, type FramingError } from './framer.js';
import type { Logger } from '../log.js';

/** How long a paused connection waits before its message is offered to the full ring again. */
const RETRY_MS = 2;
/** TCP keepalive: a dead exporter's connection goes away even though an idle one may stay. */
const KEEPALIVE_MS = 60_000;

export const tcpConnectionOutcomes = ['accepted', 'refused_cap', 'not_allowed'] as const;
export type TcpConnectionOutcome = (typeof tcpConnectionOutcomes)[number];

export interface TcpReceiverStats {
  /** Messages framed (each also counts as a datagram received, in the gateway's accounting). */
  messages: number;
  bytes: number;
  /** Messages not pushed: too_large (longer than a ring slot). The other reasons stay 0 (a full ring pauses instead). */
  dropped: Record<ReceiverDropReason, number>;
  connections: Record<TcpConnectionOutcome, number>;
  framingErrors: number;
  /** Times a connection was paused because its worker's ring was full. */
  backpressurePauses: number;
}

interface Connection {
  readonly socket: net.Socket;
  readonly framer: IpfixFramer;
  readonly address: Uint8Array;
  readonly port: number;
  readonly ring: PacketRing;
  /** SLOT_FLAG_RELIABLE, and SLOT_FLAG_PROTECTED when the configuration names the exporter. */
  readonly flags: number;
  /** Chunks that came while a message waited for the ring (the socket was being paused). */
  readonly waiting: Buffer[];
  /** The framer's current message waits for room in the ring. */
  blocked: boolean;
  retry: NodeJS.Timeout | undefined;
  /** The socket closed: once its messages are in the ring, SESSION_END follows. */
  closed: boolean;
  /** A framing error: the rest of the stream is discarded. */
  broken: boolean;
  ended: boolean;
}

export class TcpReceiver {
  readonly #listen: readonly string[];
  readonly #maxConnections: number;
  readonly #rings: RingSet;
  readonly #log: Logger;
  readonly #servers: net.Server[] = [];
  readonly #connections = new Set<Connection>();
  #admission: Admission | null = null;
  #stopping = false;
  readonly stats: TcpReceiverStats = {
    messages: 0, bytes: 0, dropped: zeroCounts(receiverDropReasons), framingErrors: 0, backpressurePauses: 0,
    connections: { accepted: 0, refused_cap: 0, not_allowed: 0 },
  };

  constructor(listen: readonly string[], maxConnections: number, rings: RingSet, log: Logger) {
    this.#listen = listen;
    this.#maxConnections = maxConnections;
    this.#rings = rings;
    this.#log = log;
  }

  /** Open connections. */
  get connections(): number {
    let open = 0;
    for (const c of this.#connections) if (!c.closed) open++;
    return open;
  }

  /** Sets the admission rules for connections accepted from now on (null: every source, none protected). */
  setAdmission(admission: Admission | null): void {
    this.#admission = admission;
  }

  /** Listens on every address; resolves with the bound addresses (port 0 gets a free port). */
  async start(): Promise<AddressInfo[]> {
    const bound: AddressInfo[] = [];
    for (const text of this.#listen) {
      const { host, port } = splitHostPort(text, false);
      const server = net.createServer({ keepAlive: true, keepAliveInitialDelay: KEEPALIVE_MS }, (socket) => this.#accept(socket));
      server.on('error', (err) => this.#log.error('tcp listener error', { listen: text, error: err.message }));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // ipv6Only keeps [::] from claiming the IPv4 port as well, as for UDP.
        server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.#servers.push(server);
      const info = server.address() as AddressInfo;
      bound.push(info);
      this.#log.info('listening for IPFIX over TCP', { address: info.address, port: info.port, maxConnections: this.#maxConnections });
    }
    return bound;
  }

  #accept(socket: net.Socket): void {
    const from = socket.remoteAddress;
    if (this.#stopping || from === undefined) {
      socket.destroy();
      return;
    }
    if (this.connections >= this.#maxConnections) {
      this.stats.connections.refused_cap++;
      this.#log.sampled('warn', 'tcp-cap', 'tcp connection refused: listen.tcp_max_connections reached', { exporter: from, max: this.#maxConnections });
      socket.destroy();
      return;
    }
    const admission = this.#admission;
    if (admission && !admission.admits(from)) {
      this.stats.connections.not_allowed++;
      socket.destroy();
      return;
    }
    this.stats.connections.accepted++;
    const address = addressBytes(from);
    const c: Connection = {
      socket, framer: new IpfixFramer(), address, port: socket.remotePort ?? 0,
      ring: this.#rings.ring(this.#rings.workerFor(address)), flags: SLOT_FLAG_RELIABLE | (admission?.slotFlags(from) ?? 0),
      waiting: [], blocked: false, retry: undefined, closed: false, broken: false, ended: false,
    };
    this.#connections.add(c);
    socket.on('data', (chunk: Buffer) => {
      if (c.blocked || c.waiting.length > 0) c.waiting.push(chunk);
      else {
        c.framer.feed(chunk);
        this.#drain(c);
      }
    });
    socket.on('error', (err) => this.#log.sampled('warn', 'tcp-socket', 'tcp connection error', { exporter: from, error: err.message }));
    socket.on('close', () => {
      c.closed = true;
      if (!c.blocked) this.#drain(c);
    });
  }

  /** Pushes the connection's messages until its chunks are used up or its ring is full; then SESSION_END once closed. */
  #drain(c: Connection): void {
    const framer = c.framer;
    for (;;) {
      if (c.blocked) {
        if (!this.#push(c, framer.message.subarray(framer.start, framer.end), c.flags)) return;
        c.blocked = false;
      }
      const result = framer.next();
      if (result === FRAME_MESSAGE) {
        this.stats.messages++;
        this.stats.bytes += framer.end - framer.start;
        c.blocked = true;
        continue;
      }
      if (result === FRAME_ERROR) {
        if (!c.broken) this.#framingError(c, framer.error!);
        c.waiting.length = 0;
      } else {
        const next = c.waiting.shift();
        if (next) {
          framer.feed(next);
          continue;
        }
      }
      if (c.closed) this.#end(c);
      else if (c.socket.isPaused()) c.socket.resume();
      return;
    }
  }

  /** Offers one slot to the connection's ring; false (paused, retry set) when the ring is full. */
  #push(c: Connection, payload: Uint8Array, flags: number): boolean {
    if (this.#stopping) return true;
    const result = c.ring.push(payload, c.address, 0, c.port, Date.now(), flags);
    if (result === RING_TOO_LARGE) this.stats.dropped.too_large++;
    if (result !== RING_FULL) return true;
    if (!c.socket.isPaused() && !c.closed) {
      c.socket.pause();
      this.stats.backpressurePauses++;
    }
    c.retry = setTimeout(() => {
      c.retry = undefined;
      if (c.ended) return;
      if (c.blocked) this.#drain(c);
      else this.#end(c);
    }, RETRY_MS);
    return false;
  }

  #framingError(c: Connection, error: FramingError): void {
    c.broken = true;
    this.stats.framingErrors++;
    this.#log.sampled('warn', 'tcp-framing', 'tcp stream is not IPFIX: connection closed', {
      exporter: c.socket.remoteAddress, port: c.port, error, hint: 'IPFIX over TCP only (version 10); NetFlow v9 / v5 go over UDP',
    });
    c.socket.destroy();
  }

  /** After the connection's last message: SESSION_END, in the same ring, so it is ordered after them. */
  #end(c: Connection): void {
    if (c.ended) return;
    if (!this.#push(c, EMPTY, SLOT_FLAG_SESSION_END)) return;
    c.ended = true;
    this.#connections.delete(c);
  }

  /**
   * Stops listening and closes every connection (before the rings close): each gets its
   * SESSION_END if its ring has room; a message still waiting for a full ring is counted ring_full.
   */
  async stop(): Promise<void> {
    const closed = Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const c of this.#connections) {
      clearTimeout(c.retry);
      c.socket.destroy();
      // Framed, counted as received, and now never pushed: lost as a full ring would lose it.
      if (c.blocked) this.stats.dropped.ring_full++;
      c.ring.push(EMPTY, c.address, 0, c.port, Date.now(), SLOT_FLAG_SESSION_END);
      c.ended = true;
    }
    this.#connections.clear();
    this.#stopping = true;
    await closed;
    this.#servers.length = 0;
  }
}

const EMPTY = new Uint8Array(0);
