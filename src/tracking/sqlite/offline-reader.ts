// Reads the offline record (`.mlrun/offline/mlflow.db`, MLflow's own schema) for `mlrun sync`, and
// writes sync progress into it. Progress goes into MLflow's own `tags` table, as `mlrun.sync.*` tags
// on the offline run, never into tables of our own: the file stays a plain MLflow database that
// `mlflow ui` and the Python client read, and the progress is committed in the same file as the
// data it describes.
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetInput, Metric, Param, RunInfo, Tag } from '../store.ts';
import { Connection } from './connection.ts';
import { toRunInfo, type RunRow } from './store.ts';

/** A run of the record: what the store knows of any run, plus what sync needs to copy it. */
export interface OfflineRun extends RunInfo {
  userId: string;
  tags: Record<string, string>;
}

/** A metric point with its position in the record, the watermark of what was delivered. */
export interface RecordedPoint {
  rowid: number;
  metric: Metric;
}

type OfflineRunRow = RunRow & { user_id: string | null };

export class OfflineRecord {
  readonly dbPath: string;
  readonly #db: Connection;

  private constructor(dbPath: string) {
    this.dbPath = dbPath;
    this.#db = new Connection(dbPath);
  }

  /** undefined when there is no record: nothing was ever recorded offline. Never creates the file. */
  static open(dbPath: string): OfflineRecord | undefined {
    if (!fs.existsSync(dbPath)) return undefined;
    return new OfflineRecord(path.resolve(dbPath));
  }

  /** Every run with its tags, in the order they were recorded. */
  async runs(): Promise<OfflineRun[]> {
    const db = this.#db;
    return db.read(() => {
      const rows = db
        .statement(
          `SELECT run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage
           FROM runs ORDER BY start_time, rowid`,
        )
        .all() as unknown as OfflineRunRow[];
      const tags = new Map<string, Record<string, string>>();
      for (const row of db.statement('SELECT run_uuid, "key", value FROM tags').all()) {
        const runId = String(row.run_uuid);
        let map = tags.get(runId);
        if (!map) tags.set(runId, (map = {}));
        map[String(row.key)] = String(row.value ?? '');
      }
      return rows.map((row) => ({ ...toRunInfo(row), userId: row.user_id ?? '', tags: tags.get(row.run_uuid) ?? {} }));
    });
  }

  async params(runId: string): Promise<Param[]> {
    const db = this.#db;
    return db.read(() =>
      db
        .statement('SELECT "key", value FROM params WHERE run_uuid = ? ORDER BY rowid')
        .all(runId)
        .map((row) => ({ key: String(row.key), value: String(row.value) })),
    );
  }

  async metricCount(runId: string): Promise<number> {
    const db = this.#db;
    return db.read(() => Number(db.statement('SELECT count(*) AS n FROM metrics WHERE run_uuid = ?').get(runId)!.n));
  }

  /**
   * Up to `limit` points after `afterRowid`, in the order they were written (rowid order: the
   * table has a rowid, and the index on run_uuid keeps each run's rows in rowid order).
   */
  async metricsAfter(runId: string, afterRowid: number, limit: number): Promise<RecordedPoint[]> {
    const db = this.#db;
    return db.read(() =>
      db
        .statement(
          'SELECT rowid, "key", value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND rowid > ? ORDER BY rowid LIMIT ?',
        )
        .all(runId, afterRowid, limit)
        .map((row) => ({
          rowid: Number(row.rowid),
          metric: {
            key: String(row.key),
            // Stored as MLflow stores them: NaN as is_nan with 0, ±Inf already as ±max double.
            value: Number(row.is_nan) === 1 ? NaN : Number(row.value),
            timestamp: Number(row.timestamp),
            step: Number(row.step),
          },
        })),
    );
  }

  /** The run's dataset inputs (`mlflow.log_input` and mlrun's DVC deps), in the order linked. */
  async datasetInputs(runId: string): Promise<DatasetInput[]> {
    const db = this.#db;
    return db.read(() =>
      db
        .statement(
          `SELECT d.name, d.digest, d.dataset_source_type, d.dataset_source,
             (SELECT t.value FROM input_tags t WHERE t.input_uuid = i.input_uuid AND t.name = 'mlflow.data.context') AS context
           FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
           WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = ?
           ORDER BY i.rowid`,
        )
        .all(runId)
        .map((row) => ({
          name: String(row.name),
          digest: String(row.digest),
          sourceType: String(row.dataset_source_type),
          source: String(row.dataset_source),
          ...(row.context ? { context: String(row.context) } : {}),
        })),
    );
  }

  /**
   * Sets tags on an offline run, committed before this returns: the sync's progress marks. This
   * connection keeps SQLite's default synchronous=FULL, so a mark survives even a power cut once
   * written (the store's NORMAL may lose the last commits, which for a mark would mean a repeat).
   */
  async setTags(runId: string, tags: Tag[]): Promise<void> {
    const db = this.#db;
    await db.write(() => {
      const upsert = db.statement(
        'INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?) ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value',
      );
      for (const tag of tags) upsert.run(tag.key, tag.value, runId);
    });
  }

  async deleteTags(runId: string, keys: string[]): Promise<void> {
    const db = this.#db;
    await db.write(() => {
      const remove = db.statement('DELETE FROM tags WHERE run_uuid = ? AND "key" = ?');
      for (const key of keys) remove.run(runId, key);
    });
  }

  close(): void {
    this.#db.close();
  }
}
