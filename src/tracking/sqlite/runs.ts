// Runs read back as MLflow's SqlAlchemyStore returns them (`get_run`, `search_runs`): the run's
// row with its tags, params, latest metrics and dataset inputs. The one place the embedded store reads runs.
import type { SQLInputValue } from 'node:sqlite';
import type { LifecycleStage, Run, RunInfo, RunQuery, RunStatus } from '../store.ts';
import type { Connection } from './connection.ts';
import { readDatasetInputs } from './inputs.ts';

interface RunRow {
  run_uuid: string;
  name: string | null;
  experiment_id: number;
  user_id: string | null;
  status: RunStatus;
  start_time: number | null;
  end_time: number | null;
  artifact_uri: string | null;
  lifecycle_stage: LifecycleStage;
}

/**
 * The runs `where` selects (a condition on the `runs` table, with `args`), oldest first; runs that
 * started together in the order they were recorded. Call inside a read transaction.
 */
export function readRuns(db: Connection, where: string, args: SQLInputValue[]): Run[] {
  const rows = db
    .statement(
      `SELECT run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage
       FROM runs WHERE ${where} ORDER BY start_time, rowid`,
    )
    .all(...args) as unknown as RunRow[];
  if (rows.length === 0) return [];
  const selected = `SELECT run_uuid FROM runs WHERE ${where}`;
  const tags = byRun(db.statement(`SELECT run_uuid, "key", value FROM tags WHERE run_uuid IN (${selected})`).all(...args), text);
  const params = byRun(db.statement(`SELECT run_uuid, "key", value FROM params WHERE run_uuid IN (${selected}) ORDER BY rowid`).all(...args), text);
  const metrics = byRun(db.statement(`SELECT run_uuid, "key", value, is_nan FROM latest_metrics WHERE run_uuid IN (${selected})`).all(...args), metricValue);
  const inputs = readDatasetInputs(db, selected, args);
  return rows.map((row) => ({
    info: toRunInfo(row),
    tags: tags.get(row.run_uuid) ?? {},
    params: params.get(row.run_uuid) ?? {},
    metrics: metrics.get(row.run_uuid) ?? {},
    inputs: inputs.get(row.run_uuid) ?? [],
  }));
}

/** Each run's entries, key → value as `value` reads it from the row. */
/**
 * The condition for readRuns that findRuns asks for: the active runs of these experiments (none:
 * of all) that are children of `query.parent` or, for null, have no parent; the newest `max`.
 */
export function runsWithParent(experimentIds: number[], query: RunQuery): { where: string; args: SQLInputValue[] } {
  const conditions = ["lifecycle_stage = 'active'"];
  const args: SQLInputValue[] = [];
  if (experimentIds.length > 0) {
    conditions.push(`experiment_id IN (${experimentIds.map(() => '?').join(', ')})`);
    args.push(...experimentIds);
  }
  const parentTag = `SELECT 1 FROM tags WHERE tags.run_uuid = runs.run_uuid AND tags."key" = 'mlflow.parentRunId'`;
  if (query.parent === null) {
    conditions.push(`NOT EXISTS (${parentTag})`);
  } else {
    conditions.push(`EXISTS (${parentTag} AND tags.value = ?)`);
    args.push(query.parent);
  }
  const selected = conditions.join(' AND ');
  if (query.max === undefined) return { where: selected, args };
  return { where: `run_uuid IN (SELECT run_uuid FROM runs WHERE ${selected} ORDER BY start_time DESC, rowid DESC LIMIT ?)`, args: [...args, query.max] };
}

function byRun<T>(rows: Record<string, unknown>[], value: (row: Record<string, unknown>) => T): Map<string, Record<string, T>> {
  const found = new Map<string, Record<string, T>>();
  for (const row of rows) {
    const runId = String(row.run_uuid);
    let entries = found.get(runId);
    if (!entries) found.set(runId, (entries = {}));
    entries[String(row.key)] = value(row);
  }
  return found;
}

const text = (row: Record<string, unknown>) => String(row.value ?? '');
/** Read back as MLflow reads them: NaN from is_nan, ±Inf stays the largest finite double. */
const metricValue = (row: Record<string, unknown>) => (Number(row.is_nan) === 1 ? NaN : Number(row.value));

function toRunInfo(row: RunRow): RunInfo {
  return {
    runId: row.run_uuid,
    experimentId: String(row.experiment_id),
    runName: row.name ?? '',
    status: row.status,
    startTime: row.start_time ?? 0,
    ...(row.end_time === null ? {} : { endTime: row.end_time }),
    artifactUri: row.artifact_uri ?? '',
    lifecycleStage: row.lifecycle_stage,
    userId: row.user_id ?? '',
  };
}
