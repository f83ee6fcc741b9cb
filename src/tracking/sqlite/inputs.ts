// A run's dataset inputs, written (and read back) as MLflow's SqlAlchemyStore._log_inputs_impl writes them: a
// `datasets` row per experiment, name and digest; an `inputs` row linking it to the run; the
// link's tags in `input_tags`. A dataset the experiment already has is reused as it is (its source
// is not updated), and so is a link the run already has (its tags are not rewritten).
import type { SQLInputValue } from 'node:sqlite';
import type { DatasetInput } from '../store.ts';
import type { Connection } from './connection.ts';
import { uuid4Hex } from './uuid.ts';

const DATASET_CONTEXT_TAG = 'mlflow.data.context';

export function insertDatasetInputs(db: Connection, experimentId: number, runId: string, inputs: DatasetInput[]): void {
  const findDataset = db.statement('SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?');
  const insertDataset = db.statement(
    'INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)',
  );
  const findLink = db.statement(
    "SELECT 1 FROM inputs WHERE source_type = 'DATASET' AND source_id = ? AND destination_type = 'RUN' AND destination_id = ?",
  );
  // `step` keeps its column default, 0, as MLflow leaves it.
  const insertLink = db.statement(
    "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES (?, 'DATASET', ?, 'RUN', ?)",
  );
  const insertTag = db.statement('INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)');

  // One at a time, each seeing the rows of those before it: of several inputs with the same name and
  // digest the first wins, which is MLflow's dedupe within a call.
  for (const input of inputs) {
    let datasetUuid = findDataset.get(experimentId, input.name, input.digest)?.dataset_uuid as string | undefined;
    if (datasetUuid === undefined) {
      datasetUuid = uuid4Hex();
      insertDataset.run(datasetUuid, experimentId, input.name, input.digest, input.sourceType, input.source);
    }
    if (findLink.get(datasetUuid, runId)) continue;
    const inputUuid = uuid4Hex();
    insertLink.run(inputUuid, datasetUuid, runId);
    // As the Python client: an empty context is no tag.
    if (input.context) insertTag.run(inputUuid, DATASET_CONTEXT_TAG, input.context);
  }
}

/** The dataset inputs of each run that `runIds` (a subquery) selects, in the order they were linked. */
export function readDatasetInputs(db: Connection, runIds: string, args: SQLInputValue[]): Map<string, DatasetInput[]> {
  const rows = db
    .statement(
      `SELECT i.destination_id AS run_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source,
         (SELECT t.value FROM input_tags t WHERE t.input_uuid = i.input_uuid AND t.name = '${DATASET_CONTEXT_TAG}') AS context
       FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
       WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id IN (${runIds})
       ORDER BY i.rowid`,
    )
    .all(...args);
  const byRun = new Map<string, DatasetInput[]>();
  for (const row of rows) {
    const runId = String(row.run_uuid);
    let inputs = byRun.get(runId);
    if (!inputs) byRun.set(runId, (inputs = []));
    inputs.push({
      name: String(row.name),
      digest: String(row.digest),
      sourceType: String(row.dataset_source_type),
      source: String(row.dataset_source),
      ...(row.context ? { context: String(row.context) } : {}),
    });
  }
  return byRun;
}
