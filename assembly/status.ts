// Outcome codes of the decoder, one closed list shared with the host: every code other
// than Ok names a drop reason (the host reads the names from the exported Status_* globals).

export const enum Status {
  Ok = 0,
  /** Datagram shorter than the message header of its version. */
  TruncatedHeader = 1,
  /** Version is not 5, 9 or 10. */
  BadVersion = 2,
  /** IPFIX length field is shorter than a header or longer than the datagram; v5 count disagrees with the length. */
  BadLength = 3,
  /** A set shorter than its own header, or running past the end of the message. */
  BadSet = 4,
  /** A template record that is malformed (overruns its set, bad id, bad scope count). */
  BadTemplate = 5,
  /** A template with more fields than the decoder keeps (MAX_FIELDS). */
  TooManyFields = 6,
  /** No room for another template (per exporter or in total). */
  TemplateLimit = 7,
  /** No room for another exporter session. */
  ExporterLimit = 8,
  /** A data set whose template is not known (yet): held, then decoded or expired. */
  UnknownTemplate = 9,
  /** A held data set that no template claimed before its age ran out. */
  HeldExpired = 10,
  /** A data set that could not be held (byte caps reached). */
  HeldOverflow = 11,
  /** A data record that runs past its set (variable-length field too long). */
  BadRecord = 12,
  /** More output than fits the output region for one datagram. */
  OutputFull = 13,
}

export const STATUS_COUNT: i32 = 14;
