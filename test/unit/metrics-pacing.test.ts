// When waiting output is due to be matched (src/metrics/pacing.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { burstOverIn, MAX_WAIT_MS, QUIET_MS } from '../../src/metrics/pacing.ts';

test('output that keeps coming waits for a pause', () => {
  // First chunk at 1000, the last one just now: a pause of QUIET_MS from now.
  assert.equal(burstOverIn(1000, 1100, 1100), QUIET_MS);
  assert.equal(burstOverIn(1000, 1100, 1100 + QUIET_MS - 1), 1);
});

test('a pause of QUIET_MS ends the wait', () => {
  assert.equal(burstOverIn(1000, 1100, 1100 + QUIET_MS), 0);
  assert.equal(burstOverIn(1000, 1000, 5000), 0);
});

test('output that never pauses waits MAX_WAIT_MS at most', () => {
  const first = 1000;
  const now = first + MAX_WAIT_MS - 10;
  assert.equal(burstOverIn(first, now, now), 10);
  assert.equal(burstOverIn(first, first + MAX_WAIT_MS, first + MAX_WAIT_MS), 0);
});
