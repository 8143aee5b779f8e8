// Prewarmed decoder workers: taken one by one while they last, the rest ended on discard; an
// untaken spare does not keep the process alive (it is unref'd), a taken one does until it ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prewarmDecoderWorkers, takePrewarmedWorker, discardPrewarmedWorkers } from '../../src/decoder/prewarm.js';

test('spares are taken while they last, then discarded', async () => {
  prewarmDecoderWorkers(2);
  const taken = takePrewarmedWorker();
  assert.ok(taken, 'a spare is handed out');
  const spareExit = new Promise<number>((resolve) => {
    // the second spare is ended by discard
    void discardPrewarmedWorkers().then(() => resolve(0));
  });
  await spareExit;
  assert.equal(takePrewarmedWorker(), undefined, 'none left after discard');
  const exited = new Promise<number>((resolve) => taken.once('exit', resolve));
  await taken.terminate();
  assert.equal(typeof (await exited), 'number');
});
