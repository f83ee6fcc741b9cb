// `mlrun pipeline [options] -- dvc repro`: the parent run of one pipeline launch. Every stage
// wrapped with `mlrun --` inside it becomes its child.
import { displayCommand } from './command-line.ts';
import { mlflowEnv, runTrackedCommand, withoutRunSelectors, type RunOptions } from './tracked-command.ts';

export type PipelineOptions = RunOptions;

export function pipelineCommand(argv: string[], options: PipelineOptions): Promise<number> {
  return runTrackedCommand(argv, options, () => ({
    defaultName: displayCommand(argv),
    tags: [{ key: 'mlrun.role', value: 'pipeline' }],
    parentFromEnv: (env) => env.MLRUN_PARENT_RUN_ID || undefined,
    // Stages find their parent in MLRUN_PARENT_RUN_ID; MLFLOW_RUN_ID also names it, as the
    // Python recipe does, so an unwrapped MLflow stage still logs somewhere sensible.
    commandEnv: (tracking, env) => ({
      ...withoutRunSelectors(env),
      ...mlflowEnv(tracking, tracking.run.runId),
      MLRUN_PARENT_RUN_ID: tracking.run.runId,
    }),
  }));
}
