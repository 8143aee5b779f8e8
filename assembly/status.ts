// Outcome codes of the decoder, one closed list shared with the host: every code other
// than Ok names a drop reason (the host reads the names from the exported Status_* globals).
// Codes 1 to LAST_DATAGRAM_STATUS reject the whole datagram; the codes after them are
// counted per set, template record or record while the rest of the datagram is decoded.

export const enum Status {
  Ok = 0,
  // Whole-datagram outcomes: decode() returns -code and writes no records.
  /** Datagram shorter than the message header of its version. */
  TruncatedHeader = 1,
  /** Version is not 5, 9 or 10. */
  BadVersion = 2,
  /** IPFIX length field is shorter than a header or longer than the datagram; v5 count disagrees with the length. */
  BadLength = 3,
  /** No room for another exporter session. */
  ExporterLimit = 4,
  /**
   * The decoder trapped (a bug: bad input returns a status, never traps). Never returned or
   * counted by the decoder itself, which cannot run past its own trap: the host counts it,
   * keeps the datagram and starts a new instance (src/decoder/wasm.ts).
   */
  DecoderTrap = 5,
  // Outcomes counted inside a datagram whose other parts are still decoded.
  /** A set shorter than its own header, or running past the end of the message. */
  BadSet = 6,
  /** A template record that is malformed (overruns its set, bad id, bad scope count). */
  BadTemplate = 7,
  /** A template with more fields than the decoder keeps (MAX_FIELDS). */
  TooManyFields = 8,
  /** No room for another template (per exporter or in total). */
  TemplateLimit = 9,
  /** A data set whose template is not known (yet): held, then decoded or expired. */
  UnknownTemplate = 10,
  /** A held data set that no template claimed before its age ran out. */
  HeldExpired = 11,
  /** A data set that could not be held (byte caps reached). */
  HeldOverflow = 12,
  /** A data record that runs past its set (variable-length field too long). */
  BadRecord = 13,
  /** More output than fits the output region for one datagram. */
  OutputFull = 14,
}

export const STATUS_COUNT: i32 = 15;
/** The last code that rejects a whole datagram (codes 1 to this one do). */
export const LAST_DATAGRAM_STATUS: i32 = Status.DecoderTrap;
