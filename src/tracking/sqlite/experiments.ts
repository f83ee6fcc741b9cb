// Experiments in MLflow's schema, as SqlAlchemyStore reads and creates them (`get_experiment`,
// `get_experiment_by_name`, `create_experiment`). Call inside a transaction of the connection.
import { TrackingError } from '../errors.ts';
import type { Experiment, LifecycleStage } from '../store.ts';
import { isConstraintViolation, type Connection } from './connection.ts';
import { appendToUriPath } from './location.ts';

const EXPERIMENT_COLUMNS = 'experiment_id, name, artifact_location, lifecycle_stage';

interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: LifecycleStage;
}

export function selectExperiment(db: Connection, by: { id: number } | { name: string }): Experiment | undefined {
  const row = 'id' in by
    ? db.statement(`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = ?`).get(by.id)
    : db.statement(`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?`).get(by.name);
  return row && toExperiment(row as unknown as ExperimentRow);
}

/** The new experiment's id; its artifacts go under `artifactRoot`/<id>. */
export function insertExperiment(db: Connection, name: string, artifactRoot: string): string {
  const now = Date.now();
  let id: number;
  try {
    id = Number(
      db
        .statement('INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?)')
        .run(name, 'active', now, now).lastInsertRowid,
    );
  } catch (error) {
    if (!isConstraintViolation(error)) throw error;
    // The name is unique among deleted experiments too, as in MLflow.
    throw new TrackingError(`Experiment(name=${name}) already exists. Error: ${(error as Error).message}`, 'RESOURCE_ALREADY_EXISTS', {
      cause: error,
    });
  }
  // As MLflow: the id is known only once inserted, and the default location derives from it.
  db.statement('UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?').run(appendToUriPath(artifactRoot, String(id)), id);
  return String(id);
}

function toExperiment(row: ExperimentRow): Experiment {
  return {
    experimentId: String(row.experiment_id),
    name: row.name,
    artifactLocation: row.artifact_location ?? '',
    lifecycleStage: row.lifecycle_stage,
  };
}
