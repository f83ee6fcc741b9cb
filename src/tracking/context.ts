// The system tags MLflow's Python client sets on every run it creates (its run-context
// providers): who, from what source, at which git commit.
import os from 'node:os';
import { readGitContext } from './git-context.ts';
import type { Tag } from './store.ts';

/** MLflow's rule: MLFLOW_TRACKING_USERNAME, else the login name, else 'unknown'. */
export function userOf(env: NodeJS.ProcessEnv): string {
  if (env.MLFLOW_TRACKING_USERNAME) return env.MLFLOW_TRACKING_USERNAME;
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

/** `user` is userOf(env): the caller sends it as the run's user too, and looking it up reads /etc/passwd. */
export function contextTags(options: { runName: string; sourceName: string; cwd: string; user: string }): Tag[] {
  const git = readGitContext(options.cwd);
  const tags: Tag[] = [
    { key: 'mlflow.runName', value: options.runName },
    { key: 'mlflow.user', value: options.user },
    { key: 'mlflow.source.name', value: options.sourceName },
    { key: 'mlflow.source.type', value: 'LOCAL' },
  ];
  if (git.commit) tags.push({ key: 'mlflow.source.git.commit', value: git.commit });
  if (git.branch) tags.push({ key: 'mlflow.source.git.branch', value: git.branch });
  if (git.repoUrl) tags.push({ key: 'mlflow.source.git.repoURL', value: git.repoUrl });
  return tags;
}
