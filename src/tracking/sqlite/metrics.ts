// Metric points as MLflow's SqlAlchemyStore writes them (`_log_metrics`,
// `_update_latest_metrics_if_necessary`, `sanitize_metric_value`).
import type { Metric } from '../store.ts';
import type { Connection } from './connection.ts';

/** A point as stored: NaN is `is_nan = 1` with value 0, ±Inf the largest finite double. */
interface StoredPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  isNan: 0 | 1;
}

function sanitize(metric: Metric): StoredPoint {
  const { key, value, timestamp, step } = metric;
  if (Number.isNaN(value)) return { key, value: 0, timestamp, step, isNan: 1 };
  const finite = value === Infinity ? Number.MAX_VALUE : value === -Infinity ? -Number.MAX_VALUE : value;
  return { key, value: finite, timestamp, step, isNan: 0 };
}

/** MLflow's order of "latest": strictly greater (step, timestamp, value); a tie keeps the older. */
function isNewer(a: StoredPoint, b: StoredPoint): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value;
}

// Rows per INSERT statement: one statement for many rows costs a third less per point than one a row.
const ROWS_PER_INSERT = 100;

/** Writes the points and updates `latest_metrics`; call inside a write transaction. */
export function insertMetrics(connection: Connection, runId: string, metrics: Metric[]): void {
  const newest = new Map<string, StoredPoint>();
  const values: (string | number)[] = [];
  for (let start = 0; start < metrics.length; start += ROWS_PER_INSERT) {
    const rows = metrics.slice(start, start + ROWS_PER_INSERT);
    values.length = 0;
    for (const metric of rows) {
      const point = sanitize(metric);
      values.push(point.key, point.value, point.timestamp, point.step, point.isNan, runId);
      const current = newest.get(point.key);
      if (!current || isNewer(point, current)) newest.set(point.key, point);
    }
    insertStatement(connection, rows.length).run(...values);
  }
  if (newest.size) updateLatest(connection, runId, newest.values());
}

/** The primary key covers every column, so an exact duplicate point is dropped, as MLflow does. */
function insertStatement(connection: Connection, rows: number) {
  const row = '(?, ?, ?, ?, ?, ?)';
  return connection.statement(
    `INSERT OR IGNORE INTO metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES ${Array(rows).fill(row).join(', ')}`,
  );
}

function updateLatest(connection: Connection, runId: string, points: Iterable<StoredPoint>): void {
  const select = connection.statement(
    'SELECT value, timestamp, step FROM latest_metrics WHERE run_uuid = ? AND "key" = ?',
  );
  const upsert = connection.statement(
    'INSERT OR REPLACE INTO latest_metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const point of points) {
    const row = select.get(runId, point.key) as { value: number; timestamp: number | null; step: number } | undefined;
    // The column is nullable, but MLflow always fills it.
    const stored = row && { key: point.key, value: row.value, timestamp: row.timestamp ?? 0, step: row.step, isNan: 0 as const };
    if (!stored || isNewer(point, stored)) {
      upsert.run(point.key, point.value, point.timestamp, point.step, point.isNan, runId);
    }
  }
}

/**
 * Up to `max` of the run's points after rowid `afterRowid`, with the rowid of the last: in the
 * order they were written (the rowid order, which the index on run_uuid keeps for each run).
 */
export function readMetricPoints(connection: Connection, runId: string, afterRowid: number, max: number): { metrics: Metric[]; lastRowid?: number } {
  const rows = connection
    .statement('SELECT rowid, "key", value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND rowid > ? ORDER BY rowid LIMIT ?')
    .all(runId, afterRowid, max);
  const metrics = rows.map((row) => ({
    key: String(row.key),
    // Read back as MLflow reads them: NaN from is_nan, ±Inf stays the largest finite double.
    value: Number(row.is_nan) === 1 ? NaN : Number(row.value),
    timestamp: Number(row.timestamp),
    step: Number(row.step),
  }));
  return rows.length ? { metrics, lastRowid: Number(rows.at(-1)!.rowid) } : { metrics };
}
