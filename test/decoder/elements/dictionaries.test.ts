// Dictionaries that name elements: the shipped vendor files all load, a user's file wins over
// them, and a malformed file is an error naming its path and the entry, up to `flowgate check`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REVERSE_PEN, V9_VENDOR_PEN, type ElementDefinition } from '../../../src/decoder/elements/definition.js';
import { DictionaryError, parseDictionary } from '../../../src/decoder/elements/dictionary-file.js';
import { loadElementDefinitions, readDictionaryFile, shippedDictionaryFiles } from '../../../src/decoder/elements/load.js';
import { flowgateBin } from '../../support/paths.js';

function find(defs: readonly ElementDefinition[], pen: number, id: number): ElementDefinition | undefined {
  return defs.find((d) => d.pen === pen && d.id === id);
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-dict-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('every shipped vendor dictionary loads, and no two define the same (pen, id)', () => {
  const files = shippedDictionaryFiles().map((f) => basename(f));
  for (const vendor of ['barracuda', 'cert-yaf', 'cisco-asa-nsel', 'cisco-ipfix', 'fortinet', 'ipt-netflow', 'ixia', 'juniper', 'netscaler', 'ntop', 'palo-alto', 'procera', 'vmware']) {
    assert.ok(files.includes(`${vendor}.yaml`), `${vendor}.yaml shipped`);
  }
  const owner = new Map<string, string>();
  for (const file of shippedDictionaryFiles()) {
    for (const d of readDictionaryFile(file)) {
      const key = `${d.pen}:${d.id}`;
      assert.equal(owner.get(key), undefined, `${key} in ${basename(file)} and ${owner.get(key)}`);
      owner.set(key, basename(file));
    }
  }
});

test('the loaded set has IANA, reverse and vendor names, one per (pen, id)', () => {
  const defs = loadElementDefinitions([]);
  assert.equal(defs.length, new Set(defs.map((d) => `${d.pen}:${d.id}`)).size);
  assert.equal(find(defs, 0, 225)?.name, 'postNATSourceIPv4Address');
  assert.equal(find(defs, REVERSE_PEN, 2)?.name, 'reversePacketDeltaCount');
  assert.deepEqual(find(defs, V9_VENDOR_PEN, 40001), { pen: V9_VENDOR_PEN, id: 40001, name: 'NF_F_XLATE_SRC_ADDR_84', type: 'ipv4Address' });
  assert.equal(find(defs, V9_VENDOR_PEN, 56701)?.name, 'panAppId');
  assert.equal(find(defs, 9, 12235)?.name, 'applicationHttpHost');
  assert.equal(find(defs, 6871, 14)?.name, 'initialTCPFlags');
  assert.equal(find(defs, 6871, 14 | 0x4000)?.name, 'reverseInitialTCPFlags');
  assert.deepEqual(find(defs, 35632, 118), { pen: 35632, id: 118, name: 'L7_PROTO', type: 'unsigned16' });
  assert.equal(find(defs, V9_VENDOR_PEN, 57472 + 118)?.name, 'L7_PROTO');
  assert.equal(find(defs, 6876, 880)?.type, 'unsigned8');
});

test('Procera PacketLogic elements (PEN 15397) have the names and types Logstash and Filebeat give them', () => {
  const defs = loadElementDefinitions([]);
  assert.deepEqual(find(defs, 15397, 1), { pen: 15397, id: 1, name: 'proceraService', type: 'string' });
  assert.deepEqual(find(defs, 15397, 3), { pen: 15397, id: 3, name: 'proceraIncomingOctets', type: 'unsigned64' });
  assert.deepEqual(find(defs, 15397, 11), { pen: 15397, id: 11, name: 'proceraInternalRtt', type: 'signed32' });
  assert.deepEqual(find(defs, 15397, 16), { pen: 15397, id: 16, name: 'proceraContentCategories', type: 'string' });
  assert.deepEqual(find(defs, 15397, 38), { pen: 15397, id: 38, name: 'proceraQoeIncomingInternal', type: 'float32' });
  assert.deepEqual(find(defs, 15397, 43), { pen: 15397, id: 43, name: 'proceraLocalIPv6Host', type: 'ipv6Address' });
  assert.deepEqual(find(defs, 15397, 47), { pen: 15397, id: 47, name: 'proceraTemplateName', type: 'string' });
  assert.equal(find(defs, 15397, 13), undefined, 'ids 13 and 14 are in no source');
  const procera = readDictionaryFile(shippedDictionaryFiles().find((f) => basename(f) === 'procera.yaml') as string);
  assert.equal(procera.length, 45);
});

test('the Fortinet file loads and defines nothing: FortiGate sends IANA field types only', () => {
  const fortinet = readDictionaryFile(shippedDictionaryFiles().find((f) => basename(f) === 'fortinet.yaml') as string);
  assert.deepEqual(fortinet, []);
  assert.equal(loadElementDefinitions([]).filter((d) => d.pen === 12356).length, 0);
});

test('cross-checked types: NetScaler by its element registry, ntop by nProbe\'s documented lengths, Ixia 178', () => {
  const defs = loadElementDefinitions([]);
  assert.equal(find(defs, 5951, 141)?.type, 'string', 'netscalerHttpReqMethod');
  assert.equal(find(defs, 5951, 146)?.type, 'unsigned64', 'netscalerServerTTFB');
  assert.equal(find(defs, 5951, 248)?.type, 'octetArray', 'netscalerMsiClientCookie');
  assert.equal(find(defs, 5951, 209)?.type, 'dateTimeSeconds', 'netscalerIcaSessionSetupTime');
  assert.equal(find(defs, 35632, 185)?.type, 'string', 'SMTP_MAIL_FROM');
  assert.equal(find(defs, V9_VENDOR_PEN, 57472 + 185)?.type, 'string', 'SMTP_MAIL_FROM as NetFlow v9');
  assert.equal(find(defs, 35632, 147)?.type, 'unsigned32', 'SIP_RESPONSE_CODE');
  assert.equal(find(defs, 3054, 178)?.type, 'string', 'ixiaConnectionEncryptionType');
});

test('a user file renames a shipped element and an IANA one, and a later user file wins', (t) => {
  const dir = tempDir(t);
  const first = join(dir, 'first.yaml');
  const second = join(dir, 'second.yaml');
  writeFileSync(first, 'pen: 9\nelements:\n  - { id: 12235, name: httpHost, type: string }\n  - { id: 7777, name: acmeScore, type: float64 }\n');
  writeFileSync(second, 'elements:\n  - { pen: 9, id: 7777, name: acmeRating, type: float32 }\n  - { pen: 0, id: 82, name: ifName, type: string }\n');
  const defs = loadElementDefinitions([first, second]);
  assert.equal(find(defs, 9, 12235)?.name, 'httpHost');
  assert.deepEqual(find(defs, 9, 7777), { pen: 9, id: 7777, name: 'acmeRating', type: 'float32' });
  assert.equal(find(defs, 0, 82)?.name, 'ifName');
  assert.equal(find(loadElementDefinitions([]), 9, 12235)?.name, 'applicationHttpHost', 'without the file, the shipped name');
});

const malformed: [string, string, RegExp][] = [
  ['YAML syntax', 'pen: 9\nelements: [ { id: 1, name: a, type: string }\n', /bad\.yaml:\d+:\d+ YAML syntax error/],
  ['unknown type', 'pen: 9\nelements:\n  - { id: 1, name: a, type: uint8 }\n', /bad\.yaml:3 elements\[0\] \(id 1\): type "uint8" is not an abstract data type/],
  ['missing name', 'pen: 9\nelements:\n  - { id: 1, type: string }\n', /bad\.yaml:3 elements\[0\] \(id 1\): missing name/],
  ['bad id', 'pen: 9\nelements:\n  - { id: 40000, name: a, type: string }\n', /elements\[0\] \(id 40000\): id must be an integer from 0 to 32767/],
  ['bad v9 type', 'elements:\n  - { v9: 100, name: a, type: string }\n', /elements\[0\] \(v9 100\): v9 must be an integer from 32768 to 65535/],
  ['bad pen', 'pen: -1\nelements:\n  - { id: 1, name: a, type: string }\n', /bad\.yaml:1 pen: expected an enterprise number/],
  ['id without a pen', 'elements:\n  - { id: 1, name: a, type: string }\n', /elements\[0\] \(id 1\): an id needs a pen/],
  ['duplicate (pen, id)', 'pen: 9\nelements:\n  - { id: 1, name: a, type: string }\n  - { id: 1, name: b, type: string }\n', /bad\.yaml:4 elements\[1\] \(id 1\): pen 9 id 1 is already defined by elements\[0\]/],
  ['unsafe name', 'pen: 9\nelements:\n  - { id: 1, name: "a\\"b", type: string }\n', /elements\[0\] \(id 1\): name "a\\"b" is not a safe JSON key/],
  ['name with a space', 'pen: 9\nelements:\n  - { id: 1, name: "a b", type: string }\n', /is not a safe JSON key/],
  ['unknown key', 'pen: 9\nelements:\n  - { id: 1, name: a, type: string, lenght: 4 }\n', /elements\[0\] \(id 1\): unknown key "lenght"/],
  ['no elements list', 'pen: 9\n', /bad\.yaml:\S* elements: expected a list of entries/],
];

for (const [what, text, expected] of malformed) {
  test(`a dictionary with ${what} is an error naming the file and the entry`, (t) => {
    const file = join(tempDir(t), 'bad.yaml');
    writeFileSync(file, text);
    assert.throws(() => loadElementDefinitions([file]), (err: unknown) => {
      assert.ok(err instanceof DictionaryError);
      assert.match(err.message, expected);
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  });
}

test('a missing dictionary file is an error naming it', () => {
  assert.throws(() => loadElementDefinitions(['/nonexistent/acme.yaml']), /\/nonexistent\/acme\.yaml: cannot read the dictionary \(ENOENT\)/);
});

test('parseDictionary reports every problem of a file at once', () => {
  assert.throws(() => parseDictionary('pen: 9\nelements:\n  - { id: 1, type: x }\n  - { name: b, type: string }\n', 'f.yaml'), (err: unknown) => {
    assert.ok(err instanceof DictionaryError);
    assert.equal(err.problems.length, 3, err.message);
    return true;
  });
});

test('flowgate check with a malformed dictionary exits non-zero naming the path and the entry', (t) => {
  const dir = tempDir(t);
  const dict = join(dir, 'acme.yaml');
  writeFileSync(dict, 'pen: 4242\nelements:\n  - { id: 5, name: acmeThing, type: integer }\n');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `decoder:\n  dictionaries: [${JSON.stringify(dict)}]\n`);
  const bad = spawnSync(process.execPath, [flowgateBin(), 'check', '--config', config], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  const out = bad.stdout + bad.stderr;
  assert.ok(out.includes('decoder.dictionaries[0]'), out);
  assert.ok(out.includes(`${dict}:3 elements[0] (id 5): type "integer" is not an abstract data type`), out);

  writeFileSync(dict, 'pen: 4242\nelements:\n  - { id: 5, name: acmeThing, type: unsigned32 }\n');
  const good = spawnSync(process.execPath, [flowgateBin(), 'check', '--config', config], { encoding: 'utf8' });
  assert.equal(good.status, 0, good.stdout + good.stderr);

  writeFileSync(config, `decoder:\n  dictionaries: [${JSON.stringify(join(dir, 'missing.yaml'))}]\n`);
  const missing = spawnSync(process.execPath, [flowgateBin(), 'check', '--config', config], { encoding: 'utf8' });
  assert.notEqual(missing.status, 0);
  assert.ok((missing.stdout + missing.stderr).includes(`${join(dir, 'missing.yaml')}: cannot read the dictionary`), missing.stdout + missing.stderr);
});
