// The live tap shows records as JSON whatever kafka.format is. With protobuf, each record the tap
// forwards (only those, at most tap.max_records_per_second per worker) is read back from its
// FlowMessage bytes and shown under FlowGate's record names (decoder/flow-message.ts), so that the
// tap's filters and page work alike in both formats; FlowMessage fields without a record field
// keep their .proto names. The .proto's field names and FlowType enum are read from
// assembly/flow.proto itself (its one definition), the first time a record is shown.
import { readFileSync } from 'node:fs';
import { formatIPv4, formatIPv6 } from '../config/addresses.js';
import { projectPath } from '../paths.js';
import { flowMessageFields, flowTypeOfVersion } from '../decoder/flow-message.js';

interface FieldDef {
  name: string;
  type: string;
  repeated: boolean;
}

interface FlowProto {
  fields: Map<number, FieldDef>;
  /** Enum type name -> value -> member name. */
  enums: Map<string, Map<number, string>>;
}

let proto: FlowProto | undefined;

/** The fields and enums of `text` (a proto3 file of scalar, bytes and enum fields, as flow.proto is). */
export function parseFlowProto(text: string): FlowProto {
  const fields = new Map<number, FieldDef>();
  const enums = new Map<string, Map<number, string>>();
  let inEnum: Map<number, string> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    let m: RegExpExecArray | null;
    if ((m = /^enum (\w+) \{$/.exec(line))) {
      inEnum = new Map();
      enums.set(m[1]!, inEnum);
    } else if (line === '}') {
      inEnum = null;
    } else if (inEnum && (m = /^(\w+) = (\d+);$/.exec(line))) {
      inEnum.set(Number(m[2]), m[1]!);
    } else if (!inEnum && (m = /^(repeated )?(\w+) (\w+) = (\d+);$/.exec(line))) {
      fields.set(Number(m[4]), { name: m[3]!, type: m[2]!, repeated: m[1] !== undefined });
    }
  }
  return { fields, enums };
}

function flowProto(): FlowProto {
  return (proto ??= parseFlowProto(readFileSync(projectPath('assembly', 'flow.proto'), 'utf8')));
}

function address(bytes: Buffer): string {
  return bytes.length === 4 ? formatIPv4(bytes.readUInt32BE(0)) : formatIPv6(bytes);
}

const recordNameOf = new Map(Object.entries(flowMessageFields).map(([record, { field, value }]) => [field, { record, value }]));
const versionOfType = new Map(Object.entries(flowTypeOfVersion).map(([version, type]) => [type, Number(version)]));

/** A FlowMessage's fields under FlowGate's record names, values as the JSON record has them. */
function asRecordNames(message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(message)) {
    const to = recordNameOf.get(field);
    if (!to) out[field] = value;
    else if (to.value === 'ms_to_ns') out[to.record] = Number(BigInt(value as string | number) / 1_000_000n);
    else if (to.value === 'version_to_type') out[to.record] = versionOfType.get(value as string) ?? value;
    else out[to.record] = value;
  }
  return out;
}

/**
 * The FlowMessage in `bytes` [start, end) (after its length prefix when `lengthPrefixed`) as JSON
 * text: enums by name, 4- and 16-byte bytes fields as addresses, other bytes as hex, 64-bit
 * values past 2^53 as decimal strings. A message that does not parse shows as {"unreadable": hex}.
 */
export function flowMessageJson(bytes: Buffer, start: number, end: number, lengthPrefixed: boolean): string {
  const { fields, enums } = flowProto();
  const out: Record<string, unknown> = {};
  let p = start;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (p >= end || shift > 63n) throw new RangeError('varint');
      const b = bytes[p++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  try {
    if (lengthPrefixed) varint();
    while (p < end) {
      const key = Number(varint());
      const number = key >>> 3;
      const def = fields.get(number) ?? { name: `field_${number}`, type: 'unknown', repeated: false };
      let value: unknown;
      if ((key & 7) === 0) {
        const v = varint();
        const names = enums.get(def.type);
        value = names?.get(Number(v)) ?? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
      } else if ((key & 7) === 2) {
        const len = Number(varint());
        if (p + len > end) throw new RangeError('length');
        const b = bytes.subarray(p, p + len);
        p += len;
        value = len === 4 || len === 16 ? address(b) : b.toString('hex');
      } else {
        throw new RangeError(`wire type ${key & 7}`);
      }
      if (def.repeated) ((out[def.name] ??= []) as unknown[]).push(value);
      else out[def.name] = value;
    }
    return JSON.stringify(asRecordNames(out));
  } catch {
    return JSON.stringify({ unreadable: bytes.toString('hex', start, end) });
  }
}
