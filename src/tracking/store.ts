// The one interface every tracking backend implements. Code above `tracking/` talks to a `Store`
// and never asks which backend it has (MLflow's own `AbstractStore` idea): `rest/` speaks MLflow's
// REST API, `sqlite/` writes MLflow's own SQLite schema.

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type LifecycleStage = 'active' | 'deleted';

export interface Tag {
  key: string;
  value: string;
}

export interface Param {
  key: string;
  value: string;
}

/** One metric point. `value` may be NaN or ±Infinity; each backend encodes those as MLflow does. */
export interface Metric {
  key: string;
  value: number;
  /** milliseconds since the epoch */
  timestamp: number;
  step: number;
}

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
  /** Who started the run: MLflow's `user_id`. */
  userId: string;
}

export interface Run {
  info: RunInfo;
  tags: Record<string, string>;
  params: Record<string, string>;
  /** The latest value of each metric (MLflow's `run.data.metrics`): the largest step, then the newest. */
  metrics: Record<string, number>;
  /** The datasets the run consumed, each once, as logInputs linked them. */
  inputs: DatasetInput[];
}

/** A file among a run's artifacts. */
export interface ArtifactFile {
  /** Relative to the run's artifact root, with `/` between folders. */
  path: string;
  /** In bytes. */
  size: number;
}

export interface CreateRunRequest {
  experimentId: string;
  runName: string;
  /** milliseconds since the epoch; always sent (MLflow stores 0 when it is missing) */
  startTime: number;
  userId: string;
  tags: Tag[];
}

export interface Batch {
  metrics?: Metric[];
  params?: Param[];
  tags?: Tag[];
}

/**
 * A dataset a run consumed, as `mlflow.log_input(dataset, context=...)` records it. MLflow keeps
 * one per experiment for each name and digest.
 */
export interface DatasetInput {
  name: string;
  /** At most 36 characters: an md5 fits, and so does DVC's `<md5>.dir` of a directory. */
  digest: string;
  /** MLflow's name for the kind of source, e.g. `local`, `http`, `s3`. */
  sourceType: string;
  /** The source as MLflow's `DatasetSource.to_json()` writes it, e.g. `{"uri": "data/train.csv"}`. */
  source: string;
  /** The input tag `mlflow.data.context`, e.g. `training`. */
  context?: string;
}

export interface RunUpdate {
  status: RunStatus;
  endTime: number;
}

/** A page of a run's metric points. */
export interface MetricPage {
  metrics: Metric[];
  /** Where the points after these begin: `after` for the next call. Absent when the page is empty. */
  next?: string;
}

/** Per-call options. `signal` aborts a call (and its retries) that has taken too long. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Which runs findRuns returns. */
export interface RunQuery {
  /** The children of this run; null: the runs that have no parent. */
  parent: string | null;
  /** At most this many, the newest; undefined: every one. */
  max?: number;
}

/** The most runs findRunsByTag returns. */
export const FOUND_RUNS = 10;

export interface Store {
  /** Where the store writes, fit to print: credentials are redacted. */
  readonly displayUri: string;
  /** The value a wrapped command gets as MLFLOW_TRACKING_URI. */
  readonly trackingUri: string;
  /** Metric points worth one logBatch call: what one request or one transaction takes. */
  readonly metricsPerBatch: number;

  getExperiment(experimentId: string, options?: CallOptions): Promise<Experiment | undefined>;
  getExperimentByName(name: string, options?: CallOptions): Promise<Experiment | undefined>;
  /** Creates the experiment and returns its id. */
  createExperiment(name: string, options?: CallOptions): Promise<string>;

  createRun(request: CreateRunRequest, options?: CallOptions): Promise<RunInfo>;
  /** undefined when no run has that id. */
  getRun(runId: string, options?: CallOptions): Promise<Run | undefined>;
  /**
   * The ids of the active runs in these experiments that carry the tag `key` = `value`, oldest
   * first (at most FOUND_RUNS): how `mlrun sync` finds the server's copy of an offline run.
   */
  findRunsByTag(experimentIds: string[], tag: Tag, options?: CallOptions): Promise<string[]>;
  /**
   * The active runs of these experiments (or of all) with this parent, or none, newest first: how
   * `mlrun runs` reads the latest launches and then their stages without reading every run.
   */
  findRuns(experimentIds: string[] | 'all', query: RunQuery, options?: CallOptions): Promise<Run[]>;
  /**
   * Every run of these experiments (or of all experiments), active or deleted, oldest first: how
   * `mlrun sync` reads the offline record.
   */
  searchRuns(experimentIds: string[] | 'all', options?: CallOptions): Promise<Run[]>;
  /**
   * Up to `max` of the run's metric points (every step of every key) that follow the position
   * `after` (undefined: the first ones). Paging on until a page is empty yields each point once;
   * the embedded store gives them in the order they were written, the REST store key by key.
   * `next` is opaque, but may be kept (as `mlrun sync` keeps its progress) and used later.
   */
  metricPoints(runId: string, after: string | undefined, max: number, options?: CallOptions): Promise<MetricPage>;
  /**
   * Every file of the run's artifacts, in every folder, sorted by path: [] for a run that has none,
   * or whose artifacts this store cannot reach (the embedded store reads local folders only).
   */
  listArtifacts(runId: string, options?: CallOptions): Promise<ArtifactFile[]>;
  /** How many metric points the run holds, every step of every key. */
  countMetricPoints(runId: string, options?: CallOptions): Promise<number>;
  /** Any number of entries: the backend splits them to fit its limits. */
  logBatch(runId: string, batch: Batch, options?: CallOptions): Promise<void>;
  updateRun(runId: string, update: RunUpdate, options?: CallOptions): Promise<void>;
  /** Removes the tag; RESOURCE_DOES_NOT_EXIST when the run has no such tag (as MLflow). */
  deleteTag(runId: string, key: string, options?: CallOptions): Promise<void>;
  /**
   * Moves the run to MLflow's lifecycle stage `deleted`: out of the default view, restorable
   * (`mlflow runs restore`), no longer written to.
   */
  deleteRun(runId: string, options?: CallOptions): Promise<void>;
  /**
   * Links datasets to the run as its inputs. Logging one again changes nothing: neither the
   * dataset's source nor the context of the run's first link to it.
   */
  logInputs(runId: string, datasets: DatasetInput[], options?: CallOptions): Promise<void>;

  /**
   * Resolves when the backend answers at all, however slowly it does real work: how mlrun tells a
   * busy server (wait for it) from a lost one (record locally).
   */
  ping(options?: CallOptions): Promise<void>;

  /** Releases connections and file handles. */
  close(): Promise<void>;
}
