// `flowgate decode FILE`: runs a capture's export datagrams through the same decoder and
// template engine the server uses, in capture order, the exporter being each datagram's
// source address. Records go to stdout (JSON lines, or length-prefixed FlowMessages with
// --format protobuf, exactly what goes to Kafka), a summary to stderr.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readCapture, CaptureError } from '../capture/pcap-reader.js';
import { WasmDecoder, DecoderError, defaultDecoderOptions, type DecoderCounters } from '../decoder/wasm.js';
import { loadElementDefinitions } from '../decoder/elements/load.js';

const help = `usage: flowgate decode FILE [options]

  FILE                     pcap or pcapng capture of UDP export datagrams (IPv4 or IPv6, any port)
  --port N                 only datagrams sent to UDP port N
  --fields LIST|all        comma-separated record fields (default: every short field; see README "Record"),
                           or all: those, then every other information element by name (JSON only)
  --dictionary FILE        an element dictionary of your own for --fields all (repeatable; see config decoder.dictionaries)
  --ignore-port            key templates by exporter address and domain, not the source port
  --template-lifetime S    seconds a template lives without being re-sent (default ${defaultDecoderOptions.templateLifetimeSec})
  --apply-withdrawals      let template withdrawals remove templates (default: ignored, as RFC 7011 says for UDP)
  --format json|protobuf   JSON lines (default), or goflow2 FlowMessages, each preceded by its length as a varint
`;

/** Collects output in large chunks: one write per MiB, not one per datagram. */
class ChunkedStdout {
  #buf = Buffer.allocUnsafe(1 << 20);
  #used = 0;
  write(bytes: Uint8Array): void {
    if (bytes.length > this.#buf.length - this.#used) this.flush();
    if (bytes.length > this.#buf.length) {
      process.stdout.write(Buffer.from(bytes));
      return;
    }
    this.#buf.set(bytes, this.#used);
    this.#used += bytes.length;
  }
  flush(): void {
    if (this.#used === 0) return;
    // A copy: stdout may queue the chunk while this buffer is refilled.
    process.stdout.write(Buffer.from(this.#buf.subarray(0, this.#used)));
    this.#used = 0;
  }
}

function summary(file: string, datagrams: number, filtered: number, rejected: number, c: DecoderCounters, statuses: readonly string[]): string {
  const drops = statuses
    .map((name, code) => [name, c.statuses[code] ?? 0] as const)
    .filter(([name, n]) => name !== 'ok' && n > 0)
    .map(([name, n]) => `${name}=${n}`);
  return [
    `flowgate decode: ${file}`,
    `  datagrams ${datagrams} (${filtered} filtered out by port, ${rejected} rejected), v10 ${c.packetsByVersion[10]}, v9 ${c.packetsByVersion[9]}, v5 ${c.packetsByVersion[5]}`,
    `  records ${c.records} (options records ${c.optionsRecords}, not emitted)`,
    `  templates defined ${c.templatesDefined}, refreshed ${c.templatesRefreshed}, withdrawn ${c.templatesWithdrawn}, expired ${c.templatesExpired}, active ${c.templates}`,
    `  held data sets released ${c.heldSetsReleased} (${c.heldRecordsReleased} records), still held ${c.heldSets}, bytes expired ${c.heldBytesExpired}`,
    `  template withdrawals ignored ${c.withdrawalsIgnored}, applied ${c.withdrawalsApplied}`,
    `  sequence: estimated lost records ${c.sequenceLostRecords}, exporter restarts ${c.exporterRestarts}, out of window ${c.sequenceOutOfWindow}, resets ${c.sequenceResets}`,
    `  exporter sessions ${c.sessions}, expired ${c.sessionsExpired}, evicted ${c.sessionsEvicted}`,
    `  drops by reason: ${drops.length ? drops.join(' ') : 'none'}`,
    '',
  ].join('\n');
}

/** The `n` records of the last decode, each value alone (no separator). */
function writeRecords(out: ChunkedStdout, decoder: WasmDecoder, n: number): void {
  const { entries, stride, endAt, gap } = decoder.index;
  const output = decoder.output;
  for (let k = 0, start = 0; k < n; k++) {
    const end = entries[k * stride + endAt]!;
    out.write(output.subarray(start, end));
    start = end + gap;
  }
}

export async function runDecode(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        fields: { type: 'string' },
        dictionary: { type: 'string', multiple: true },
        'ignore-port': { type: 'boolean', default: false },
        'template-lifetime': { type: 'string' },
        'apply-withdrawals': { type: 'boolean', default: false },
        format: { type: 'string', default: 'json' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`flowgate decode: ${(err as Error).message}\n\n${help}`);
    return 1;
  }
  if (args.values.help) {
    process.stdout.write(help);
    return 0;
  }
  const file = args.positionals[0];
  if (!file || args.positionals.length > 1) {
    process.stderr.write(`flowgate decode: expected one capture file\n\n${help}`);
    return 1;
  }
  const port = args.values.port === undefined ? undefined : Number(args.values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    process.stderr.write(`flowgate decode: --port must be a UDP port number, got "${args.values.port}"\n`);
    return 1;
  }
  const lifetime = args.values['template-lifetime'] === undefined ? defaultDecoderOptions.templateLifetimeSec : Number(args.values['template-lifetime']);
  if (!(Number.isInteger(lifetime) && lifetime >= 0)) {
    process.stderr.write(`flowgate decode: --template-lifetime must be whole seconds, got "${args.values['template-lifetime']}"\n`);
    return 1;
  }
  const format = args.values.format;
  if (format !== 'json' && format !== 'protobuf') {
    process.stderr.write(`flowgate decode: --format must be json or protobuf, got "${format}"\n`);
    return 1;
  }
  const fieldList = args.values.fields?.split(',').map((f) => f.trim()).filter(Boolean);
  const fields = fieldList?.length === 1 && fieldList[0] === 'all' ? 'all' : fieldList;
  if (fields === 'all' && format !== 'json') {
    process.stderr.write('flowgate decode: --fields all needs --format json (a FlowMessage has no field for the elements it does not define)\n');
    return 1;
  }
  let decoder: WasmDecoder;
  try {
    decoder = new WasmDecoder({
      templateLifetimeSec: lifetime,
      ignoreExporterPort: args.values['ignore-port'],
      udpWithdrawals: args.values['apply-withdrawals'] ? 'apply' : 'ignore',
      fields,
      definitions: fields === 'all' ? loadElementDefinitions(args.values.dictionary ?? []) : undefined,
      recordFormat: format,
    });
  } catch (err) {
    process.stderr.write(`flowgate decode: ${(err as Error).message}\n`);
    return 1;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    process.stderr.write(`flowgate decode: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 1;
  }
  const out = new ChunkedStdout();
  let datagrams = 0, filtered = 0, rejected = 0, lastSweep = -Infinity;
  try {
    readCapture(bytes, (d) => {
      datagrams++;
      if (port !== undefined && d.dstPort !== port) {
        filtered++;
        return;
      }
      // Expiry follows the capture's clock, so a replay behaves as it did live.
      if (d.timeMs - lastSweep >= 1000) {
        decoder.sweep(d.timeMs);
        lastSweep = d.timeMs;
      }
      const n = decoder.decode(d.payload, d.srcAddr, d.srcPort, d.timeMs);
      if (n < 0) rejected++;
      else if (n > 0 && format === 'json') out.write(decoder.output.subarray(0, decoder.outputLength()));
      else if (n > 0) writeRecords(out, decoder, n); // without the "\n" after each: a length-prefixed stream
    });
  } catch (err) {
    if (err instanceof CaptureError || err instanceof DecoderError) {
      out.flush();
      process.stderr.write(`flowgate decode: ${file}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  out.flush();
  process.stderr.write(summary(file, datagrams, filtered, rejected, decoder.counters(), decoder.statusNames));
  return 0;
}
