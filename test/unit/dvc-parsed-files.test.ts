// Parsed YAML kept between stages (src/dvc/parsed-files.ts): the same values as a fresh parse,
// used only for the exact text they came from.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readDataFile } from '../../src/dvc/files.ts';
import { keepParsedFilesIn } from '../../src/dvc/parsed-files.ts';

const PARAMS = 'lr: 0.5\nepochs: 12345678901234567890\nneg_zero: -0.0\nnan: .nan\nbig: .inf\nsmall: -.inf\nname: "\\0mlrun"\nlist: [1, 2.5, null, true]\n';

test('a kept file gives exactly what parsing gives, and an edited file is parsed again', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-parsed-'));
  const file = path.join(root, 'params.yaml');
  const kept = path.join(root, 'kept');
  fs.writeFileSync(file, PARAMS);
  const fresh = readDataFile(file);
  keepParsedFilesIn(kept);

  assert.deepEqual(readDataFile(file), fresh);
  const [entry] = fs.readdirSync(kept);
  assert.ok(entry?.endsWith('.json'));
  const again = readDataFile(file) as Record<string, unknown>;
  assert.deepEqual(again, fresh);
  assert.equal(again['epochs'], 12345678901234567890n);
  assert.ok(Object.is(again['neg_zero'], -0));
  assert.deepEqual([again['nan'], again['big'], again['small']], [Number.NaN, Infinity, -Infinity]);

  // The entry is what the second read used: a value changed in it (same text) comes back.
  const stored = JSON.parse(fs.readFileSync(path.join(kept, entry!), 'utf8'));
  stored.value.lr = 0.25;
  fs.writeFileSync(path.join(kept, entry!), JSON.stringify(stored));
  assert.equal((readDataFile(file) as Record<string, unknown>)['lr'], 0.25);

  // Any edit, even one that keeps the size and the times, is parsed again.
  const { atime, mtime } = fs.statSync(file);
  fs.writeFileSync(file, PARAMS.replace('lr: 0.5', 'lr: 0.7'));
  fs.utimesSync(file, atime, mtime);
  assert.equal((readDataFile(file) as Record<string, unknown>)['lr'], 0.7);
  fs.rmSync(root, { recursive: true, force: true });
});

test('a value that looks like a mark is never kept, and still read right', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-parsed-'));
  const file = path.join(root, 'params.yaml');
  fs.writeFileSync(file, 'odd: "\\0mlrun:n1"\n');
  keepParsedFilesIn(path.join(root, 'kept'));
  assert.deepEqual(readDataFile(file), { odd: '\u0000mlrun:n1' });
  assert.deepEqual(readDataFile(file), { odd: '\u0000mlrun:n1' });
  assert.equal(fs.existsSync(path.join(root, 'kept')), false);
  fs.rmSync(root, { recursive: true, force: true });
});
