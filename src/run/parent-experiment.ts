// A parent run made by another mlrun (`mlrun pipeline`) is handed to the stages with its
// experiment, so that each stage need not ask the store for the parent before its command starts:
// the run id and the experiment travel together in one variable, and the experiment is trusted
// only for that very run id (a parent chosen any other way is looked up as before).

/** Set by `mlrun pipeline` for its command, beside MLRUN_PARENT_RUN_ID: `<run id>/<experiment id>`. */
export const PARENT_EXPERIMENT = 'MLRUN_PARENT_EXPERIMENT';

export function parentExperimentEnv(runId: string, experimentId: string): NodeJS.ProcessEnv {
  return { [PARENT_EXPERIMENT]: `${runId}/${experimentId}` };
}

/** The experiment of `parentRunId` when the environment names it for that run, in the store the environment names. */
export function knownParentExperiment(env: NodeJS.ProcessEnv, parentRunId: string | undefined, trackingUri: string | undefined): string | undefined {
  if (!parentRunId || (trackingUri !== undefined && trackingUri !== env.MLFLOW_TRACKING_URI)) return undefined;
  const [runId, experimentId, ...rest] = (env[PARENT_EXPERIMENT] ?? '').split('/');
  return runId === parentRunId && experimentId && rest.length === 0 ? experimentId : undefined;
}
