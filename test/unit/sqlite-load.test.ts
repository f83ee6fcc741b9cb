// Loading node:sqlite prints nothing: exactly the SQLite ExperimentalWarning is dropped (some
// Node 24 releases print it), every other warning still reaches stderr.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.ts';

const loadModule = path.join(repoRoot, 'src', 'tracking', 'sqlite', 'load.ts');

test('the real module loads and works without a word on stderr', () => {
  const code = `
import { loadSqlite } from ${JSON.stringify(loadModule)};
const { DatabaseSync } = loadSqlite();
const db = new DatabaseSync(':memory:');
process.stdout.write(String(db.prepare('SELECT 41 + 1 AS n').get().n));
`;
  const out = spawnNode(code);
  assert.deepEqual(out, { status: 0, stdout: '42', stderr: '' });
});

test('only the SQLite ExperimentalWarning is dropped, in each form emitWarning takes', () => {
  const code = `
import { withoutSqliteWarning } from ${JSON.stringify(loadModule)};
const sqliteText = 'SQLite is an experimental feature and might change at any time';
withoutSqliteWarning(() => {
  process.emitWarning(sqliteText, 'ExperimentalWarning');
  process.emitWarning(sqliteText, { type: 'ExperimentalWarning' });
  process.emitWarning(Object.assign(new Error(sqliteText), { name: 'ExperimentalWarning' }));
  process.emitWarning('Other is an experimental feature', 'ExperimentalWarning');
  process.emitWarning(sqliteText, 'DeprecationWarning');
});
process.emitWarning(sqliteText, 'ExperimentalWarning');
`;
  const { status, stderr } = spawnNode(code);
  assert.equal(status, 0);
  const lines = stderr.split('\n').filter((line) => line.startsWith('(node:')).map((line) => line.replace(/^\(node:\d+\) /, ''));
  assert.deepEqual(lines, [
    'ExperimentalWarning: Other is an experimental feature',
    'DeprecationWarning: SQLite is an experimental feature and might change at any time',
    'ExperimentalWarning: SQLite is an experimental feature and might change at any time',
  ]);
});

function spawnNode(code: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: repoRoot });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
