// Exporters whose address and source port stay the same for a whole benchmark (bench/loadgen's
// packets, sent from this process): templates are keyed by (address, port, domain), so data sent
// minutes later by the same socket is decoded with the templates its first datagram defined,
// whichever decoder decodes it. bench/loadgen itself binds new ports per run.
import dgram from 'node:dgram';
import { buildPool, exporterAddress, Schedule } from '../loadgen/ipfix.js';

export class FixedExporters {
  readonly #sockets: dgram.Socket[];
  readonly #schedule: Schedule;
  readonly #buf = Buffer.alloc(65536);
  /** Data records sent so far, and template datagrams. */
  records = 0;
  templates = 0;
  datagrams = 0;

  private constructor(sockets: dgram.Socket[], rpp: number) {
    this.#sockets = sockets;
    const pool = buildPool({ recordsPerPacket: [rpp, rpp], ipv6Share: 0.3, seed: 1, poolRecords: 20_000, genMs: Date.now() });
    // Templates once per exporter, before its first data datagram; never again.
    this.#schedule = new Schedule(pool, sockets.length, 0);
  }

  /** `count` exporters on 127.0.1.1 ... (ephemeral ports, kept until close()). */
  static async open(count: number, rpp: number): Promise<FixedExporters> {
    const sockets: dgram.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, exporterAddress(i), () => resolve());
      });
      sockets.push(s);
    }
    return new FixedExporters(sockets, rpp);
  }

  /** One datagram from every exporter to 127.0.0.1:`port` (the first round: their templates). Resolves once handed to the kernel. */
  async round(port: number): Promise<void> {
    for (let e = 0; e < this.#sockets.length; e++) {
      const d = this.#schedule.next(e, this.#buf, Date.now())!;
      const bytes = Buffer.from(this.#buf.subarray(0, d.length));
      await new Promise<void>((resolve, reject) => this.#sockets[e]!.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      this.datagrams++;
      if (d.template) this.templates++;
      else this.records += d.records;
    }
  }

  close(): void {
    for (const s of this.#sockets) s.close();
  }
}
