// Messages of the shared template topic (scale.template_topic, compacted): one per template or
// options template an instance learnt, and one per exporter session for its options data
// (sampling, system init time, sequence conventions, names of interfaces, VRFs and applications). The one definition of their layout; bump
// TEMPLATE_MESSAGE_VERSION on any change. A reader skips and counts what it cannot read.
//
// Kafka key:  "<exporter>/<port>/<domain>/<template id>" or "<exporter>/<port>/<domain>/session"
//             (exporter as text, RFC 5952 for IPv6): compaction keeps the latest per key; a
//             tombstone (null value) deletes it after a withdrawal or an expiry.
// Headers:    schema = TEMPLATE_SCHEMA, instance = the publishing instance's id (scale.instance_id),
//             process = a random id of the publishing process (a reader skips its own).
// Value:
//   +0  u8   TEMPLATE_MESSAGE_VERSION
//   +1  u8   kind: 1 session (options data, no template), 2 template
//   +2  u16  0
//   +4  u32  the decoder's STATE_VERSION (little-endian, as the snapshot)
//   +8  one session record of the decoder's state snapshot (assembly/state.ts, layout read from
//       the module's exports: decoder/abi.ts), holding no template and the session's names, if it
//       has any (kind 1), or exactly one template and no names (kind 2);
//       in kind 2 the session's options data is zeroed (it is kind 1's): only the exporter,
//       domain, port and version say whose template it is, so options data changing does not
//       make every template of the session news
// Every message is thus a one-session snapshot the decoder can import as it is.
import { addressText } from '../net/address.js';
import type { DecoderAbi } from '../decoder/abi.js';

export const TEMPLATE_MESSAGE_VERSION = 2;
export const TEMPLATE_SCHEMA = `flowgate-templates/${TEMPLATE_MESSAGE_VERSION}`;
export const KIND_SESSION = 1;
export const KIND_TEMPLATE = 2;
const VALUE_HEADER_BYTES = 8;

type StateLayout = DecoderAbi['state'];

/** Why a message of the template topic was skipped (flowgate_template_messages_skipped_total{reason}). */
export const templateSkipReasons = ['template_version', 'template_malformed', 'template_rejected'] as const;
export type TemplateSkipReason = (typeof templateSkipReasons)[number];

export interface TemplatePiece {
  key: string;
  /** The message value. */
  value: Buffer;
  /** The value with its times zeroed: equal means nothing worth publishing changed. */
  normalized: Buffer;
  /** Template definition time (kind 2) or session last seen (kind 1), ms. */
  timeMs: number;
}

function sessionKey(record: Uint8Array, o: number, layout: StateLayout): string {
  const view = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const address = addressText(view.subarray(o + layout.addressOffset, o + layout.addressOffset + 16));
  return `${address}/${view.readUInt16LE(o + layout.portOffset)}/${view.readUInt32LE(o + layout.domainOffset)}`;
}

/** Bytes of the template entry at `t` (header and fields). */
function templateBytes(view: Buffer, t: number, end: number, layout: StateLayout): number {
  const fields = view.readUInt16LE(t + layout.templateFieldsOffset);
  let q = t + layout.templateHeaderBytes;
  for (let f = 0; f < fields && q + 4 <= end; f++) q += (view.readUInt32LE(q) & layout.enterpriseBit) !== 0 ? 8 : 4;
  return q - t;
}

function piece(key: string, kind: number, stateVersion: number, header: Buffer, template: Buffer | null, layout: StateLayout, timeMs: number,
  names: Buffer | null = null): TemplatePiece {
  const length = header.length + (template?.length ?? 0) + (names?.length ?? 0);
  const value = Buffer.alloc(VALUE_HEADER_BYTES + length);
  value[0] = TEMPLATE_MESSAGE_VERSION;
  value[1] = kind;
  value.writeUInt32LE(stateVersion, 4);
  header.copy(value, VALUE_HEADER_BYTES);
  const r = VALUE_HEADER_BYTES;
  if (template) value.fill(0, r + layout.versionOffset + 1, r + layout.sessionHeaderBytes);
  value.writeUInt32LE(length, r + layout.lengthOffset);
  value.writeUInt32LE(template ? 1 : 0, r + layout.templatesOffset);
  if (template) template.copy(value, r + header.length);
  if (names) names.copy(value, r + header.length);
  const normalized = Buffer.from(value);
  normalized.writeDoubleLE(0, r + layout.lastSeenOffset);
  if (template) normalized.writeDoubleLE(0, r + header.length + layout.templateDefinedOffset);
  return { key, value, normalized, timeMs };
}

/** The pieces of a state snapshot (WasmDecoder.exportState()), by key. */
export function splitSnapshot(snapshot: Uint8Array, layout: StateLayout): Map<string, TemplatePiece> {
  const view = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const out = new Map<string, TemplatePiece>();
  if (view.length < layout.headerBytes) return out;
  const sessions = view.readUInt32LE(4);
  let o = layout.headerBytes;
  for (let i = 0; i < sessions && o + layout.sessionHeaderBytes <= view.length; i++) {
    const length = view.readUInt32LE(o + layout.lengthOffset);
    const end = o + length;
    const base = sessionKey(view, o, layout);
    const header = view.subarray(o, o + layout.sessionHeaderBytes);
    const templates = view.readUInt32LE(o + layout.templatesOffset);
    const pieces: TemplatePiece[] = [];
    let t = o + layout.sessionHeaderBytes;
    for (let k = 0; k < templates && t + layout.templateHeaderBytes <= end; k++) {
      const bytes = templateBytes(view, t, end, layout);
      const id = view.readUInt16LE(t + layout.templateIdOffset);
      const key = `${base}/${id}`;
      pieces.push(piece(key, KIND_TEMPLATE, layout.version, header, view.subarray(t, t + bytes), layout, view.readDoubleLE(t + layout.templateDefinedOffset)));
      t += bytes;
    }
    // After the templates: the session's names (assembly/state.ts), carried by its kind 1 message.
    const names = t < end ? view.subarray(t, end) : null;
    out.set(`${base}/session`, piece(`${base}/session`, KIND_SESSION, layout.version, header, null, layout, view.readDoubleLE(o + layout.lastSeenOffset), names));
    for (const p of pieces) out.set(p.key, p);
    o = end;
  }
  return out;
}

/** Checks a message value: null when it is a readable one-session record, else why not. */
export function templateProblem(value: Buffer, layout: StateLayout): TemplateSkipReason | null {
  if (value.length < VALUE_HEADER_BYTES || value[0] !== TEMPLATE_MESSAGE_VERSION) return 'template_version';
  if (value.readUInt32LE(4) !== layout.version) return 'template_version';
  const kind = value[1];
  const r = VALUE_HEADER_BYTES;
  if ((kind !== KIND_SESSION && kind !== KIND_TEMPLATE) || value.length < r + layout.sessionHeaderBytes) return 'template_malformed';
  if (value.readUInt32LE(r + layout.lengthOffset) !== value.length - r) return 'template_malformed';
  if (value.readUInt32LE(r + layout.templatesOffset) !== (kind === KIND_TEMPLATE ? 1 : 0)) return 'template_malformed';
  if (kind === KIND_TEMPLATE) {
    const t = r + layout.sessionHeaderBytes;
    if (t + layout.templateHeaderBytes > value.length || t + templateBytes(value, t, value.length, layout) !== value.length) return 'template_malformed';
  }
  return null;
}

/** The session the message belongs to (address, domain and port bytes as hex): messages of one session import together. */
export function messageSession(value: Buffer, layout: StateLayout): string {
  const a = VALUE_HEADER_BYTES + layout.addressOffset;
  return value.toString('hex', a, a + layout.keyBytes);
}

/** Offset in a message value of the exporter address (for the worker that owns it). */
export function messageAddressOffset(layout: StateLayout): number {
  return VALUE_HEADER_BYTES + layout.addressOffset;
}

/**
 * One state snapshot per session from checked message values (templateProblem null), each
 * importable on its own: the session's options data from its kind-1 message (or the first
 * template's), then all its templates.
 */
export function sessionSnapshots(values: Iterable<Buffer>, layout: StateLayout): Buffer[] {
  const bySession = new Map<string, { header: Buffer | null; templates: Buffer[]; names: Buffer | null }>();
  for (const v of values) {
    const id = messageSession(v, layout);
    let s = bySession.get(id);
    if (!s) bySession.set(id, (s = { header: null, templates: [], names: null }));
    const r = VALUE_HEADER_BYTES;
    if (v[1] === KIND_SESSION || s.header === null) s.header = v.subarray(r, r + layout.sessionHeaderBytes); // a template's: identity, no options data
    if (v[1] === KIND_SESSION && v.length > r + layout.sessionHeaderBytes) s.names = v.subarray(r + layout.sessionHeaderBytes);
    if (v[1] === KIND_TEMPLATE) s.templates.push(v.subarray(r + layout.sessionHeaderBytes));
  }
  const out: Buffer[] = [];
  for (const s of bySession.values()) {
    const templateBytesTotal = s.templates.reduce((n, t) => n + t.length, 0);
    const record = layout.sessionHeaderBytes + templateBytesTotal + (s.names?.length ?? 0);
    const snapshot = Buffer.alloc(layout.headerBytes + record);
    snapshot.writeUInt32LE(layout.version, 0);
    snapshot.writeUInt32LE(1, 4);
    const o = layout.headerBytes;
    s.header!.copy(snapshot, o);
    snapshot.writeUInt32LE(record, o + layout.lengthOffset);
    snapshot.writeUInt32LE(s.templates.length, o + layout.templatesOffset);
    let t = o + layout.sessionHeaderBytes;
    for (const tb of s.templates) t += tb.copy(snapshot, t);
    s.names?.copy(snapshot, t);
    out.push(snapshot);
  }
  return out;
}
