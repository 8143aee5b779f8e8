// What an information element is, for output by name (decoder.fields: all): the contract
// between the dictionaries (IANA's registry, the shipped vendor files, users' files) and the
// decoder, which turns a list of definitions into its element table.

/**
 * RFC 7012 abstract data types, indexed by IANA's "IPFIX Information Element Data Types"
 * registry value (octetArray = 0 ... subTemplateMultiList = 22).
 */
export const abstractTypes = [
  'octetArray', 'unsigned8', 'unsigned16', 'unsigned32', 'unsigned64',
  'signed8', 'signed16', 'signed32', 'signed64', 'float32', 'float64', 'boolean',
  'macAddress', 'string', 'dateTimeSeconds', 'dateTimeMilliseconds', 'dateTimeMicroseconds',
  'dateTimeNanoseconds', 'ipv4Address', 'ipv6Address', 'basicList', 'subTemplateList',
  'subTemplateMultiList',
] as const;
export type AbstractType = (typeof abstractTypes)[number];

/** IANA's enterprise number of RFC 5103 reverse elements: (29305, id) is the reverse of (0, id). */
export const REVERSE_PEN = 29305;

/**
 * One information element. `pen` 0 = IANA; NetFlow v9 field types below 32768 are IANA's ids;
 * a NetFlow v9 type from 32768 up is looked up as `pen` V9_VENDOR_PEN (vendor dictionaries
 * name them so, e.g. Cisco ASA's NSEL types).
 */
export interface ElementDefinition {
  readonly pen: number;
  readonly id: number;
  /** The JSON key: IANA's name exactly as the registry spells it, or the vendor dictionary's. */
  readonly name: string;
  readonly type: AbstractType;
}

/** The pseudo enterprise number under which vendor dictionaries define NetFlow v9 types >= 32768. */
export const V9_VENDOR_PEN = 0xffffffff;

/** The key of an element no dictionary knows: `e{PEN}_{id}` (IPFIX) or `v9_{type}` (NetFlow v9); its value is hex. */
export function unknownElementName(pen: number, id: number, netflowV9: boolean): string {
  return netflowV9 ? `v9_${id}` : `e${pen}_${id}`;
}
