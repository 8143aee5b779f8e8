// One dictionary file (a shipped vendor file or a user's, decoder.dictionaries): YAML text to
// element definitions, validated. The layout:
//
//   vendor: Cisco                    # who the elements belong to (informational)
//   pen: 9                           # the enterprise number of entries given by `id`
//   source: where the facts come from (informational)
//   elements:
//     - { id: 12235, name: clientIPv4Address, type: ipv4Address }   # IPFIX (pen, id)
//     - { v9: 40005, name: NF_F_XLATE_EVENT, type: unsigned8 }       # NetFlow v9 type >= 32768
//     - { id: 95, v9: 33000, ... }                                   # both, when a vendor uses the same element in each
//     - { pen: 0, id: 233, name: ..., type: ... }                     # an entry may name its own pen
//
// `v9` entries are defined under V9_VENDOR_PEN (definition.ts). Every problem is reported with the
// file path, the line and the entry (`elements[3] (id 12)`), all at once.
import { parseYaml } from '../../config/yaml.js';
import { abstractTypes, V9_VENDOR_PEN, type AbstractType, type ElementDefinition } from './definition.js';

/** A dictionary file that cannot be used; `problems` has one line per problem, each naming the file. */
export class DictionaryError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'DictionaryError';
  }
}

/**
 * A name that is a safe JSON key and output field: written as is between quotes by the decoder,
 * so only ASCII letters, digits, underscores and hyphens (CERT's httpX-Forwarded-For), starting with
 * a letter or underscore, at most 128: nothing that needs escaping in JSON.
 */
export const safeNamePattern = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

const MAX_PEN = 0xfffffffe; // 0xffffffff is V9_VENDOR_PEN, written as `v9:`
const MAX_IPFIX_ID = 0x7fff; // 15 bits: the top bit of a template's field type is the enterprise bit
const entryKeys = new Set(['id', 'v9', 'pen', 'name', 'type', 'description']);
const fileKeys = new Set(['vendor', 'pen', 'source', 'elements']);

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Parses and validates one dictionary's text; `path` names it in errors. Throws DictionaryError. */
export function parseDictionary(text: string, path: string): ElementDefinition[] {
  const yaml = parseYaml(text);
  if (yaml.errors.length > 0) {
    throw new DictionaryError(yaml.errors.map((e) => `${path}:${e.line}:${e.col} YAML syntax error: ${e.message}`));
  }
  const problems: string[] = [];
  const at = (yamlPath: (string | number)[]): string => {
    const line = yaml.lineOf(yamlPath);
    return line === undefined ? `${path}:` : `${path}:${line}`;
  };
  const data = yaml.data;
  if (!isMapping(data)) {
    throw new DictionaryError([`${path}: expected a mapping with an "elements" list, got ${data === null ? 'an empty file' : Array.isArray(data) ? 'a list' : typeof data}`]);
  }
  for (const key of Object.keys(data)) {
    if (!fileKeys.has(key)) problems.push(`${at([key])} unknown key "${key}" (expected ${[...fileKeys].join(', ')})`);
  }
  const filePen = data.pen;
  if (filePen !== undefined && !isIntIn(filePen, 0, MAX_PEN)) {
    problems.push(`${at(['pen'])} pen: expected an enterprise number from 0 to ${MAX_PEN}, got ${JSON.stringify(filePen)}`);
  }
  const elements = data.elements;
  if (!Array.isArray(elements)) {
    problems.push(`${at(['elements'])} elements: expected a list of entries, got ${elements === undefined ? 'nothing' : JSON.stringify(elements)}`);
    throw new DictionaryError(problems);
  }

  const out: ElementDefinition[] = [];
  const seen = new Map<string, number>(); // "pen:id" -> index of the entry that defined it
  elements.forEach((entry, i) => {
    const where = (key?: string): string => at(key === undefined ? ['elements', i] : ['elements', i, key]);
    if (!isMapping(entry)) {
      problems.push(`${where()} elements[${i}]: expected a mapping with id or v9, name and type, got ${JSON.stringify(entry)}`);
      return;
    }
    const label = `elements[${i}]${entry.id !== undefined ? ` (id ${String(entry.id)})` : entry.v9 !== undefined ? ` (v9 ${String(entry.v9)})` : ''}`;
    const before = problems.length;
    for (const key of Object.keys(entry)) {
      if (!entryKeys.has(key)) problems.push(`${where(key)} ${label}: unknown key "${key}" (expected ${[...entryKeys].join(', ')})`);
    }
    const { id, v9, name, type } = entry;
    const pen = entry.pen ?? filePen;
    if (typeof name !== 'string' || name === '') {
      problems.push(`${where('name')} ${label}: missing name`);
    } else if (!safeNamePattern.test(name)) {
      problems.push(`${where('name')} ${label}: name ${JSON.stringify(name)} is not a safe JSON key (letters, digits, _ and -, starting with a letter or _, at most 128)`);
    }
    if (typeof type !== 'string' || !(abstractTypes as readonly string[]).includes(type)) {
      problems.push(`${where('type')} ${label}: ${type === undefined ? 'missing type' : `type ${JSON.stringify(type)} is not an abstract data type`} (one of ${abstractTypes.join(', ')})`);
    }
    if (id === undefined && v9 === undefined) problems.push(`${where()} ${label}: needs an id (IPFIX element id) or a v9 (NetFlow v9 type from 32768)`);
    if (id !== undefined && !isIntIn(id, 0, MAX_IPFIX_ID)) problems.push(`${where('id')} ${label}: id must be an integer from 0 to ${MAX_IPFIX_ID}, got ${JSON.stringify(id)}`);
    if (v9 !== undefined && !isIntIn(v9, 32768, 65535)) problems.push(`${where('v9')} ${label}: v9 must be an integer from 32768 to 65535 (types below are IANA's), got ${JSON.stringify(v9)}`);
    if (entry.pen !== undefined && !isIntIn(entry.pen, 0, MAX_PEN)) problems.push(`${where('pen')} ${label}: pen must be an enterprise number from 0 to ${MAX_PEN}, got ${JSON.stringify(entry.pen)}`);
    if (id !== undefined && pen === undefined) problems.push(`${where('id')} ${label}: an id needs a pen (on the entry or at the top of the file)`);
    if (entry.description !== undefined && typeof entry.description !== 'string') problems.push(`${where('description')} ${label}: description must be text`);
    if (problems.length > before) return;

    const definitions: ElementDefinition[] = [];
    if (id !== undefined) definitions.push({ pen: pen as number, id: id as number, name: name as string, type: type as AbstractType });
    if (v9 !== undefined) definitions.push({ pen: V9_VENDOR_PEN, id: v9 as number, name: name as string, type: type as AbstractType });
    for (const d of definitions) {
      const key = `${d.pen}:${d.id}`;
      const first = seen.get(key);
      if (first !== undefined) {
        const what = d.pen === V9_VENDOR_PEN ? `v9 ${d.id}` : `pen ${d.pen} id ${d.id}`;
        problems.push(`${where()} ${label}: ${what} is already defined by elements[${first}]`);
        continue;
      }
      seen.set(key, i);
      out.push(d);
    }
  });
  if (problems.length > 0) throw new DictionaryError(problems);
  return out;
}
