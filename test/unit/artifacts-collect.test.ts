import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { collectOutputs } from '../../src/artifacts/collect.ts';

/** A project root (with a `stages/` wdir) and a folder outside it, files given relative to the root. */
function project(files: Record<string, string>): { root: string; outside: string } {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-collect-')));
  const root = path.join(base, 'project');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(root, 'stages'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'not yours');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return { root, outside };
}

test('files and nested folders become files named from the project root, sorted, with their sizes', async () => {
  const { root } = project({
    'stages/model.pkl': 'm',
    'stages/data/b.csv': 'b',
    'stages/data/a.csv': 'a',
    'stages/data/deep/er/c.csv': 'c',
    'stages/data/deep/d.csv': 'd',
    'other.txt': 'o',
  });
  const collected = await collectOutputs(root, path.join(root, 'stages'), ['model.pkl', 'data', '../other.txt']);
  assert.deepEqual(collected, {
    files: [
      { localPath: path.join(root, 'other.txt'), artifactPath: 'other.txt', size: 1 },
      { localPath: path.join(root, 'stages/data/a.csv'), artifactPath: 'stages/data/a.csv', size: 1 },
      { localPath: path.join(root, 'stages/data/b.csv'), artifactPath: 'stages/data/b.csv', size: 1 },
      { localPath: path.join(root, 'stages/data/deep/d.csv'), artifactPath: 'stages/data/deep/d.csv', size: 1 },
      { localPath: path.join(root, 'stages/data/deep/er/c.csv'), artifactPath: 'stages/data/deep/er/c.csv', size: 1 },
      { localPath: path.join(root, 'stages/model.pkl'), artifactPath: 'stages/model.pkl', size: 1 },
    ],
    warnings: [],
    skipped: [],
    missing: [],
  });
});

test('a file declared twice (alone and inside a folder) is listed once', async () => {
  const { root } = project({ 'data/a.csv': 'a' });
  const collected = await collectOutputs(root, root, ['data', 'data/a.csv', './data/']);
  assert.deepEqual(collected.files, [{ localPath: path.join(root, 'data/a.csv'), artifactPath: 'data/a.csv', size: 1 }]);
});

test('missing outputs are reported, one line each, and the rest still collected', async () => {
  const { root } = project({ 'stages/there.txt': 't' });
  const collected = await collectOutputs(root, path.join(root, 'stages'), ['gone.txt', 'there.txt', 'gone-dir/']);
  assert.deepEqual(collected.files, [{ localPath: path.join(root, 'stages/there.txt'), artifactPath: 'stages/there.txt', size: 1 }]);
  assert.deepEqual(collected.warnings, [
    "declared output 'gone.txt' does not exist: not uploaded",
    "declared output 'gone-dir/' does not exist: not uploaded",
  ]);
  assert.deepEqual(collected.missing, ['gone.txt', 'gone-dir/']);
});

test('paths that leave the project through .. or an absolute path are refused', async () => {
  const { root, outside } = project({ 'stages/ok.txt': 'ok' });
  const secret = path.join(outside, 'secret.txt');
  const collected = await collectOutputs(root, path.join(root, 'stages'), ['../../outside/secret.txt', '..', secret, 'ok.txt']);
  assert.deepEqual(collected.files, [{ localPath: path.join(root, 'stages/ok.txt'), artifactPath: 'stages/ok.txt', size: 2 }]);
  assert.deepEqual(collected.warnings, [
    `output '../../outside/secret.txt' is outside the project (${root}): not uploaded`,
    `output '${secret}' is outside the project (${root}): not uploaded`,
  ]);
});

test('symlinks that lead outside the project are refused, inside ones followed, loops cut', async () => {
  const { root, outside } = project({ 'data/real.csv': 'r', 'shared/s.csv': 's' });
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'leak.txt'));
  fs.symlinkSync(outside, path.join(root, 'leakdir'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'data/leak.txt'));
  fs.symlinkSync(outside, path.join(root, 'data/leakdir'));
  fs.symlinkSync('../shared', path.join(root, 'data/shared'));
  fs.symlinkSync('real.csv', path.join(root, 'data/alias.csv'));
  fs.symlinkSync('..', path.join(root, 'data/loop'));
  fs.symlinkSync('nowhere', path.join(root, 'data/broken'));
  const collected = await collectOutputs(root, root, ['leak.txt', 'leakdir', 'data']);
  assert.deepEqual(
    collected.files.map((file) => file.artifactPath),
    ['data/alias.csv', 'data/real.csv', 'data/shared/s.csv'],
  );
  assert.deepEqual(collected.warnings, [
    "output 'leak.txt' is a symlink that leads outside the project: not uploaded",
    "output 'leakdir' is a symlink that leads outside the project: not uploaded",
    "'data/broken' is a broken symlink: not uploaded",
    "'data/leak.txt' is a symlink that leads outside the project: not uploaded",
    "'data/leakdir' is a symlink that leads outside the project: not uploaded",
    "'data/loop' is a symlink to a folder that contains it: not followed",
  ]);
  for (const file of collected.files) assert.ok(fs.realpathSync(file.localPath).startsWith(`${root}${path.sep}`));
});

test('URLs and remote:// outputs are skipped, not read', async () => {
  const { root } = project({ 'model.pkl': 'm' });
  const collected = await collectOutputs(root, root, ['s3://bucket/data.csv', 'remote://myremote/path', 'https://example.com/x', 'model.pkl']);
  assert.deepEqual(collected, {
    files: [{ localPath: path.join(root, 'model.pkl'), artifactPath: 'model.pkl', size: 1 }],
    warnings: [],
    skipped: ['s3://bucket/data.csv', 'remote://myremote/path', 'https://example.com/x'],
    missing: [],
  });
});

test('a FIFO inside an output folder is reported, not read', async () => {
  const { root } = project({ 'out/a.txt': 'a' });
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [path.join(root, 'out/pipe')]);
  const collected = await collectOutputs(root, root, ['out']);
  assert.deepEqual(collected.files.map((file) => file.artifactPath), ['out/a.txt']);
  assert.deepEqual(collected.warnings, ["'out/pipe' is not a regular file: not uploaded"]);
});
