// A DVC-looking project folder for a test, and the run id a tracked command printed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new folder with `.dvc/` (so it is the project root) and the given files; symlinks resolved. */
export function tempProject(label: string, files: Record<string, string> = {}): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `mlrun-${label}-`)));
  fs.mkdirSync(path.join(dir, '.dvc'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** The run id the command printed as `run=$MLFLOW_RUN_ID`, on stdout or stderr. */
export function runIdOf(result: { stdout: Buffer | string; stderr: string }): string {
  const stdout = result.stdout.toString();
  const id = /run=(\w+)/.exec(`${stdout}\n${result.stderr}`)?.[1];
  assert.ok(id, `no run id in the output: ${stdout.slice(0, 500)} ${result.stderr.slice(0, 2000)}`);
  return id;
}
