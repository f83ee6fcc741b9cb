import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
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

/** Every file under `dir` (none when it does not exist), to look for what mlrun stored. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => fs.statSync(file).isFile());
}

/** Fails if any secret is in any of the places (what mlrun printed, the bytes of the files it wrote). */
export function assertNoSecrets(secrets: string[], places: Record<string, Buffer | string>): void {
  for (const secret of secrets) {
    for (const [where, content] of Object.entries(places)) {
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      assert.equal(bytes.indexOf(secret), -1, `${where} holds the secret ${secret}`);
    }
  }
}
