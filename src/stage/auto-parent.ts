// Whether a stage nests under the parent run of its plain `dvc repro` launch
// (pipeline/launch-parent.ts): only under DVC, with no parent given (--parent,
// MLRUN_PARENT_RUN_ID, MLFLOW_RUN_ID, `mlrun pipeline`), outside `dvc exp run` (whose experiment
// has a run of its own, experiment-run.ts), and unless `--no-auto-parent` or `auto_parent: false`.
import { dvcLaunch, type DvcLaunch } from '../process/dvc-launch.ts';
import type { Reporter } from '../report.ts';

export function autoParentLaunch(parentFlag: string | undefined, env: NodeJS.ProcessEnv, enabled: boolean, reporter: Reporter): DvcLaunch | undefined {
  if (!enabled || !env.DVC_STAGE || env.DVC_EXP_NAME || parentFlag || env.MLRUN_PARENT_RUN_ID || env.MLFLOW_RUN_ID) return undefined;
  const launch = dvcLaunch();
  if (launch === 'unreadable') {
    reporter.info('cannot tell which dvc process launched the stage (no /proc): the stage is recorded without a parent');
    return undefined;
  }
  if (!launch) reporter.info('no dvc process launched the stage: it is recorded without a parent');
  return launch;
}
