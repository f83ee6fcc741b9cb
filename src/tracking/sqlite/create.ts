// Makes a database ready to write: a new one gets MLflow's schema, its alembic revision and the
// Default experiment, exactly as the pinned MLflow creates them; an existing one is used as is.
import { TrackingError } from '../errors.ts';
import type { Connection } from './connection.ts';
import { appendToUriPath } from './location.ts';
import { alembicVersion, schemaStatements, seedStatements } from './schema.generated.ts';

/** True when this call created the schema (of several processes at once, exactly one). */
export async function prepareDatabase(connection: Connection, artifactRoot: string): Promise<boolean> {
  let created = false;
  if (!(await connection.read(() => hasTable(connection, 'experiments')))) {
    // A database nobody has written yet. Several processes may get here at once: the first one to
    // take the write lock creates everything in one transaction (SQLite's DDL is transactional),
    // the others then find the schema complete.
    await connection.retrying(() => useWal(connection));
    created = await connection.write(() => {
      if (hasTable(connection, 'experiments')) return false;
      if (connection.statement('SELECT count(*) AS n FROM sqlite_master').get()!.n !== 0) {
        throw new TrackingError(`${connection.label} exists but is not an MLflow database`, 'INVALID_STATE');
      }
      for (const sql of [...schemaStatements, ...seedStatements]) connection.db.exec(sql);
      connection.statement('INSERT INTO alembic_version (version_num) VALUES (?)').run(alembicVersion);
      return true;
    });
  }
  // MLflow's store adds the Default experiment whenever it is missing, on every start.
  const lookup = 'SELECT 1 FROM experiments WHERE experiment_id = 0';
  if (!(await connection.read(() => connection.statement(lookup).get()))) {
    await connection.write(() => {
      if (connection.statement(lookup).get()) return;
      const now = Date.now();
      connection
        .statement(
          'INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, ?, ?, ?, ?, ?)',
        )
        .run('Default', appendToUriPath(artifactRoot, '0'), 'active', now, now);
    });
  }
  // In WAL mode NORMAL still never corrupts the file and keeps every commit through a crash of
  // the process; only a power cut may undo the last ones. Under a rollback journal it is FULL.
  const mode = await connection.retrying(() => connection.statement('PRAGMA journal_mode').get()!.journal_mode);
  if (mode === 'wal') connection.db.exec('PRAGMA synchronous = NORMAL');
  return created;
}

function hasTable(connection: Connection, name: string): boolean {
  return connection.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

// Write-ahead logging, for the databases mlrun creates. In WAL mode readers and the writer do not
// block each other; under the default rollback journal a commit waits for every reader to finish
// and blocks new ones. Measured (2-CPU machine, 7 runs per mode): while 8 mlrun processes logged
// 160,000 points, the MLflow Python client (search_runs + get_run + set_tag in a loop) completed a
// median 50 rounds in 3 s with WAL against 15 with the rollback journal, and its slowest set_tag
// took a median 0.4 s against 1.8 s; no errors and no lost rows in either mode. MLflow reads and
// writes WAL databases unchanged (the tests run the Python client and `mlflow server` on one while
// mlrun writes it; MLflow's own `mlflow migrate-filestore` leaves its database in WAL mode). The
// mode is stored in the file: existing databases keep theirs, since switching needs every other
// user to be idle. Like SQLite's locking in any mode, WAL needs a local file system.
function useWal(connection: Connection): void {
  connection.db.exec('PRAGMA journal_mode = WAL');
}
