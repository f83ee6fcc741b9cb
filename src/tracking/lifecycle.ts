// Opening and closing a run the way MLflow's own client does: the parent decides the experiment
// (the UI nests only within one experiment), `mlflow.parentRunId` makes the run a child, and
// start_time / end_time are always sent.
import { isNotFound } from './errors.ts';
import type { CallOptions, Experiment, RunInfo, RunStatus, Store, Tag } from './store.ts';

export interface OpenRunRequest {
  parentRunId?: string;
  /**
   * The parent's experiment, when the mlrun that made the parent passed it on: the parent is then
   * not looked up again (one request fewer before the command starts).
   */
  parentExperimentId?: string;
  /** --experiment: an id or a name; a name that does not exist is created. */
  experiment?: string;
  /** MLFLOW_EXPERIMENT_ID: must exist. */
  experimentId?: string;
  /** MLFLOW_EXPERIMENT_NAME: created when missing. */
  experimentName?: string;
  runName: string;
  userId: string;
  tags: Tag[];
  startTime: number;
}

export interface OpenedRun {
  info: RunInfo;
  /** Things the user should hear about, one line each (the run was still created). */
  warnings: string[];
}

export const DEFAULT_EXPERIMENT_ID = '0';

export async function openRun(store: Store, request: OpenRunRequest, options: CallOptions = {}): Promise<OpenedRun> {
  const warnings: string[] = [];
  const parent = !request.parentRunId
    ? undefined
    : request.parentExperimentId
      ? { runId: request.parentRunId, experimentId: request.parentExperimentId }
      : await findParent(store, request.parentRunId, warnings, options);
  const chosen = await chooseExperiment(store, request, options);
  let experimentId = chosen ?? DEFAULT_EXPERIMENT_ID;
  if (parent) {
    if (chosen !== undefined && chosen !== parent.experimentId) {
      warnings.push(
        `the parent run is in experiment ${parent.experimentId}, not ${chosen}: the run goes into the parent's experiment so that MLflow nests it`,
      );
    }
    experimentId = parent.experimentId;
  }
  const tags = [...request.tags];
  if (parent) tags.push({ key: 'mlflow.parentRunId', value: parent.runId });
  const info = await store.createRun(
    { experimentId, runName: request.runName, startTime: request.startTime, userId: request.userId, tags },
    options,
  );
  return { info, warnings };
}

async function findParent(store: Store, runId: string, warnings: string[], options: CallOptions): Promise<RunInfo | undefined> {
  const parent = await store.getRun(runId, options);
  if (!parent) {
    warnings.push(`parent run ${runId} does not exist in ${store.displayUri}: the run is recorded without a parent`);
    return undefined;
  }
  if (parent.info.lifecycleStage === 'deleted') {
    warnings.push(`parent run ${runId} is deleted: the run is recorded without a parent`);
    return undefined;
  }
  return parent.info;
}

/** The experiment with this id; undefined when there is none, or the value is a name. */
export function experimentWithId(store: Store, idOrName: string, options: CallOptions = {}): Promise<Experiment | undefined> {
  return store.getExperiment(idOrName, options).catch((error: unknown) => {
    // An id that is not an id at all (a name) is a 400 or 404 on a server.
    if (isNotFound(error) || (error as { errorCode?: string }).errorCode === 'INVALID_PARAMETER_VALUE') return undefined;
    throw error;
  });
}

/** The experiment asked for by flag or environment, created where MLflow would create it. */
async function chooseExperiment(store: Store, request: OpenRunRequest, options: CallOptions): Promise<string | undefined> {
  if (request.experiment) {
    const byId = await experimentWithId(store, request.experiment, options);
    if (byId && byId.lifecycleStage === 'active') return byId.experimentId;
    return experimentNamed(store, request.experiment, options);
  }
  if (request.experimentId) return request.experimentId;
  if (request.experimentName) return experimentNamed(store, request.experimentName, options);
  return undefined;
}

async function experimentNamed(store: Store, name: string, options: CallOptions): Promise<string> {
  const existing = await store.getExperimentByName(name, options);
  if (existing?.lifecycleStage === 'active') return existing.experimentId;
  if (existing) throw new Error(`experiment '${name}' is deleted: restore it or choose another name`);
  try {
    return await store.createExperiment(name, options);
  } catch (error) {
    // Another stage running in parallel created it first.
    const raced = await store.getExperimentByName(name, options);
    if (raced?.lifecycleStage === 'active') return raced.experimentId;
    throw error;
  }
}

export interface RunEnd {
  status: RunStatus;
  endTime: number;
  tags: Tag[];
  /** Deleted once closed (MLflow's lifecycle stage): a run that turned out to hold nothing worth showing. */
  discard?: boolean;
}

export async function closeRun(store: Store, runId: string, end: RunEnd, options: CallOptions = {}): Promise<void> {
  // Together: one round trip to a server instead of two. Neither depends on the other (a finished
  // run still takes tags), and the run is closed even when a tag is refused.
  const outcomes = await Promise.allSettled([
    end.tags.length > 0 ? store.logBatch(runId, { tags: end.tags }, options) : undefined,
    store.updateRun(runId, { status: end.status, endTime: end.endTime }, options),
  ]);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  // After the update: MLflow takes no writes to a deleted run.
  if (end.discard) await store.deleteRun(runId, options);
}
