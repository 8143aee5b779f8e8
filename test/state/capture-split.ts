// Splits captured export datagrams into their template part and their data part, so a test can
// define templates with one gateway and send data that carries none to the next one. IPFIX
// messages get their length fixed; NetFlow v9 keeps its header (the decoder does not trust its
// count). Options data sets stay with the data: they are data sets.
import { readFileSync } from 'node:fs';
import { readCapture } from '../../src/capture/pcap-reader.js';
import type { WasmDecoder } from '../../src/decoder/wasm.js';

export interface CaptureDatagram {
  address: Uint8Array;
  port: number;
  timeMs: number;
  payload: Uint8Array;
}

export function readDatagrams(path: string): CaptureDatagram[] {
  const out: CaptureDatagram[] = [];
  readCapture(readFileSync(path), (d) => out.push({ address: d.srcAddr, port: d.srcPort, timeMs: d.timeMs, payload: Uint8Array.from(d.payload) }));
  return out;
}

/** The message with only the sets `keep` accepts, or null when none is left. */
function keepSets(message: Uint8Array, keep: (setId: number) => boolean): Uint8Array | null {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const version = view.getUint16(0);
  if (version !== 9 && version !== 10) return null;
  const headerBytes = version === 10 ? 16 : 20;
  const end = version === 10 ? Math.min(view.getUint16(2), message.length) : message.length;
  const parts: Uint8Array[] = [message.subarray(0, headerBytes)];
  let length = headerBytes;
  for (let p = headerBytes; p + 4 <= end;) {
    const id = view.getUint16(p);
    const setLength = view.getUint16(p + 2);
    if (setLength < 4 || p + setLength > end) break;
    if (keep(id)) {
      parts.push(message.subarray(p, p + setLength));
      length += setLength;
    }
    p += setLength;
  }
  if (parts.length === 1) return null;
  const out = new Uint8Array(length);
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  if (version === 10) new DataView(out.buffer).setUint16(2, length);
  return out;
}

const isTemplateSet = (id: number): boolean => id < 256;

/** The datagram without its template sets (v5 as it is), or null when it held nothing else. */
export function dataOnly(message: Uint8Array): Uint8Array | null {
  const version = new DataView(message.buffer, message.byteOffset).getUint16(0);
  if (version === 5) return message;
  return keepSets(message, (id) => !isTemplateSet(id));
}

/** The datagram's template and options template sets alone, or null when it has none. */
export function templatesOnly(message: Uint8Array): Uint8Array | null {
  return keepSets(message, isTemplateSet);
}

/** Decodes each datagram's `part` (whole by default); the output of each datagram that gave records. */
export function decodeAll(decoder: WasmDecoder, datagrams: CaptureDatagram[], part: (m: Uint8Array) => Uint8Array | null = (m) => m): string[] {
  const out: string[] = [];
  for (const d of datagrams) {
    const message = part(d.payload);
    if (!message) continue;
    const n = decoder.decode(message, d.address, d.port, d.timeMs);
    if (n > 0) out.push(Buffer.from(decoder.output.subarray(0, decoder.outputLength())).toString());
  }
  return out;
}
