// Exporter state survives a gateway restart (real processes, real UDP, the real broker): a
// gateway learns a capture's templates, stops (SIGTERM) or is killed (SIGKILL, once the state
// was saved), and a new gateway on the same state.dir decodes datagrams that carry only data
// at once: nothing held, no unknown template, every record delivered. A corrupt state file is
// set aside, logged and counted, and the gateway starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmDecoder, stateLayout } from '../../src/decoder/wasm.js';
import { readStateFile } from '../../src/state/file.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { testBrokers } from '../support/broker.js';
import { uniqueTopic, waitForCount } from '../support/kafka-topics.js';
import { pcapsDir } from '../support/corpus.js';
import { waitUntil } from '../support/wait.js';
import { readDatagrams, dataOnly } from '../state/capture-split.js';
import { send, exporterSocket, expectedRecords } from '../support/exporter.js';

function configYaml(stateDir: string, topic: string, workers: number, saveIntervalMs = 2000): string {
  return `listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: ${workers}
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing: { default_topic: ${topic} }
state: { dir: ${JSON.stringify(stateDir)}, save_interval_ms: ${saveIntervalMs} }
stats: { log_interval_s: 0 }
`;
}

async function start(t: { after(fn: () => unknown): void }, yaml: string): Promise<{ gw: GatewayProcess; udp: number; metrics: () => Promise<Map<string, number>> }> {
  const gw = new GatewayProcess(yaml);
  t.after(() => gw.dispose());
  const udp = (await gw.ready()).udp.v4!;
  return { gw, udp, metrics: () => gw.metrics() };
}

function stateDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-state-it-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Checks the restarted gateway decoded every data-only record at once and delivered it. */
async function assertDecodedAtOnce(gw: GatewayProcess, topic: string, expected: number): Promise<void> {
  assert.equal(await waitForCount(testBrokers(), topic, expected), expected);
  const delivered = `flowgate_records_delivered_total{tenant="_unknown",topic="${topic}"}`;
  const m = await gw.metricsWhen(`${expected} records counted as delivered`, (s) => (s.get(delivered) ?? 0) >= expected);
  assert.equal(m.get('flowgate_held_sets'), 0);
  assert.equal(m.get('flowgate_decoder_events_total{reason="unknown_template"}'), 0);
  assert.equal(m.get('flowgate_records_received_total'), expected);
  assert.equal(m.get(delivered), expected);
  assert.equal(m.get('flowgate_state_files_rejected_total{reason="bad_checksum"}'), 0);
}

for (const [capture, workers] of [['softflowd_v10_mixed', 2], ['softflowd_v9_mixed', 1]] as const) {
  test(`${capture}: after SIGTERM, a new gateway on the same state.dir decodes data-only datagrams at once`, async (t) => {
    const datagrams = readDatagrams(join(pcapsDir, `${capture}.pcap`));
    const expected = expectedRecords(datagrams);
    const dir = stateDir(t);
    const socket = await exporterSocket(t);

    const topic1 = uniqueTopic('flows.state1');
    const first = await start(t, configYaml(dir, topic1, workers));
    await send(socket, first.udp, datagrams, (m) => m);
    assert.equal(await waitForCount(testBrokers(), topic1, expected.full), expected.full);
    const stopped = await first.gw.stop('SIGTERM');
    assert.equal(stopped.code, 0);
    assert.ok(readdirSync(dir).some((n) => /^worker-\d+\.state$/.test(n)));

    const topic2 = uniqueTopic('flows.state2');
    const second = await start(t, configYaml(dir, topic2, workers));
    await second.gw.waitFor('exporter state restored', { timeoutMs: 10_000, match: (l) => (l.sessions as number) === 1 });
    await send(socket, second.udp, datagrams, dataOnly);
    await assertDecodedAtOnce(second.gw, topic2, expected.dataOnly);
  });
}

test('after SIGKILL, templates saved before the kill are restored: data-only datagrams decode at once', async (t) => {
  const datagrams = readDatagrams(join(pcapsDir, 'softflowd_v10_mixed.pcap'));
  const expected = expectedRecords(datagrams);
  const dir = stateDir(t);
  const socket = await exporterSocket(t);
  const topic1 = uniqueTopic('flows.statek1');
  const first = await start(t, configYaml(dir, topic1, 1, 500));
  await send(socket, first.udp, datagrams, (m) => m);
  assert.equal(await waitForCount(testBrokers(), topic1, expected.full), expected.full);
  // Wait (no time assumed) until a periodic save holds the templates, then kill without a stop.
  const learnt = new WasmDecoder();
  for (const g of datagrams) learnt.decode(g.payload, g.address, g.port, g.timeMs);
  const templates = learnt.templates().length;
  const saved = (): number => {
    const file = readStateFile(join(dir, 'worker-0.state'), stateLayout().version);
    if (!file || 'reason' in file) return 0;
    const d = new WasmDecoder();
    d.importState(file.payload, Date.now());
    return d.templates().length;
  };
  await waitUntil(`a save holding the ${templates} templates`, () => saved() >= templates, { timeoutMs: 20_000, intervalMs: 100, last: saved });
  assert.equal(saved(), templates);
  first.gw.child.kill('SIGKILL');
  assert.equal(await first.gw.exited, null);

  const topic2 = uniqueTopic('flows.statek2');
  const second = await start(t, configYaml(dir, topic2, 1, 500));
  await send(socket, second.udp, datagrams, dataOnly);
  await assertDecodedAtOnce(second.gw, topic2, expected.dataOnly);
});

test('a corrupt state file: the gateway starts, logs it once and counts it', async (t) => {
  const dir = stateDir(t);
  writeFileSync(join(dir, 'worker-0.state'), 'FGST this is not what a state file holds');
  const topic = uniqueTopic('flows.statebad');
  const gw = await start(t, configYaml(dir, topic, 1));
  const line = await gw.gw.waitFor('state file set aside: starting without its exporter state');
  assert.equal(line.reason, 'format_version');
  assert.equal(gw.gw.count(line.msg), 1);
  const m = await gw.metrics();
  assert.equal(m.get('flowgate_state_files_rejected_total{reason="format_version"}'), 1);
  assert.equal(m.get('flowgate_state_files_rejected_total{reason="bad_checksum"}'), 0);
  assert.ok(readdirSync(dir).some((n) => n.startsWith('worker-0.state.bad-')));
  const stopped = await gw.gw.stop('SIGTERM');
  assert.equal(stopped.code, 0);
});
