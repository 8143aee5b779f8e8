// The per-address limit on failed token attempts, on a clock the test moves: the window, the
// refusal that lasts a window from the failure that reached the limit, the bounded table and
// which entry it forgets, and the key an address is counted under.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthFailureLimiter, clientKey } from '../../src/http/auth-limiter.js';

const limits = { maxFailures: 3, windowMs: 1_000, maxAddresses: 4 };

test('an address is refused after maxFailures failures within the window, for a window from the last one, then let in again', () => {
  const l = new AuthFailureLimiter(limits);
  assert.equal(l.recordFailure('a', 0), false);
  assert.equal(l.recordFailure('a', 100), false);
  assert.equal(l.retryAfterMs('a', 150), 0, 'two failures: still allowed');
  assert.equal(l.recordFailure('a', 200), true, 'the third failure starts the refusal');
  assert.equal(l.retryAfterMs('a', 200), 1_000);
  assert.equal(l.retryAfterMs('a', 1_100), 100, 'a window from the third failure, not from the first');
  assert.equal(l.retryAfterMs('b', 1_100), 0, 'other addresses are not affected');
  assert.equal(l.retryAfterMs('a', 1_200), 0, 'the window has passed');
  assert.equal(l.size, 0, 'and the entry is gone');
  // Counting starts again from nothing.
  l.recordFailure('a', 1_300);
  l.recordFailure('a', 1_400);
  assert.equal(l.retryAfterMs('a', 1_450), 0);
});

test('failures further apart than the window do not add up', () => {
  const l = new AuthFailureLimiter(limits);
  l.recordFailure('a', 0);
  l.recordFailure('a', 500);
  l.recordFailure('a', 1_000); // the first window (0..1000) is over: this one starts a new window
  l.recordFailure('a', 1_500);
  assert.equal(l.retryAfterMs('a', 1_600), 0);
  l.recordFailure('a', 1_700);
  assert.ok(l.retryAfterMs('a', 1_700) > 0);
});

test('maxFailures 1: the first failure refuses the address', () => {
  const l = new AuthFailureLimiter({ ...limits, maxFailures: 1 });
  assert.equal(l.recordFailure('a', 0), true);
  assert.equal(l.retryAfterMs('a', 10), 990);
});

test('the table holds maxAddresses: expired entries go first, then the one whose window ends soonest, counted as an eviction', () => {
  const l = new AuthFailureLimiter(limits);
  for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) l.recordFailure(key, i * 100);
  assert.equal(l.size, 4);
  // a (since 0) has expired by 1050: making room for e costs no eviction.
  l.recordFailure('e', 1_050);
  assert.equal(l.size, 4);
  assert.equal(l.evictions, 0);
  // Full of live entries: f pushes out b, the oldest window.
  l.recordFailure('f', 1_060);
  assert.equal(l.size, 4);
  assert.equal(l.evictions, 1);
  // d reaches the limit: its window restarts, so it is now the newest and survives the next evictions.
  l.recordFailure('d', 1_070);
  l.recordFailure('d', 1_080);
  assert.ok(l.retryAfterMs('d', 1_080) > 0);
  l.recordFailure('g', 1_090); // evicts c
  l.recordFailure('h', 1_095); // evicts e
  assert.equal(l.evictions, 3);
  assert.equal(l.size, 4);
  assert.ok(l.retryAfterMs('d', 1_100) > 0, 'a refused address is the last to be forgotten');
  for (const gone of ['a', 'b', 'c', 'e']) assert.equal(l.retryAfterMs(gone, 1_100), 0);
});

test('many addresses failing once never grow the table past its cap', () => {
  const l = new AuthFailureLimiter({ maxFailures: 10, windowMs: 60_000, maxAddresses: 100 });
  for (let i = 0; i < 10_000; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`, i);
  assert.equal(l.size, 100);
  assert.equal(l.evictions, 9_900);
});

test('new limits apply at once and a smaller table is cut down to size', () => {
  const l = new AuthFailureLimiter(limits);
  const now = Date.now();
  for (const key of ['a', 'b', 'c', 'd']) l.recordFailure(key, now);
  l.recordFailure('a', now);
  assert.equal(l.retryAfterMs('a', now), 0);
  l.configure({ ...limits, maxFailures: 2, maxAddresses: 2 });
  assert.equal(l.size, 2);
  assert.equal(l.evictions, 2);
  assert.equal(l.windowMs, 1_000);
});

test('addresses are counted as IPv4 (IPv4-mapped too) or by their IPv6 /64', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('0000:0000:0000:0000:0000:ffff:c000:0207'), '192.0.2.7');
  assert.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:2:ffff::9'));
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
  assert.equal(clientKey('not an address'), 'not an address');
});
