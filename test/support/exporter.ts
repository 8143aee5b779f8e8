// An exporter a test drives itself: one UDP socket (one exporter address and port) sending a
// capture's datagrams, whole or in part (capture-split.ts: data only, templates only), and the
// records those datagrams give once the capture's templates are known.
import { createSocket, type Socket } from 'node:dgram';
import { WasmDecoder } from '../../src/decoder/wasm.js';
import { dataOnly, type CaptureDatagram } from '../state/capture-split.js';

/** Sends each datagram's `part` from `socket` to host:port, paced far below what the rings take. */
export async function send(socket: Socket, port: number, datagrams: CaptureDatagram[], part: (m: Uint8Array) => Uint8Array | null, host = '127.0.0.1'): Promise<void> {
  let n = 0;
  for (const d of datagrams) {
    const message = part(d.payload);
    if (!message) continue;
    await new Promise<void>((resolve, reject) => socket.send(message, port, host, (err) => (err ? reject(err) : resolve())));
    if (++n % 32 === 0) await new Promise((r) => setTimeout(r, 2));
  }
}

/** A socket bound to 127.0.0.1 (any port), closed after the test. */
export async function exporterSocket(t: { after(fn: () => unknown): void }, address = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

/** Records the whole capture gives, and those its data-only datagrams give once the templates are known. */
export function expectedRecords(datagrams: CaptureDatagram[]): { full: number; dataOnly: number } {
  const d = new WasmDecoder();
  let full = 0;
  for (const g of datagrams) full += Math.max(0, d.decode(g.payload, g.address, g.port, g.timeMs));
  let data = 0;
  for (const g of datagrams) {
    const m = dataOnly(g.payload);
    if (m) data += Math.max(0, d.decode(m, g.address, g.port, g.timeMs));
  }
  return { full, dataOnly: data };
}
