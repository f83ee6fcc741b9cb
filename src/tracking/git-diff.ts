// Whether a run was made from uncommitted changes, and which: `git diff HEAD` of the work tree,
// kept with the run (bounded) beside the commit MLflow's tags name. Taken once the command has
// started, never before: spawning git costs more than the rest of mlrun's start-up. Changes to
// files the pipeline writes itself (dvc.lock, outputs kept in git) are left out: they say nothing
// of the code the run was made from. So are `.gitignore` files: DVC adds its outputs to them as
// stages run, and mlrun its embedded mlflow.db (private-folders.ts); an ignore rule is not code. Untracked files are not changes, as for `git describe --dirty`.
// Secrets are taken out as from everything else mlrun records (redact.ts).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openTempFile } from '../process/temp-files.ts';
import { findGit } from './git-context.ts';
import { redactSecrets, redactUris } from './redact.ts';

const MAX_DIFF_BYTES = 1024 * 1024;

export interface WorkTreeDiff {
  /** The diff, in a temp file that vanishes with mlrun (or `close`). */
  path: string;
  close: () => void;
}

/**
 * The work tree's changes against HEAD, as a temp file, or undefined when there are none or they
 * cannot be known (no git, no commit yet). `generated`: absolute paths whose changes do not count.
 */
export async function readWorkTreeDiff(cwd: string, generated: string[], runId: string, secrets: readonly string[]): Promise<WorkTreeDiff | undefined> {
  const workTree = findGit(cwd)?.workTree;
  if (!workTree) return undefined;
  // A pathspec outside the work tree is an error to git.
  const excluded = generated.filter((file) => !path.relative(workTree, file).startsWith('..')).map((file) => `:(exclude,literal)${file}`);
  const args = ['diff', 'HEAD', '--no-color', '--no-ext-diff', '--no-textconv', '--', ':/', ':(exclude,glob,top)**/dvc.lock', ':(exclude,glob,top)**/.gitignore', ...excluded];
  const diff = await boundedOutput('git', args, cwd);
  if (!diff || diff.text.length === 0) return undefined;
  // Latin-1 keeps every byte as one character, so the diff's bytes outside the secrets stay as they are.
  const secretBytes = secrets.map((secret) => Buffer.from(secret).toString('latin1'));
  const text = redactSecrets(redactUris(diff.text.toString('latin1')), secretBytes);
  const file = openTempFile(`mlrun-${runId}-${process.pid}.diff`);
  fs.writeSync(file.fd, Buffer.from(text, 'latin1'));
  if (diff.cut) fs.writeSync(file.fd, `\n[mlrun: the diff is longer than ${MAX_DIFF_BYTES} bytes: cut here]\n`);
  return { path: file.path, close: () => fs.closeSync(file.fd) };
}

/** What the command wrote to stdout, up to MAX_DIFF_BYTES; undefined when it failed. */
function boundedOutput(file: string, args: string[], cwd: string): Promise<{ text: Buffer; cut: boolean } | undefined> {
  return new Promise((resolve) => {
    // No index.lock: DVC may run git in the same repository meanwhile.
    const child = spawn(file, args, { cwd, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let cut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (cut) return;
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes <= MAX_DIFF_BYTES) return;
      cut = true;
      child.kill();
    });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0 && !cut) return resolve(undefined);
      resolve({ text: Buffer.concat(chunks).subarray(0, MAX_DIFF_BYTES), cut });
    });
  });
}
