// The embedded store: writes MLflow's own SQLite schema directly, with the semantics of MLflow's
// SqlAlchemyStore (mlflow/store/tracking/sqlalchemy_store.py in the pinned release), so that the
// Python client, `mlflow ui` and this store can share one mlflow.db.
import fs from 'node:fs';
import path from 'node:path';
import { TrackingError } from '../errors.ts';
import { SYNC_TAG_PREFIX } from '../offline-tags.ts';
import {
  FOUND_RUNS,
  type ArtifactFile, type Batch, type RunQuery, type CallOptions, type CreateRunRequest, type DatasetInput, type Experiment, type MetricPage, type Run, type RunInfo, type RunUpdate, type Store, type Tag,
} from '../store.ts';
import { listLocalArtifacts } from './artifacts.ts';
import { Connection } from './connection.ts';
import { prepareDatabase } from './create.ts';
import { insertExperiment, selectExperiment } from './experiments.ts';
import { insertDatasetInputs } from './inputs.ts';
import { defaultArtifactRoot, sqliteUri } from './location.ts';
import { insertMetrics, readMetricPoints } from './metrics.ts';
import { checkRunExists, checkRunIsActive, insertParams, insertRun, RUN_NAME_TAG, upsertTags } from './run-rows.ts';
import { readRuns, runsWithParent } from './runs.ts';
import {
  checkParamKeysUnique,
  invalid,
  parseExperimentId,
  validateDatasetInput,
  validateExperimentName,
  validateMetric,
  validateParam,
  validateRunId,
  validateTag,
} from './validation.ts';

export interface SqliteStoreOptions {
  /**
   * Where new experiments keep artifacts: a URI (`s3://...`, `mlflow-artifacts:/`) or a path,
   * relative to the database's folder. Default: `mlruns` beside the database (see location.ts).
   */
  artifactRoot?: string;
  /** Called once the database was created by this store (not when it existed); must not throw. */
  onCreated?: () => Promise<void>;
}

// Points written per transaction: short enough that other writers wait little for the lock.
const METRICS_PER_TRANSACTION = 5000;

/** Opens (on first use: creates) the MLflow database at `dbPath`. Nothing is read until a call. */
export function openSqliteStore(dbPath: string, options: SqliteStoreOptions = {}): Store {
  return new SqliteStore(path.resolve(dbPath), options);
}

class SqliteStore implements Store {
  readonly displayUri: string;
  readonly trackingUri: string;
  readonly metricsPerBatch = METRICS_PER_TRANSACTION;
  readonly #dbPath: string;
  readonly #artifactRoot: string;
  readonly #onCreated: (() => Promise<void>) | undefined;
  #ready: Promise<Connection> | undefined;

  constructor(dbPath: string, options: SqliteStoreOptions) {
    this.#dbPath = dbPath;
    this.#artifactRoot = resolveArtifactRoot(dbPath, options.artifactRoot);
    this.#onCreated = options.onCreated;
    this.trackingUri = sqliteUri(dbPath);
    this.displayUri = this.trackingUri;
  }

  async getExperiment(experimentId: string, options: CallOptions = {}): Promise<Experiment | undefined> {
    const id = parseExperimentId(experimentId);
    const db = await this.#connection();
    return db.read(() => selectExperiment(db, { id }), options.signal);
  }

  async getExperimentByName(name: string, options: CallOptions = {}): Promise<Experiment | undefined> {
    const db = await this.#connection();
    return db.read(() => selectExperiment(db, { name }), options.signal);
  }

  async createExperiment(name: string, options: CallOptions = {}): Promise<string> {
    validateExperimentName(name);
    const db = await this.#connection();
    return db.write(() => insertExperiment(db, name, this.#artifactRoot), options.signal);
  }

  async createRun(request: CreateRunRequest, options: CallOptions = {}): Promise<RunInfo> {
    const experimentId = parseExperimentId(request.experimentId);
    const tagName = request.tags.find((tag) => tag.key === RUN_NAME_TAG)?.value;
    if (request.runName && tagName && request.runName !== tagName) {
      throw invalid(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${request.runName}', mlflow.runName='${tagName}').`,
      );
    }
    // MLflow would make up a name here; mlrun always has one (stage name or command).
    const runName = request.runName || tagName;
    if (!runName) throw invalid('A run name is required.');
    const tags: Tag[] = tagName === undefined ? [...request.tags, { key: RUN_NAME_TAG, value: runName }] : request.tags;

    const db = await this.#connection();
    return db.write(() => insertRun(db, experimentId, runName, request, tags), options.signal);
  }

  async getRun(runId: string, options: CallOptions = {}): Promise<Run | undefined> {
    const db = await this.#connection();
    return db.read(() => readRuns(db, 'run_uuid = ?', [runId])[0], options.signal);
  }

  async findRuns(experimentIds: string[] | 'all', query: RunQuery, options: CallOptions = {}): Promise<Run[]> {
    const ids = experimentIds === 'all' ? [] : numericIds(experimentIds);
    if (experimentIds !== 'all' && ids.length === 0) return [];
    const db = await this.#connection();
    const { where, args } = runsWithParent(ids, query);
    return db.read(() => readRuns(db, where, args).reverse(), options.signal);
  }

  async searchRuns(experimentIds: string[] | 'all', options: CallOptions = {}): Promise<Run[]> {
    const ids = experimentIds === 'all' ? [] : numericIds(experimentIds);
    if (experimentIds !== 'all' && ids.length === 0) return [];
    const db = await this.#connection();
    const where = experimentIds === 'all' ? '1' : `experiment_id IN (${ids.map(() => '?').join(', ')})`;
    return db.read(() => readRuns(db, where, ids), options.signal);
  }

  async listArtifacts(runId: string, options: CallOptions = {}): Promise<ArtifactFile[]> {
    const run = await this.getRun(runId, options);
    if (!run) throw new TrackingError(`Run with id=${runId} not found`, 'RESOURCE_DOES_NOT_EXIST');
    return listLocalArtifacts(run.info.artifactUri);
  }

  async metricPoints(runId: string, after: string | undefined, max: number, options: CallOptions = {}): Promise<MetricPage> {
    // The position is the rowid of the last point read: the table is append-only.
    const afterRowid = after === undefined ? 0 : Number(after);
    if (!Number.isSafeInteger(afterRowid) || afterRowid < 0) throw invalid(`Invalid page token ${JSON.stringify(after)}.`);
    const db = await this.#connection();
    const page = await db.read(() => {
      checkRunExists(db, runId);
      return readMetricPoints(db, runId, afterRowid, max);
    }, options.signal);
    return page.lastRowid === undefined ? { metrics: page.metrics } : { metrics: page.metrics, next: String(page.lastRowid) };
  }

  async countMetricPoints(runId: string, options: CallOptions = {}): Promise<number> {
    const db = await this.#connection();
    return db.read(() => {
      checkRunExists(db, runId);
      return Number(db.statement('SELECT count(*) AS n FROM metrics WHERE run_uuid = ?').get(runId)!.n);
    }, options.signal);
  }

  async findRunsByTag(experimentIds: string[], tag: Tag, options: CallOptions = {}): Promise<string[]> {
    const ids = numericIds(experimentIds);
    if (ids.length === 0) return [];
    const db = await this.#connection();
    return db.read(() => {
      const rows = db
        .statement(
          `SELECT runs.run_uuid AS id FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid
           WHERE runs.experiment_id IN (${ids.map(() => '?').join(', ')}) AND runs.lifecycle_stage = 'active'
             AND tags."key" = ? AND tags.value = ?
           ORDER BY runs.start_time ASC LIMIT ${FOUND_RUNS}`,
        )
        .all(...ids, tag.key, tag.value);
      return rows.map((row) => String(row.id));
    }, options.signal);
  }

  async logBatch(runId: string, batch: Batch, options: CallOptions = {}): Promise<void> {
    // Everything is checked before anything is written, as MLflow's log_batch does.
    validateRunId(runId);
    const metrics = batch.metrics ?? [];
    const validKeys = new Set<string>();
    metrics.forEach((metric, index) => validateMetric(metric, index, validKeys));
    const params = (batch.params ?? []).map(validateParam);
    const tags = (batch.tags ?? []).map(validateTag);
    checkParamKeysUnique(params);
    const marksSync = tags.some((tag) => tag.key.startsWith(SYNC_TAG_PREFIX));

    const db = await this.#connection();
    // MLflow's log_batch is not atomic either: params, then metrics, then tags, each committed.
    let first = true;
    for (let start = 0; first || start < metrics.length; start += METRICS_PER_TRANSACTION) {
      const chunk = metrics.slice(start, start + METRICS_PER_TRANSACTION);
      const withParamsAndTags = first;
      const work = () => {
        checkRunIsActive(db, runId);
        if (withParamsAndTags) insertParams(db, runId, params);
        if (chunk.length) insertMetrics(db, runId, chunk);
        if (withParamsAndTags) upsertTags(db, runId, tags);
      };
      // Tags are where `mlrun sync` marks its progress (tracking/offline-tags.ts): a mark lost to a
      // power cut would repeat a step, so a transaction with such a mark is made durable. Other
      // tags (a stage's end) are as durable as the run's status, and spare every run an fsync.
      await (withParamsAndTags && marksSync ? db.writeDurably(work, options.signal) : db.write(work, options.signal));
      first = false;
    }
  }

  async updateRun(runId: string, update: RunUpdate, options: CallOptions = {}): Promise<void> {
    const db = await this.#connection();
    await db.write(() => {
      checkRunIsActive(db, runId);
      db.statement('UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?').run(update.status, update.endTime, runId);
    }, options.signal);
  }

  /**
   * As SqlAlchemyStore.delete_run (`_mark_run_deleted`): the lifecycle stage and the deletion time,
   * set again for a run already deleted. (It also drops the run's assessments, which mlrun never writes.)
   */
  async deleteRun(runId: string, options: CallOptions = {}): Promise<void> {
    const db = await this.#connection();
    await db.write(() => {
      const row = db.statement('SELECT lifecycle_stage FROM runs WHERE run_uuid = ?').get(runId);
      if (!row) throw new TrackingError(`Run with id=${runId} not found`, 'RESOURCE_DOES_NOT_EXIST');
      db.statement("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?").run(Date.now(), runId);
    }, options.signal);
  }

  async deleteTag(runId: string, key: string, options: CallOptions = {}): Promise<void> {
    const db = await this.#connection();
    await db.writeDurably(() => {
      checkRunIsActive(db, runId);
      const deleted = db.statement('DELETE FROM tags WHERE run_uuid = ? AND "key" = ?').run(runId, key);
      if (Number(deleted.changes) === 0) {
        throw new TrackingError(`No tag with name: ${key} in run with id ${runId}`, 'RESOURCE_DOES_NOT_EXIST');
      }
    }, options.signal);
  }

  async logInputs(runId: string, datasets: DatasetInput[], options: CallOptions = {}): Promise<void> {
    validateRunId(runId);
    datasets.forEach(validateDatasetInput);
    const db = await this.#connection();
    await db.write(() => insertDatasetInputs(db, checkRunIsActive(db, runId), runId, datasets), options.signal);
  }

  /** A local file is always there to answer. */
  async ping(): Promise<void> {}

  async close(): Promise<void> {
    const ready = this.#ready;
    this.#ready = undefined;
    const connection = await ready?.catch(() => undefined);
    connection?.close();
  }

  /** The connection, opened and the database prepared on the first call. */
  #connection(): Promise<Connection> {
    this.#ready ??= this.#open().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #open(): Promise<Connection> {
    let connection: Connection | undefined;
    try {
      // MLflow creates the database's folder as well.
      fs.mkdirSync(path.dirname(this.#dbPath), { recursive: true });
      connection = new Connection(this.#dbPath);
      if (await prepareDatabase(connection, this.#artifactRoot)) await this.#onCreated?.();
      return connection;
    } catch (error) {
      connection?.close();
      if (error instanceof TrackingError) throw error;
      throw new TrackingError(`cannot open ${this.#dbPath}: ${(error as Error).message}`, 'INTERNAL_ERROR', { cause: error });
    }
  }
}

/** The ids that can name an experiment here, each once; MLflow's ids are integers. */
function numericIds(experimentIds: string[]): number[] {
  return [...new Set(experimentIds)].filter((id) => /^\d+$/.test(id)).map(Number);
}

function resolveArtifactRoot(dbPath: string, root: string | undefined): string {
  if (root === undefined) return defaultArtifactRoot(dbPath);
  return /^[a-z][a-z0-9+.-]*:/i.test(root) ? root : path.resolve(path.dirname(dbPath), root);
}
