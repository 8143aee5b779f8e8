// Output by name reads more of the record than the short fields do: variable-length values of
// every type and RFC 6313 lists that name templates and elements themselves. Whatever their bytes,
// decode() answers with records or a known status, never traps, and every record is valid JSON.
// Random list and value bytes behind well-formed templates, on the release and debug builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WasmDecoder, compileDecoder } from '../../src/decoder/wasm.js';
import { decoderWasmPath } from '../../src/paths.js';
import { loadElementDefinitions } from '../../src/decoder/elements/load.js';
import { set, ipfix, address, concatBytes } from '../support/packets.js';

const EXPORTER = address('192.0.2.1');
const definitions = loadElementDefinitions();

// Templates: 600 lists and strings (every field variable-length), 601 a nested target.
const templates = concatBytes(
  set(2, `0258 0007  0123 ffff  0124 ffff  0125 ffff  0052 ffff  0038 ffff  0098 ffff  000c ffff
          0259 0004  0008 0004  0124 ffff  0007 0002  0123 ffff`),
);

function varlen(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  return concatBytes(n < 255 ? [n] : [255, n >> 8, n & 0xff], bytes);
}

/** List-shaped bytes: a semantic, then a template id or element header that is often a real one, then anything. */
const listBytes = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.tuple(fc.constantFrom(0x0259, 0x0258, 0x01f4), fc.uint8Array({ maxLength: 60 }))
    .map(([tid, rest]) => concatBytes([3, tid >> 8, tid & 0xff], rest)),
  fc.tuple(fc.constantFrom(0x0008, 0x0123, 0x8001, 0x0124), fc.constantFrom(4, 0xffff, 0, 1), fc.uint8Array({ maxLength: 60 }))
    .map(([ie, len, rest]) => concatBytes([0xff, ie >> 8, ie & 0xff, len >> 8, len & 0xff], rest)),
);

for (const build of ['release', 'debug'] as const) {
  test(`${build} build: random lists and values behind real templates decode to valid JSON or a status, never a trap`, () => {
    const module = build === 'release' ? undefined : compileDecoder(decoderWasmPath('debug'));
    const d = new WasmDecoder({ fields: 'all', definitions }, module);
    assert.equal(d.decode(ipfix({}, templates), EXPORTER, 4739, 0), 0);
    fc.assert(fc.property(fc.array(listBytes, { minLength: 7, maxLength: 7 }), fc.nat(3), (values, cut) => {
      const record = concatBytes(...values.map(varlen));
      const body = Buffer.from(record.subarray(0, Math.max(0, record.length - cut))).toString('hex');
      const n = d.decode(ipfix({}, set(600, body)), EXPORTER, 4739, 0);
      assert.ok(n >= 0 || d.statusNames[-n] !== undefined, `unknown result ${n}`);
      assert.equal(d.lastTrap, undefined);
      if (n > 0) {
        for (const line of Buffer.from(d.output).toString('utf8', 0, d.outputLength()).split('\n').filter(Boolean)) JSON.parse(line);
      }
    }), { numRuns: build === 'release' ? 3000 : 1000 });
  });
}
