// The IANA table the decoder names elements by: generated from the vendored registry file, with
// names and types exactly as IANA's registry gives them, and RFC 5103's reverse twins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REVERSE_PEN } from '../../../src/decoder/elements/definition.js';
import { ianaElements, IANA_REGISTRY_NEWEST_ENTRY } from '../../../src/decoder/elements/iana/iana-elements.js';
import { reverseElements, reverseName } from '../../../src/decoder/elements/reverse.js';
import { repoRoot } from '../../support/paths.js';

const byId = new Map(ianaElements.map((e) => [e.id, e]));

test('the committed IANA table is what scripts/iana-elements.js generates from the vendored registry', () => {
  const run = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'iana-elements.js'), '--check'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});

test('known elements have IANA\'s names and abstract types', () => {
  const expected: [number, string, string][] = [
    [1, 'octetDeltaCount', 'unsigned64'],
    [8, 'sourceIPv4Address', 'ipv4Address'],
    [34, 'samplingInterval', 'unsigned32'], // deprecated, keeps its name
    [56, 'sourceMacAddress', 'macAddress'],
    [70, 'mplsTopLabelStackSection', 'octetArray'],
    [82, 'interfaceName', 'string'],
    [152, 'flowStartMilliseconds', 'dateTimeMilliseconds'],
    [225, 'postNATSourceIPv4Address', 'ipv4Address'],
    [233, 'firewallEvent', 'unsigned8'],
    [234, 'ingressVRFID', 'unsigned32'],
    [236, 'VRFname', 'string'],
    [276, 'dataRecordsReliability', 'boolean'],
    [291, 'basicList', 'basicList'],
    [292, 'subTemplateList', 'subTemplateList'],
    [293, 'subTemplateMultiList', 'subTemplateMultiList'],
    [295, 'IPSecSPI', 'unsigned32'],
    [311, 'samplingProbability', 'float64'],
    [434, 'mibObjectValueInteger', 'signed32'],
    [496, 'srhSegmentIPv6BasicList', 'basicList'],
    [516, 'ipv6ExtensionHeaderTypeCountList', 'subTemplateList'],
    [529, 'udpUnsafeExIDList', 'basicList'],
    [533, 'pathDelaySumDeltaMicroseconds', 'unsigned64'],
  ];
  for (const [id, name, type] of expected) {
    assert.deepEqual(byId.get(id), { pen: 0, id, name, type }, `element ${id}`);
  }
});

test('the highest element is 533, and unnamed rows (reserved, ranges, NetFlow v9 compatibility) are left out', () => {
  assert.equal(Math.max(...ianaElements.map((e) => e.id)), 533);
  for (const id of [0, 65, 69, 97, 105, 127, 416, 419, 534]) assert.equal(byId.has(id), false, `element ${id}`);
  assert.equal(ianaElements.length, new Set(ianaElements.map((e) => e.id)).size, 'one definition per id');
  assert.equal(IANA_REGISTRY_NEWEST_ENTRY, '2024-10-23');
});

test('unsigned256 elements (a type newer than the decoder\'s list) are octet arrays', () => {
  for (const id of [515, 520, 525]) assert.equal(byId.get(id)?.type, 'octetArray', `element ${id}`);
});

test('every IANA element has an RFC 5103 reverse twin named reverse + Name, same type', () => {
  const reverse = reverseElements(ianaElements);
  assert.equal(reverse.length, ianaElements.length);
  const rev = new Map(reverse.map((e) => [e.id, e]));
  assert.deepEqual(rev.get(1), { pen: REVERSE_PEN, id: 1, name: 'reverseOctetDeltaCount', type: 'unsigned64' });
  assert.deepEqual(rev.get(236), { pen: REVERSE_PEN, id: 236, name: 'reverseVRFname', type: 'string' });
  assert.equal(rev.get(152)?.name, 'reverseFlowStartMilliseconds');
  assert.equal(reverseName('tcpControlBits'), 'reverseTcpControlBits');
});
