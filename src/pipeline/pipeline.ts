// `mlrun pipeline [options] -- dvc repro`: the parent run of one pipeline launch. Every stage
// wrapped with `mlrun --` inside it becomes its child. Once DVC is done the parent becomes the
// launch's summary (launch-end.ts).
import { keepParsedFilesIn } from '../dvc/parsed-files.ts';
import { Project } from '../dvc/project.ts';
import { findDvcRoot } from '../dvc/root.ts';
import { pipelineOutputs } from '../dvc/tracked-data.ts';
import { recordLaunchEnd } from './launch-end.ts';
import { parentExperimentEnv } from '../run/parent-experiment.ts';
import { parsedFilesFolder } from '../settings/private-folders.ts';
import { commandBasename, mlflowEnv, PIPELINE_NAMED, runTrackedCommand, withoutRunSelectors, type RunOptions } from '../run/tracked-command.ts';

export type PipelineOptions = RunOptions;

export function pipelineCommand(argv: string[], options: PipelineOptions): Promise<number> {
  return runTrackedCommand(argv, options, ({ shownArgv, cwd, env, projectRoot, reporter }) => {
    const dvcRoot = findDvcRoot(cwd, env);
    // Its stages and its own end read the same dvc.yaml and params files: parsed once for all.
    keepParsedFilesIn(parsedFilesFolder(projectRoot));
    let discardReason: string | undefined;
    return {
      defaultName: launchName(shownArgv, new Date()),
      tags: [{ key: 'mlrun.role', value: 'pipeline' }],
      parentFromEnv: (env) => env.MLRUN_PARENT_RUN_ID || undefined,
      // Stages find their parent in MLRUN_PARENT_RUN_ID; MLFLOW_RUN_ID also names it, as the
      // Python recipe does, so an unwrapped MLflow stage still logs somewhere sensible.
      commandEnv: (tracking, env) => ({
        ...withoutRunSelectors(env),
        ...mlflowEnv(tracking, tracking.run.runId),
        MLRUN_PARENT_RUN_ID: tracking.run.runId,
        // The stages nest in the parent's experiment without looking the parent up.
        ...parentExperimentEnv(tracking.run.runId, tracking.run.experimentId),
        // Under `dvc exp run` the experiment names the run, unless --name did.
        ...(options.name !== undefined ? { [PIPELINE_NAMED]: '1' } : {}),
      }),
      generatedFiles: () => (dvcRoot ? pipelineOutputs(new Project(dvcRoot)) : []),
      // The outcome goes with the launch's own tags, in the request beside the close.
      beforeClose: async (tracking, result, hurry, outcome) => {
        const end = await recordLaunchEnd(tracking, { projectRoot, dvcRoot, launchedDvc: isDvc(shownArgv), succeeded: result.exitCode === 0, env, reporter, hurry });
        discardReason = end.discardReason;
        return [...end.tags, ...outcome];
      },
      discardReason: () => discardReason,
    };
  });
}

/**
 * The parent's name when --name is not given: the DVC command and when it was launched (local
 * time), e.g. `repro 2026-12-07 14:03:21`. Every launch gets its own, known before the command
 * starts without asking anything. Under `dvc exp run` the first stage renames it after the
 * experiment (stage/experiment-run.ts).
 */
export function launchName(shownArgv: string[], now: Date): string {
  const words = shownArgv.slice(1).filter((arg) => !arg.startsWith('-'));
  const command = !isDvc(shownArgv) || words.length === 0 ? commandBasename(shownArgv) : words.slice(0, words[0] === 'exp' || words[0] === 'queue' ? 2 : 1).join(' ');
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  return `${command} ${date} ${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
}

function isDvc(argv: string[]): boolean {
  return commandBasename(argv) === 'dvc';
}
