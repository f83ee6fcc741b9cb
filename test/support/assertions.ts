import assert from 'node:assert/strict';
import { TrackingError } from '../../src/tracking/errors.ts';

/** The TrackingError a promise rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<TrackingError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TrackingError, `not a TrackingError: ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}
