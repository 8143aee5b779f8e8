// A pool whose start fails leaves nothing running: the workers that did start are stopped, none
// is restarted, and start() rejects with the failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { poolOptions } from '../../src/gateway.js';
import { DecoderPool } from '../../src/decoder/pool.js';
import { VERSION_INDEX } from '../../src/ring/slots.js';
import { eventsNamed, recordingLogger } from '../support/log-events.js';

test('when one worker fails to start, the others are stopped and start() rejects', async (t) => {
  // No broker is needed: the producers only try to connect, and the pool stops them at once.
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
workers: 3
kafka: { brokers: ["127.0.0.1:1"] }
routing: { default_topic: flows }
stats: { log_interval_s: 0 }
log: { level: error }
`);
  const { log, events } = recordingLogger('info');
  const pool = new DecoderPool(poolOptions(config, log));
  t.after(() => pool.stop(0)); // only does something when the test failed
  // Worker 1's ring claims a layout this build does not read: PacketRing.attach() throws in it.
  new Int32Array(pool.ring(1).buffer)[VERSION_INDEX] = 999;
  await assert.rejects(pool.start(), /layout version 999|exited with code/);
  const running = [0, 1, 2].filter((i) => pool.thread(i) !== undefined);
  assert.deepEqual(running, [], 'no worker thread is left running');
  assert.equal(pool.restarts, 0);
  const failed = eventsNamed(events, 'decoder worker failed');
  assert.deepEqual(failed.map((e) => e.worker), [1], JSON.stringify(events));
  assert.match(String(failed[0]!.error), /layout version 999/);
  assert.deepEqual(eventsNamed(events, 'decoder worker exited, restarting'), [], 'no worker was restarted');
});
