// One smoke run of the release on every test run: scripts/release --smoke builds the linux-x64
// executable, wheel, npm packages and archive and runs their checks (packaging/test/): the
// packaging cannot break unnoticed between releases. The full release (arm64, the fresh venv
// with the example pipeline) is scripts/release's own, outside the tests' time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.ts';

test('scripts/release --smoke builds the linux-x64 release and its checks pass', () => {
  // Without NODE_TEST_CONTEXT, which would make the release's own `node --test` report to this
  // runner instead of printing its summary.
  const env = { ...process.env, NODE_TEST_CONTEXT: undefined };
  const result = spawnSync('bash', [path.join(repoRoot, 'scripts', 'release'), '--smoke'], { cwd: repoRoot, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, `${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  // artifacts.test.ts and npm.test.ts: 7 checks, none skipped (node --test's summary, TAP or spec).
  assert.match(result.stdout, /^(#|ℹ) pass 7$/m);
  assert.match(result.stdout, /^(#|ℹ) skipped 0$/m);
});
