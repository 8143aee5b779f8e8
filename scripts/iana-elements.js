#!/usr/bin/env node
// `npm run build:elements`: turns IANA's IPFIX registry file (vendored as
// src/decoder/elements/iana/ipfix-information-elements.csv) into the element table the decoder
// takes, src/decoder/elements/iana/iana-elements.ts. The output is committed, so `tsc` alone
// builds; this script runs first in `npm run build` so the two never drift, and
// test/decoder/elements/iana.test.ts checks that the committed table is what it writes.
//
// Columns are read by their header names, so IANA's full file (with Description and the other
// columns) can replace the vendored one as it is. Rules:
// - rows whose ElementID is a range ("65-69", "530-32767") or whose Name is empty, "Reserved",
//   "Unassigned" or "Assigned for NetFlow v9 compatibility" (97) name nothing and are left out:
//   such an element is emitted under its unknown-element key (e0_97, v9_97);
// - deprecated elements keep their names (exporters still send samplingInterval, engineId...);
// - the abstract type is the registry's; unsigned256 (IANA data type 23, newer than the decoder's
//   type list) is taken as octetArray: a 256-bit value is no JSON number and reads as hex.
// `--check` writes nothing and exits 1 when the committed table differs from the generated one.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const csvPath = join(root, 'src/decoder/elements/iana/ipfix-information-elements.csv');
// Elements IANA assigned after the vendored copy (README.md says where their facts come from);
// a row here replaces the vendored file's row for the same id. Empty once IANA's file is updated.
const additionsPath = join(root, 'src/decoder/elements/iana/ipfix-information-elements.additions.csv');
const outPath = join(root, 'src/decoder/elements/iana/iana-elements.ts');

/** Abstract types the decoder knows (definition.ts's list), and how newer registry types map onto them. */
const knownTypes = new Set([
  'octetArray', 'unsigned8', 'unsigned16', 'unsigned32', 'unsigned64',
  'signed8', 'signed16', 'signed32', 'signed64', 'float32', 'float64', 'boolean',
  'macAddress', 'string', 'dateTimeSeconds', 'dateTimeMilliseconds', 'dateTimeMicroseconds',
  'dateTimeNanoseconds', 'ipv4Address', 'ipv6Address', 'basicList', 'subTemplateList',
  'subTemplateMultiList',
]);
const typeAliases = { unsigned256: 'octetArray' };

/** RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}

/** The registry rows as { id, name, type, status, date }, one per named element, by id. */
export function ianaRows(text) {
  const [header, ...rows] = parseCsv(text);
  const col = (name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${csvPath}: no "${name}" column in ${JSON.stringify(header)}`);
    return i;
  };
  const cId = col('ElementID'), cName = col('Name'), cType = col('Abstract Data Type'), cStatus = col('Status'), cDate = col('Date');
  const out = [];
  for (const r of rows) {
    const idText = r[cId].trim(), name = r[cName].trim();
    if (!/^\d+$/.test(idText) || name === '' || name === 'Reserved' || name === 'Unassigned' || name.startsWith('Assigned for')) continue;
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`${csvPath}: element ${idText} has a name that is not an identifier: ${JSON.stringify(name)}`);
    const registryType = r[cType].trim();
    const type = typeAliases[registryType] ?? registryType;
    if (!knownTypes.has(type)) throw new Error(`${csvPath}: element ${idText} ${name} has an unknown abstract type ${JSON.stringify(registryType)}`);
    out.push({ id: Number(idText), name, type, registryType, status: r[cStatus].trim(), date: r[cDate].trim() });
  }
  out.sort((a, b) => a.id - b.id);
  return out;
}

export function generate(text, additionsText = '') {
  const added = additionsText === '' ? [] : ianaRows(additionsText);
  const addedIds = new Set(added.map((r) => r.id));
  const rows = [...ianaRows(text).filter((r) => !addedIds.has(r.id)), ...added].sort((a, b) => a.id - b.id);
  const newest = rows.reduce((d, r) => (r.date > d ? r.date : d), '');
  const lines = rows.map((r) => {
    const note = r.registryType !== r.type ? ` // registry type ${r.registryType}` : r.status === 'deprecated' ? ' // deprecated' : '';
    return `  [${r.id}, '${r.name}', '${r.type}'],${note}`;
  });
  return `// Generated by scripts/iana-elements.js from ipfix-information-elements.csv (IANA's IPFIX
// registry, see README.md beside it) and ipfix-information-elements.additions.csv: do not edit,
// run \`npm run build:elements\`.
import type { AbstractType, ElementDefinition } from '../definition.js';

/** The newest revision date among the registry's entries. */
export const IANA_REGISTRY_NEWEST_ENTRY = '${newest}';

/** [id, name, abstract type] of every named IANA element (enterprise 0), by id. */
const rows: readonly (readonly [number, string, AbstractType])[] = [
${lines.join('\n')}
];

/** IANA's information elements (pen 0), names exactly as the registry spells them. */
export const ianaElements: readonly ElementDefinition[] = rows.map(([id, name, type]) => ({ pen: 0, id, name, type }));
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const generated = generate(readFileSync(csvPath, 'utf8'), readFileSync(additionsPath, 'utf8'));
  if (process.argv.includes('--check')) {
    let committed = '';
    try { committed = readFileSync(outPath, 'utf8'); } catch { /* missing counts as different */ }
    if (committed !== generated) {
      process.stderr.write(`${outPath} is not what scripts/iana-elements.js generates: run npm run build:elements\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(outPath, generated);
  }
}
