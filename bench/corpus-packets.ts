// The export datagrams of the shared corpus captures, loaded into memory once for the
// benchmarks and their checks: each with its exporter address, source port and capture time,
// in capture order, captures sorted by name.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../src/capture/pcap-reader.js';
import { pcapsDir } from '../test/support/corpus.js';

export interface CorpusDatagram {
  payload: Uint8Array;
  /** 16 bytes; IPv4 as ::ffff:a.b.c.d */
  address: Uint8Array;
  port: number;
  timeMs: number;
}

export interface CorpusCapture {
  name: string;
  datagrams: CorpusDatagram[];
}

export { repoRoot } from '../test/support/paths.js';

/** Every capture in the corpus's pcaps/ folder. Payloads and addresses are copies, not views into the file. */
export function loadCorpus(dir = pcapsDir): CorpusCapture[] {
  if (!existsSync(dir)) throw new Error(`corpus not found at ${dir} (set FLOWGATE_CORPUS to the corpus folder)`);
  const files = readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
  return files.map((file) => {
    const datagrams: CorpusDatagram[] = [];
    readCapture(readFileSync(join(dir, file)), (d) => {
      datagrams.push({ payload: d.payload.slice(), address: d.srcAddr.slice(), port: d.srcPort, timeMs: d.timeMs });
    });
    return { name: file.replace(/\.pcap(ng)?$/, ''), datagrams };
  });
}
