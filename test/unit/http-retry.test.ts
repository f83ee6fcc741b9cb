import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetryPolicy } from '../../src/http/config.ts';
import { backoffSeconds, delaySeconds, isRetriedStatus, retryAfterSeconds, wait } from '../../src/http/retry.ts';

const defaults: RetryPolicy = { maxRetries: 7, backoffFactor: 2, backoffJitter: 1, respectRetryAfter: true };
const noJitter: RetryPolicy = { ...defaults, backoffJitter: 0 };

test('backoff follows urllib3 2.x: first retry immediate, then factor·2^(n-1), capped at 120 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffSeconds(n, noJitter)), [0, 4, 8, 16, 32, 64, 120, 120]);
  assert.deepEqual([1, 2, 3].map((n) => backoffSeconds(n, { ...noJitter, backoffFactor: 0.5 })), [0, 1, 2]);
  assert.deepEqual([1, 2, 3].map((n) => backoffSeconds(n, { ...noJitter, backoffFactor: 0 })), [0, 0, 0]);
});

test('jitter adds up to backoffJitter seconds to a non-zero backoff, and the cap still holds', () => {
  assert.equal(backoffSeconds(1, defaults, () => 0.5), 0);
  assert.equal(backoffSeconds(2, defaults, () => 0.5), 4.5);
  assert.equal(backoffSeconds(3, { ...defaults, backoffJitter: 3 }, () => 0.25), 8.75);
  assert.equal(backoffSeconds(10, defaults, () => 0.99), 120);
});

test('retried statuses are 408, 429, 500, 502, 503, 504; 413 never, even with Retry-After', () => {
  const retried = [400, 401, 403, 404, 408, 409, 413, 429, 500, 501, 502, 503, 504].filter((s) => isRetriedStatus(s, false, defaults));
  assert.deepEqual(retried, [408, 429, 500, 502, 503, 504]);
  assert.equal(isRetriedStatus(413, true, defaults), false);
  assert.equal(isRetriedStatus(400, true, defaults), false);
});

test('Retry-After: delta-seconds or an HTTP date, never negative, at most 6 h', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(retryAfterSeconds(undefined, now), undefined);
  assert.equal(retryAfterSeconds(' 7 ', now), 7);
  assert.equal(retryAfterSeconds('Thu, 01 Jan 2026 00:00:30 GMT', now), 30);
  assert.equal(retryAfterSeconds('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(retryAfterSeconds('999999', now), 21_600);
  assert.equal(retryAfterSeconds('soon', now), undefined);
});

test('a Retry-After wait replaces the backoff unless disabled or zero', () => {
  assert.equal(delaySeconds(3, noJitter, 5), 5);
  assert.equal(delaySeconds(3, noJitter, 0), 8);
  assert.equal(delaySeconds(3, { ...noJitter, respectRetryAfter: false }, 5), 8);
  assert.equal(delaySeconds(3, noJitter, undefined), 8);
});

test('wait ends at once when the signal aborts', async () => {
  const controller = new AbortController();
  const started = performance.now();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(wait(30, controller.signal), { name: 'AbortError' });
  assert.ok(performance.now() - started < 1000);
  await assert.rejects(wait(0, AbortSignal.abort()), { name: 'AbortError' });
  await wait(0, undefined);
});
