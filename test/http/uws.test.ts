// Which uWebSockets.js build loads: the first whose binary loads on this Node and C library, with
// why each one before it did not, and one error naming them all when none does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadUws, uwsBuilds } from '../../src/http/uws.js';

test('on this machine a build loads, the newer one first when glibc allows it', () => {
  const loaded = loadUws();
  assert.equal(typeof loaded.uws.App, 'function');
  const first = uwsBuilds[0]!.package;
  if (loaded.build.startsWith(first)) assert.deepEqual(loaded.skipped, []);
  else assert.match(loaded.skipped[0]!, new RegExp(`^${first.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `), 'the newer build was tried and its reason kept');
  assert.match(loaded.build, /^@[a-z-]+\/[a-z.-]+ \d+\.\d+\.\d+\S* \(\S*uws_linux_x64_\d+\.node\)$/);
});

test('a build whose binary does not load is skipped with its reason; the next one is used', () => {
  const missing = { package: uwsBuilds[1]!.package, binary: () => 'binaries/uws_nowhere.node' };
  const loaded = loadUws([missing, ...uwsBuilds]);
  assert.equal(loaded.skipped.length >= 1, true);
  assert.match(loaded.skipped[0]!, /uws_nowhere\.node/);
});

test('no build loads: one error naming the Node version, ABI and every reason', () => {
  const none = [{ package: uwsBuilds[0]!.package, binary: () => 'uws_none.node' }, { package: 'no-such-uws-package', binary: () => 'x.node' }];
  assert.throws(() => loadUws(none), (err: Error) => {
    assert.match(err.message, new RegExp(`no uWebSockets.js build loads on Node ${process.version.replaceAll('.', '\\.')} \\(ABI ${process.versions.modules}\\)`));
    assert.match(err.message, /uws_none\.node/);
    assert.match(err.message, /no-such-uws-package/);
    return true;
  });
});
