// A run made from uncommitted changes says so: the tag `mlrun.git.dirty` and the changes as
// `mlrun/git.diff` (see tracking/git-diff.ts), looked for while the command runs.
import { describeError, type Reporter } from '../report.ts';
import { readWorkTreeDiff } from '../tracking/git-diff.ts';
import type { Tag } from '../tracking/store.ts';
import type { Tracking } from '../tracking/tracked-run.ts';
import { uploadFiles } from './upload-files.ts';

const GIT_DIFF_ARTIFACT = 'mlrun/git.diff';

export interface WorkTreeCheck {
  /** Once the command ended: uploads the diff, if any, and returns the tags that say so. */
  record: (tracking: Tracking, env: NodeJS.ProcessEnv, hurry: AbortSignal) => Promise<Tag[]>;
}

/** Call once the command has started; `generated` lists the files whose changes do not count. */
export function checkWorkTree(cwd: string, generated: () => string[], runId: string, secrets: readonly string[], reporter: Reporter): WorkTreeCheck {
  const diff = Promise.resolve()
    .then(() => readWorkTreeDiff(cwd, generated(), runId, secrets))
    .catch((error: unknown) => {
      reporter.warn(`could not read the work tree's changes: ${describeError(error)}`);
      return undefined;
    });
  return {
    record: async (tracking, env, hurry) => {
      const changes = await diff;
      if (!changes) return [];
      try {
        await uploadFiles(tracking, [{ localPath: changes.path, artifactPath: GIT_DIFF_ARTIFACT }], env, reporter, { hurry, showProgress: false });
      } catch (error) {
        reporter.warn(`could not upload the work tree's changes: ${describeError(error)}`);
      } finally {
        changes.close();
      }
      return [{ key: 'mlrun.git.dirty', value: 'true' }];
    },
  };
}
