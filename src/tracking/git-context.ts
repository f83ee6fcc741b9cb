// The git facts MLflow records on a run (mlflow.source.git.*), read straight from .git: spawning
// `git` three times would cost more than the rest of mlrun's start-up.
import fs from 'node:fs';
import path from 'node:path';
import { configValue } from './git-config.ts';
import { redactUri } from './redact.ts';

export interface GitContext {
  commit?: string;
  branch?: string;
  repoUrl?: string;
}

export function readGitContext(cwd: string): GitContext {
  const gitDir = findGit(cwd)?.gitDir;
  if (!gitDir) return {};
  const commonDir = readCommonDir(gitDir);
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (!head) return {};
  const context: GitContext = {};
  if (head.startsWith('ref: ')) {
    const ref = head.slice(5);
    if (ref.startsWith('refs/heads/')) context.branch = ref.slice('refs/heads/'.length);
    context.commit = resolveRef(gitDir, commonDir, ref);
  } else if (/^[0-9a-f]{40,64}$/.test(head)) {
    context.commit = head;
  }
  const url = configValue(readText(path.join(commonDir, 'config')) ?? '', { section: 'remote', subsection: 'origin', name: 'url' });
  if (url) context.repoUrl = redactUri(url);
  return context;
}

/** The work tree holding `start` (the folder with `.git`) and its git folder. */
export function findGit(start: string): { workTree: string; gitDir: string } | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, '.git');
    try {
      const stat = fs.statSync(candidate);
      if (stat.isDirectory()) return { workTree: dir, gitDir: candidate };
      // A worktree or submodule: .git is a file "gitdir: <path>".
      const pointer = readText(candidate)?.match(/^gitdir: (.+)$/m)?.[1];
      if (pointer) return { workTree: dir, gitDir: path.resolve(dir, pointer.trim()) };
    } catch {
      // not here; look further up
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function readCommonDir(gitDir: string): string {
  const common = readText(path.join(gitDir, 'commondir'))?.trim();
  return common ? path.resolve(gitDir, common) : gitDir;
}

function resolveRef(gitDir: string, commonDir: string, ref: string): string | undefined {
  for (const dir of [gitDir, commonDir]) {
    const loose = readText(path.join(dir, ref))?.trim();
    if (loose) return loose;
  }
  const packed = readText(path.join(commonDir, 'packed-refs')) ?? '';
  for (const line of packed.split('\n')) {
    const [sha, name] = line.split(' ');
    if (name === ref && sha) return sha;
  }
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
