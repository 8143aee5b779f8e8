// The decoder's settings and their defaults, defined once: the config schema's `decoder`
// section (src/config/schema.ts) and `flowgate decode` take their defaults from here.
// No WebAssembly here, so the config can import it without loading the decoder.
import type { RecordFormat } from './abi.js';
import type { ElementDefinition } from './elements/definition.js';

/** What a template withdrawal (field count 0) does: RFC 7011 section 8.4 says to ignore them over UDP. */
export const udpWithdrawalActions = ['ignore', 'apply'] as const;
export type UdpWithdrawalAction = (typeof udpWithdrawalActions)[number];

export interface DecoderOptions {
  /** Seconds after which a template that was not sent again is forgotten (RFC 7011 section 8.4). 0 = never. */
  templateLifetimeSec: number;
  /** Key templates by (exporter address, domain) only, for exporters that change source ports. */
  ignoreExporterPort: boolean;
  /** Template withdrawals: counted and ignored (RFC 7011 section 8.4, UDP), or applied for exporters that rely on them. */
  udpWithdrawals: UdpWithdrawalAction;
  /** The most one datagram may add to its exporter's lost-records estimate; a larger jump is out of window. */
  sequenceWindow: number;
  /**
   * Output fields, by JSON name; undefined = every short field (KFlow's ten always, the others when
   * present); 'all' = every short field, then every other information element of the record by the
   * name `definitions` gives it (JSON only: a FlowMessage has no place for them).
   */
  fields?: readonly string[] | 'all';
  /** Names and data types of information elements, for fields: 'all' (the dictionaries' list). */
  definitions?: readonly ElementDefinition[];
  /** Data sets waiting for their template: bytes in total, per (exporter, domain, template id), and age. */
  heldMaxBytes: number;
  heldPerTemplateBytes: number;
  heldMaxAgeMs: number;
  maxTemplatesPerExporter: number;
  /** Transport sessions (exporter, port, domain) one decoder keeps. */
  maxSessions: number;
  /** What each record's value is (kafka.format, kafka.protobuf_length_prefix). */
  recordFormat: RecordFormat;
  /** Write bytes and packets (and reverse bytes and packets) multiplied by the sampling rate in force. */
  scaleCounters: boolean;
}

/**
 * An exporter's sampling rules (config routing.sampling), given to the decoder with each of its
 * datagrams: `defaultRate` is the rate in force when the exporter announces none, `overrideRate`
 * the rate in force whatever it announces; 0 = no such rule.
 */
export interface SamplingRates {
  readonly defaultRate: number;
  readonly overrideRate: number;
}

export const NO_SAMPLING: SamplingRates = Object.freeze({ defaultRate: 0, overrideRate: 0 });

export const defaultDecoderOptions: Readonly<DecoderOptions> = Object.freeze({
  templateLifetimeSec: 1800,
  ignoreExporterPort: false,
  udpWithdrawals: 'ignore',
  sequenceWindow: 100_000,
  heldMaxBytes: 1 << 20,
  heldPerTemplateBytes: 64 << 10,
  heldMaxAgeMs: 30_000,
  maxTemplatesPerExporter: 256,
  maxSessions: 2048,
  recordFormat: 'json',
  scaleCounters: false,
});
