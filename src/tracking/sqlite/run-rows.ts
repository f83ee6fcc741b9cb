// One run's rows in MLflow's schema, as SqlAlchemyStore writes them (`create_run`, `log_batch`'s
// params and tags, the checks every write makes first). Call inside a transaction of the connection.
import { TrackingError } from '../errors.ts';
import type { CreateRunRequest, Param, RunInfo, Tag } from '../store.ts';
import type { Connection } from './connection.ts';
import { selectExperiment } from './experiments.ts';
import { appendToUriPath } from './location.ts';
import { changedParamsError, invalid } from './validation.ts';
import { uuid4Hex } from './uuid.ts';

export const RUN_NAME_TAG = 'mlflow.runName';

/** A new RUNNING run in an active experiment, with its tags (`mlflow.runName` among them). */
export function insertRun(db: Connection, experimentId: number, runName: string, request: CreateRunRequest, tags: Tag[]): RunInfo {
  const experiment = selectExperiment(db, { id: experimentId });
  if (!experiment) throw new TrackingError(`No Experiment with id=${experimentId} exists`, 'RESOURCE_DOES_NOT_EXIST');
  if (experiment.lifecycleStage !== 'active') {
    throw invalid(`The experiment ${experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`);
  }
  const runId = uuid4Hex();
  const artifactUri = appendToUriPath(experiment.artifactLocation, runId, 'artifacts');
  // The columns MLflow's create_run fills, with its values (source_* are left for tags).
  db.statement(
    `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
      source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time)
     VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?, ?, NULL)`,
  ).run(runId, runName, request.userId, request.startTime, artifactUri, experimentId);
  upsertTags(db, runId, tags);
  return {
    runId,
    experimentId: String(experimentId),
    runName,
    status: 'RUNNING',
    startTime: request.startTime,
    artifactUri,
    lifecycleStage: 'active',
    userId: request.userId,
  };
}

/** The run's experiment id, once the run is known to exist and be active. */
export function checkRunIsActive(db: Connection, runId: string): number {
  const row = checkRunExists(db, runId);
  if (row.lifecycle_stage !== 'active') {
    throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${String(row.lifecycle_stage)}.`);
  }
  return Number(row.experiment_id);
}

export function checkRunExists(db: Connection, runId: string): Record<string, unknown> {
  const row = db.statement('SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = ?').get(runId);
  if (!row) throw new TrackingError(`Run with id=${runId} not found`, 'RESOURCE_DOES_NOT_EXIST');
  return row;
}

/** Params are write-once: the same value again is a no-op, another value an error. */
export function insertParams(db: Connection, runId: string, params: Param[]): void {
  const existing = db.statement('SELECT value FROM params WHERE run_uuid = ? AND "key" = ?');
  const insert = db.statement('INSERT INTO params ("key", value, run_uuid) VALUES (?, ?, ?)');
  const fresh: Param[] = [];
  const changed: { key: string; old_value: string; new_value: string }[] = [];
  for (const param of params) {
    const row = existing.get(runId, param.key);
    if (!row) fresh.push(param);
    else if (row.value !== param.value) changed.push({ key: param.key, old_value: String(row.value), new_value: param.value });
  }
  if (changed.length) throw changedParamsError(runId, changed);
  for (const param of fresh) insert.run(param.key, param.value, runId);
}

/** Tags are upserts, the last value of a key wins; `mlflow.runName` also renames the run. */
export function upsertTags(db: Connection, runId: string, tags: Tag[]): void {
  const upsert = db.statement(
    'INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?) ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value',
  );
  for (const tag of tags) {
    upsert.run(tag.key, tag.value, runId);
    if (tag.key === RUN_NAME_TAG) db.statement('UPDATE runs SET name = ? WHERE run_uuid = ?').run(tag.value, runId);
  }
}
