// Sets inside a message (RFC 7011 section 3.3; RFC 3954 section 5): template sets,
// options template sets and data sets. Every read is checked against the set's end.
import { Status } from "./status";
import { MAX_FIELDS, MAX_TEMPLATES, SCRATCH_PTR, PENDING_MAX } from "./layout";
import { countStatus, bump, C_TEMPLATES_DEFINED, C_TEMPLATES_REFRESHED, C_TEMPLATES_WITHDRAWN, C_TEMPLATES_EXPIRED,
  C_OPTIONS_RECORDS, C_HELD_SETS_RELEASED, C_HELD_RECORDS_RELEASED, C_RECORDS, C_WITHDRAWALS_IGNORED, C_WITHDRAWALS_APPLIED } from "./counters";
import { ctx } from "./context";
import { findTemplate, allocateTemplate, removeTemplate, templatePtr, templateUsed, beginCompile, addField, endCompile,
  specHash, T_OWNER, T_ID, T_KIND, T_MIN_LEN, T_LAST_SEEN, T_SPEC_HASH, T_SPEC_LEN, KIND_DATA, KIND_OPTIONS, VARLEN } from "./templates";
import { runRecord, emitRecord, applyOptions } from "./record";
import { allFields, appendAnyFields } from "./any-element";
import { stageOptionsRecord } from "./options-records";
import { holdSet, releaseHeld, heldSetCount } from "./held";
import { stateChanged } from "./generation";
import { sessionReliable } from "./sessions";

export let templateLifetimeMs: f64 = 1800000;
/** Data records (flow and options) decoded in the current message, for sequence tracking. */
export let messageRecords: u32 = 0;
/** Flow records written for the current message (per-exporter record counts). */
export let messageFlowRecords: u32 = 0;

export function setTemplateLifetime(ms: f64): void {
  templateLifetimeMs = ms;
}

/** Whether template withdrawals remove templates (decoder.udp_withdrawals: apply); by default they are ignored. */
let applyWithdrawals = false;

export function setApplyWithdrawals(apply: bool): void {
  applyWithdrawals = apply;
}

let pending: u32 = 0;

export function beginMessage(): void {
  messageRecords = 0;
  messageFlowRecords = 0;
  pending = 0;
}

@inline function pendingPtr(): usize {
  return SCRATCH_PTR + 256;
}

/**
 * Decodes held sets whose template this message defined. Called after the message's last set,
 * so options data later in the same message (sampling, systemInitTime) applies to them too.
 */
export function endMessage(): void {
  for (let i: u32 = 0; i < pending; i++) {
    releaseHeld(ctx.session, load<u32>(pendingPtr() + (<usize>i << 2)), decodeHeldSet);
  }
  pending = 0;
}

@inline function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

/**
 * A template withdrawal (RFC 7011 section 8.1): one template of the session, or all of one kind
 * (ids 2 and 3). Every datagram here came over UDP, where section 8.4 says: "Template Withdrawals
 * (Section 8.1) MUST NOT be sent by Exporting Processes exporting via UDP and MUST be ignored by
 * Collecting Processes collecting via UDP." So by default it is counted and nothing is removed:
 * anyone who can send one datagram from an exporter's address and port could otherwise make the
 * exporter's next records wait for templates. Templates still go away when they are not sent
 * again within their lifetime ("Templates not refreshed by the Exporting Process within the
 * lifetime can then be discarded", same section). NetFlow v9 (RFC 3954) defines no withdrawal:
 * a field count of 0 there is treated the same way. Over a reliable transport (TCP: the host says
 * so per message, ctx.reliable) a withdrawal can only come from the connection's own exporter, and
 * section 8.1 applies: it is honoured whatever decoder.udp_withdrawals says.
 */
function withdraw(tid: u32, kind: u8): void {
  if (!applyWithdrawals && !ctx.reliable) {
    bump(C_WITHDRAWALS_IGNORED);
    return;
  }
  bump(C_WITHDRAWALS_APPLIED);
  if (tid == 2 || tid == 3) {
    for (let i: u32 = 0; i < MAX_TEMPLATES; i++) {
      if (!templateUsed(i)) continue;
      const t = templatePtr(i);
      if (load<u32>(t + T_OWNER) == ctx.session + 1 && load<u8>(t + T_KIND) == kind) {
        removeTemplate(i);
        bump(C_TEMPLATES_WITHDRAWN);
      }
    }
    return;
  }
  const idx = findTemplate(ctx.session, tid);
  if (idx >= 0) {
    removeTemplate(<u32>idx);
    bump(C_TEMPLATES_WITHDRAWN);
  }
}

/**
 * Defines (or refreshes) template `tid` from the field specifiers at [fields, fieldsEnd).
 * `ipfix` says whether specifiers may carry a PEN; the first `scopeCount` fields are scope fields.
 */
function define(tid: u32, kind: u8, fields: usize, fieldsEnd: usize, fieldCount: u32, scopeCount: u32, ipfix: bool, v9Scope: bool): void {
  const specLen = <u32>(fieldsEnd - fields);
  const hash = specHash(fields, specLen);
  let idx = findTemplate(ctx.session, tid);
  if (idx >= 0) {
    const t = templatePtr(<u32>idx);
    if (load<u32>(t + T_SPEC_HASH) == hash && load<u32>(t + T_SPEC_LEN) == specLen && load<u8>(t + T_KIND) == kind) {
      store<f64>(t + T_LAST_SEEN, ctx.nowMs);
      stateChanged(); // its lifetime starts again, in a snapshot too
      bump(C_TEMPLATES_REFRESHED);
      return;
    }
  } else {
    idx = allocateTemplate(ctx.session, tid);
    if (idx < 0) {
      countStatus(Status.TemplateLimit);
      return;
    }
  }
  beginCompile(<u32>idx);
  let p = fields;
  for (let i: u32 = 0; i < fieldCount; i++) {
    let ie = be16(p);
    const len = be16(p + 2);
    p += 4;
    let pen: u32 = 0;
    if (ipfix && (ie & 0x8000) != 0) {
      ie &= 0x7fff;
      pen = bswap<u32>(load<u32>(p));
      p += 4;
    }
    addField(ie, pen, len, v9Scope && i < scopeCount);
  }
  if (!endCompile(kind, fieldCount, scopeCount, ctx.nowMs, hash, specLen)) {
    removeTemplate(<u32>idx);
    countStatus(Status.BadTemplate);
    return;
  }
  bump(C_TEMPLATES_DEFINED);
  if (heldSetCount() == 0) return;
  if (pending < PENDING_MAX) {
    store<u32>(pendingPtr() + (<usize>pending << 2), tid);
    pending++;
  } else {
    releaseHeld(ctx.session, tid, decodeHeldSet); // a message defining that many templates: release now
  }
}

/** The byte length of `count` IPFIX field specifiers at p, or 0 if they run past end. */
function specifiersEnd(p: usize, end: usize, count: u32, ipfix: bool): usize {
  for (let i: u32 = 0; i < count; i++) {
    if (p + 4 > end) return 0;
    const ie = be16(p);
    p += 4;
    if (ipfix && (ie & 0x8000) != 0) {
      if (p + 4 > end) return 0;
      p += 4;
    }
  }
  return p;
}

/** IPFIX template set (2) or options template set (3); NetFlow v9 template flowset (0). */
export function templateSet(p: usize, end: usize, options: bool, ipfix: bool): void {
  const header: usize = options ? 6 : 4;
  while (p + 4 <= end) {
    const tid = be16(p);
    const count = be16(p + 2);
    if (count == 0) {
      // Withdrawal: template id and a field count of 0, nothing else.
      withdraw(tid, options ? KIND_OPTIONS : KIND_DATA);
      p += 4;
      continue;
    }
    if (tid < 256 || p + header > end) {
      countStatus(Status.BadTemplate);
      return;
    }
    const scope = options ? be16(p + 4) : 0;
    const fieldsEnd = specifiersEnd(p + header, end, count, ipfix);
    if (fieldsEnd == 0) {
      countStatus(Status.BadTemplate);
      return;
    }
    if (options && (scope == 0 || scope > count)) {
      countStatus(Status.BadTemplate); // RFC 7011 section 3.4.2.2: scope count is 1..field count
    } else if (count > MAX_FIELDS) {
      countStatus(Status.TooManyFields);
    } else {
      define(tid, options ? KIND_OPTIONS : KIND_DATA, p + header, fieldsEnd, count, scope, ipfix, false);
    }
    p = fieldsEnd;
  }
}

/** NetFlow v9 options template flowset (1): scope and option lengths in bytes, then padding. */
export function v9OptionsTemplateSet(p: usize, end: usize): void {
  while (p + 6 <= end) {
    const tid = be16(p);
    const scopeLen = be16(p + 2);
    const optionLen = be16(p + 4);
    if (tid < 256 || (scopeLen & 3) != 0 || (optionLen & 3) != 0 || scopeLen == 0) {
      // Anything else in the rest of the flowset is padding or garbage: only a real id counts.
      if (tid != 0) countStatus(Status.BadTemplate);
      return;
    }
    const fieldsEnd = p + 6 + <usize>scopeLen + <usize>optionLen;
    if (fieldsEnd > end) {
      countStatus(Status.BadTemplate);
      return;
    }
    const count = (scopeLen + optionLen) >>> 2;
    if (count > MAX_FIELDS) countStatus(Status.TooManyFields);
    else define(tid, KIND_OPTIONS, p + 6, fieldsEnd, count, scopeLen >>> 2, false, true);
    p = fieldsEnd;
  }
}

/** Decodes the records of a data set with template `idx`. Returns the number of records read. */
function decodeRecords(idx: u32, p: usize, end: usize): u32 {
  const t = templatePtr(idx);
  const minLen = <usize>load<u16>(t + T_MIN_LEN);
  const options = load<u8>(t + T_KIND) == KIND_OPTIONS;
  const s = ctx.sessionPtr;
  let n: u32 = 0;
  // Fewer bytes left than the shortest record: set padding (RFC 7011 section 3.3.1).
  while (p + minLen <= end) {
    const next = runRecord(t, p, end);
    if (next == 0) {
      countStatus(Status.BadRecord);
      break;
    }
    n++;
    if (options) {
      applyOptions(t, s);
      stageOptionsRecord(t, p, next);
      bump(C_OPTIONS_RECORDS);
    } else if (emitRecord(t, s) && (!allFields || appendAnyFields(t))) {
      bump(C_RECORDS);
      messageFlowRecords++;
    } else {
      countStatus(Status.OutputFull);
    }
    p = next;
  }
  return n;
}

function decodeHeldSet(data: usize, len: u32): void {
  const idx = findTemplate(ctx.session, ctx.tid);
  if (idx < 0) return;
  const n = decodeRecords(<u32>idx, data, data + len);
  bump(C_HELD_SETS_RELEASED);
  bump(C_HELD_RECORDS_RELEASED, n);
}

/** A data set (id >= 256): decoded with its template, or held until the template arrives. */
export function dataSet(tid: u32, p: usize, end: usize): void {
  ctx.tid = tid;
  let idx = findTemplate(ctx.session, tid);
  if (idx >= 0 && templateLifetimeMs > 0 && !sessionReliable(ctx.session)) {
    const t = templatePtr(<u32>idx);
    if (ctx.nowMs - load<f64>(t + T_LAST_SEEN) > templateLifetimeMs) {
      removeTemplate(<u32>idx);
      bump(C_TEMPLATES_EXPIRED);
      idx = -1;
    }
  }
  if (idx < 0) {
    countStatus(holdSet(tid, p, <u32>(end - p)));
    return;
  }
  messageRecords += decodeRecords(<u32>idx, p, end);
}

/**
 * Forgets templates not refreshed within the lifetime (called by sweep). A reliable session's
 * templates live as long as its connection (RFC 7011 section 8): endTransportSession frees them.
 */
export function expireTemplates(now: f64): void {
  if (templateLifetimeMs <= 0) return;
  for (let i: u32 = 0; i < MAX_TEMPLATES; i++) {
    if (!templateUsed(i)) continue;
    const t = templatePtr(i);
    if (now - load<f64>(t + T_LAST_SEEN) > templateLifetimeMs && !sessionReliable(load<u32>(t + T_OWNER) - 1)) {
      removeTemplate(i);
      bump(C_TEMPLATES_EXPIRED);
    }
  }
}

export { VARLEN, T_ID };
