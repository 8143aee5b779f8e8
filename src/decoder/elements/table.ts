// Turns a list of element definitions into the decoder's definitions table, in the layout the
// module exports (assembly/definitions.ts: DefinitionTable, DefinitionEntry, read and checked by
// abi.ts): a count, entries sorted by (pen, id), then each name as the JSON key the decoder copies
// into records (`,"name":`, after a length byte). Built once per decoder instance, at start.
import { abstractTypes, type ElementDefinition } from './definition.js';
import { DecoderError, type DecoderAbi } from '../abi.js';

/** The longest key text the decoder copies (its length is one byte). */
const MAX_KEY_BYTES = 255;

/**
 * The table for `definitions`. A later definition of the same (pen, id) replaces an earlier
 * one, so a user's dictionary listed after the shipped ones wins. Throws a DecoderError
 * (FG_ERR_DECODER_CONFIG) for a definition the decoder cannot hold.
 */
export function encodeDefinitions(definitions: readonly ElementDefinition[], abi: DecoderAbi): Uint8Array {
  const { table, entry, capacity } = abi.definitions;
  const byKey = new Map<number, { def: ElementDefinition; type: number }>();
  for (const def of definitions) {
    const type = abstractTypes.indexOf(def.type);
    if (type < 0) throw new DecoderError('FG_ERR_DECODER_CONFIG', `element ${def.pen}/${def.id} "${def.name}": unknown data type "${def.type}"`);
    if (!(Number.isInteger(def.pen) && def.pen >= 0 && def.pen <= 0xffffffff && Number.isInteger(def.id) && def.id >= 0 && def.id <= 0xffff)) {
      throw new DecoderError('FG_ERR_DECODER_CONFIG', `element "${def.name}": pen ${def.pen} / id ${def.id} out of range`);
    }
    if (def.name === '') throw new DecoderError('FG_ERR_DECODER_CONFIG', `element ${def.pen}/${def.id}: empty name`);
    byKey.set(def.pen * 0x10000 + def.id, { def, type });
  }
  const sorted = [...byKey.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  const keys = sorted.map(({ def }) => Buffer.from(`,${JSON.stringify(def.name)}:`, 'utf8'));
  const entriesEnd = table.Header + sorted.length * entry.Bytes;
  const size = entriesEnd + keys.reduce((n, k) => n + 1 + k.length, 0);
  if (size > capacity) {
    throw new DecoderError('FG_ERR_DECODER_CONFIG', `${sorted.length} element definitions take ${size} bytes, more than the decoder's ${capacity}`);
  }
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(table.Count, sorted.length, true);
  let at = entriesEnd;
  sorted.forEach(({ def, type }, i) => {
    const key = keys[i]!;
    if (key.length > MAX_KEY_BYTES) {
      throw new DecoderError('FG_ERR_DECODER_CONFIG', `element ${def.pen}/${def.id}: name "${def.name.slice(0, 40)}..." is longer than the decoder takes`);
    }
    const e = table.Header + i * entry.Bytes;
    view.setUint32(e + entry.Pen, def.pen, true);
    view.setUint16(e + entry.Id, def.id, true);
    view.setUint8(e + entry.Type, type);
    view.setUint32(e + entry.KeyOffset, at, true);
    bytes[at] = key.length;
    bytes.set(key, at + 1);
    at += 1 + key.length;
  });
  return bytes;
}
