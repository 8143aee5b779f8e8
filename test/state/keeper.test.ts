// State files (src/state/): written and read back whole; a torn, corrupt or foreign file is set
// aside with its reason and the worker starts empty; each worker restores only the exporters
// it owns, from every worker's file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmDecoder, stateLayout } from '../../src/decoder/wasm.js';
import { createLogger } from '../../src/log.js';
import { ownerWorker } from '../../src/net/exporter-owner.js';
import { addressText } from '../../src/net/address.js';
import { StateKeeper, stateFileName } from '../../src/state/keeper.js';
import { decodeStateFile, encodeStateFile, STATE_FILE_HEADER_BYTES } from '../../src/state/file.js';
import { pcapsDir } from '../support/corpus.js';
import { recordingLogger } from '../support/log-events.js';
import { readDatagrams } from './capture-split.js';

const log = createLogger('error');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A decoder that learnt the multi_exporter capture, and the time of its last datagram. */
function learnt(): { decoder: WasmDecoder; lastMs: number } {
  const decoder = new WasmDecoder();
  const datagrams = readDatagrams(join(pcapsDir, 'multi_exporter.pcap'));
  for (const d of datagrams) decoder.decode(d.payload, d.address, d.port, d.timeMs);
  return { decoder, lastMs: Math.max(...datagrams.map((d) => d.timeMs)) };
}

const exporters = (d: WasmDecoder) => d.sessions().filter((s) => s.templates > 0).map((s) => `${addressText(s.address)}/${s.port}/${s.domain}`).sort();

test('a state file reads back as written; any damage is found', () => {
  const payload = Uint8Array.from({ length: 300 }, (_, i) => i * 7);
  const file = encodeStateFile(payload, stateLayout().version, 3, 1_700_000_000_123);
  const read = decodeStateFile(file, stateLayout().version);
  assert.ok(!('reason' in read));
  assert.deepEqual(Uint8Array.from(read.payload), payload);
  assert.equal(read.worker, 3);
  assert.equal(read.savedAtMs, 1_700_000_000_123);
  assert.deepEqual(decodeStateFile(file.subarray(0, file.length - 1), stateLayout().version), { reason: 'torn' });
  assert.deepEqual(decodeStateFile(file.subarray(0, 10), stateLayout().version), { reason: 'torn' });
  assert.deepEqual(decodeStateFile(Buffer.from('not a state file at all, really not'), stateLayout().version), { reason: 'bad_magic' });
  assert.deepEqual(decodeStateFile(file, stateLayout().version + 1), { reason: 'state_version' });
  for (const at of [4, 20, 24, STATE_FILE_HEADER_BYTES, file.length - 1]) {
    const bad = Buffer.from(file);
    bad[at]! ^= 0x10;
    const reason = at === 4 ? 'format_version' : 'bad_checksum';
    assert.deepEqual(decodeStateFile(bad, stateLayout().version), { reason }, `byte ${at}`);
  }
});

test('save then restore in a new decoder: the same exporters and templates', async (t) => {
  const dir = tempDir(t);
  const { decoder, lastMs } = learnt();
  const keeper = StateKeeper.open({ dir, save_interval_ms: 2000 }, 0, 1, log);
  await keeper.save(decoder);
  assert.deepEqual(readdirSync(dir), [stateFileName(0)]);
  const fresh = new WasmDecoder();
  const restored = StateKeeper.open({ dir, save_interval_ms: 2000 }, 0, 1, log).restore(fresh, lastMs);
  assert.equal(restored, exporters(decoder).length);
  assert.deepEqual(exporters(fresh), exporters(decoder));
  assert.equal(fresh.templates().length, decoder.templates().length);
});

test('maybeSave writes only when the state changed and the interval passed', async (t) => {
  const dir = tempDir(t);
  const { decoder } = learnt();
  const keeper = StateKeeper.open({ dir, save_interval_ms: 2000 }, 0, 1, log);
  keeper.maybeSave(decoder, 10_000);
  await keeper.save(decoder); // waits for the save in flight; nothing changed since
  const first = readFileSync(join(dir, stateFileName(0)));
  keeper.maybeSave(decoder, 20_000);
  await keeper.save(decoder);
  assert.deepEqual(readFileSync(join(dir, stateFileName(0))), first, 'unchanged state: not written again');
  decoder.sweep(Date.now() + 86_400_000); // expires everything
  keeper.maybeSave(decoder, 21_000); // within the interval: not yet
  await keeper.save(decoder); // at stop: written
  assert.notDeepEqual(readFileSync(join(dir, stateFileName(0))), first);
});

test('with two workers, each restores only the exporters it owns, from both files', async (t) => {
  const dir = tempDir(t);
  const { decoder, lastMs } = learnt();
  // One worker saved everything (the count was 1); now there are 2.
  await StateKeeper.open({ dir, save_interval_ms: 2000 }, 0, 1, log).save(decoder);
  const all = exporters(decoder);
  const owned: string[][] = [];
  for (const index of [0, 1]) {
    const d = new WasmDecoder();
    StateKeeper.open({ dir, save_interval_ms: 2000 }, index, 2, log).restore(d, lastMs);
    owned.push(exporters(d));
    for (const s of d.sessions()) assert.equal(ownerWorker(s.address, 0, 2), index);
  }
  assert.ok(owned[0]!.length > 0 && owned[1]!.length > 0, 'the capture has exporters for both workers');
  assert.deepEqual([...owned[0]!, ...owned[1]!].sort(), all);
});

test('a corrupt, torn or foreign state file is set aside with its reason; the worker starts empty', async (t) => {
  const dir = tempDir(t);
  const { decoder, lastMs } = learnt();
  const keeper = StateKeeper.open({ dir, save_interval_ms: 2000 }, 0, 1, log);
  await keeper.save(decoder);
  const good = readFileSync(join(dir, stateFileName(0)));
  const cases: [string, Buffer][] = [
    ['bad_checksum', Buffer.concat([good.subarray(0, 100), Buffer.from([good[100]! ^ 1]), good.subarray(101)])],
    ['torn', good.subarray(0, good.length - 17)],
    ['bad_magic', Buffer.from('garbage garbage garbage garbage garbage')],
    ['state_version', (() => { const b = Buffer.from(good); b.writeUInt32LE(stateLayout().version + 1, 8); return b; })()],
    // Intact framing around a snapshot the decoder refuses: a session record whose template count lies.
    ['malformed', encodeStateFile((() => { const p = Buffer.from(good.subarray(STATE_FILE_HEADER_BYTES)); p.writeUInt32LE(999, stateLayout().headerBytes + 48); return p; })(), stateLayout().version, 0, Date.now())],
  ];
  for (const [reason, bytes] of cases) {
    writeFileSync(join(dir, stateFileName(0)), bytes);
    const recording = recordingLogger('warn');
    const k = StateKeeper.open({ dir, save_interval_ms: 2000 }, 0, 1, recording.log);
    const d = new WasmDecoder();
    assert.equal(k.restore(d, lastMs), 0, reason);
    assert.equal(d.sessions().length, 0);
    assert.equal(k.rejected[reason as keyof typeof k.rejected], 1, reason);
    assert.equal(Object.values(k.rejected).reduce((a, n) => a + n, 0), 1);
    assert.deepEqual(recording.events.map((e) => [e.level, e.msg, e.reason]), [['warn', 'state file set aside: starting without its exporter state', reason]]);
    const names = readdirSync(dir);
    assert.ok(!names.includes(stateFileName(0)), 'moved away');
    const aside = names.find((n) => n.startsWith(`${stateFileName(0)}.bad-`))!;
    assert.deepEqual(readFileSync(join(dir, aside)), bytes);
    rmSync(join(dir, aside));
  }
});
