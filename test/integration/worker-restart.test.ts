// A decoder worker that dies is restarted and counted; the other keeps running, and the
// records the dead one had accepted are accounted for as dropped ("worker_failed").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { testBrokers } from '../helpers/gateway.js';
import { uniqueTopic, waitForCount } from '../helpers/kafka.js';
import { pcapsDir, replayTool } from '../helpers/paths.js';

function replay(capture: string, port: number): void {
  const r = spawnSync('python3', [replayTool, join(pcapsDir, `${capture}.pcap`), `127.0.0.1:${port}`, '--bind-original', '--pps', '3000'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('a worker that dies is restarted and counted, and the identity still holds', async (t) => {
  const topic = uniqueTopic('flows.restart');
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
workers: 2
kafka: { brokers: ${JSON.stringify(testBrokers())}, linger_ms: 5 }
routing: { default_topic: ${topic} }
stats: { log_interval_s: 0 }
`);
  const lines: string[] = [];
  const gateway = await startGateway(config, createLogger('info', {}, (l) => lines.push(l)));
  t.after(() => gateway.stop());
  const port = gateway.addresses[0]!.port;
  replay('softflowd_v10_mixed', port);
  assert.equal(await waitForCount(testBrokers(), topic, 1406), 1406);

  // The worker that owns 127.0.0.1 dies; the pool starts another on the same ring.
  const owner = gateway.pool.workerFor(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]));
  await gateway.pool.thread(owner)!.terminate();
  const deadline = Date.now() + 10_000;
  while (!gateway.pool.thread(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(gateway.pool.restarts, 1);
  assert.ok(lines.some((l) => l.includes('decoder worker exited, restarting')));

  // The new worker has no templates yet: softflowd sends them again in its first datagram.
  replay('softflowd_v10_mixed', port);
  replay('softflowd_v10_milli_vlan', port); // another exporter, possibly the other worker
  assert.equal(await waitForCount(testBrokers(), topic, 2 * 1406 + 111), 2 * 1406 + 111);
  await gateway.stop();
  const a = gateway.accounting();
  assert.equal(a.records.decoded, 2 * 1406 + 111);
  assert.equal(a.records.delivered, 2 * 1406 + 111);
  assert.equal(a.records.queued, 0);
  assert.equal(a.records.decoded, a.records.delivered + Object.values(a.records.dropped).reduce((x, y) => x + y, 0));
});
