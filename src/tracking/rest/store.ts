// The Store over MLflow's REST API (/api/2.0/mlflow/...), as mlflow/store/tracking/rest_store.py
// speaks it.
import { isNotFound, TrackingError } from '../errors.ts';
import { SEARCH_MAX_RESULTS_DEFAULT } from '../limits.ts';
import {
  FOUND_RUNS,
  type ArtifactFile, type Batch, type RunQuery, type CallOptions, type CreateRunRequest, type DatasetInput, type Experiment, type MetricPage, type Run, type RunInfo, type RunUpdate, type Store, type Tag,
} from '../store.ts';
import { MLFLOW_BATCH_LIMITS, splitBatch } from './batch.ts';
import { BatchCoalescer } from './coalesce.ts';
import { API, nextPageToken, RestClient, type Json } from './client.ts';
import { decodeExperiment, decodeRun, decodeRunInfo, encodeBatch, encodeDatasetInput, parseNumber } from './codec.ts';
import { countMetricPoints, metricPoints } from './metric-history.ts';

// Datasets per log-inputs request. The server sets no limit; this is the chunk MLflow's autologging
// client sends (MAX_DATASETS_PER_BATCH), and keeps a request of DVC-sized entries well below 1 MB.
const DATASETS_PER_REQUEST = 1000;

/** The tag that makes a run a child (mlflow/utils/mlflow_tags.py MLFLOW_PARENT_RUN_ID). */
const PARENT_TAG = 'mlflow.parentRunId';

/** @throws TrackingError INVALID_PARAMETER_VALUE when the URI or an MLFLOW_* setting is wrong. */
export function createRestStore(uri: string, env: NodeJS.ProcessEnv): Store {
  return new RestStore(uri, env);
}

class RestStore implements Store {
  readonly displayUri: string;
  /** As given, credentials included: a Python stage needs them to reach the same server. */
  readonly trackingUri: string;
  readonly metricsPerBatch = MLFLOW_BATCH_LIMITS.metrics;
  readonly #client: RestClient;
  readonly #batches = new BatchCoalescer((runId, batch, signal) => this.#sendBatch(runId, batch, signal));

  constructor(uri: string, env: NodeJS.ProcessEnv) {
    this.#client = new RestClient(uri, env);
    this.trackingUri = uri;
    this.displayUri = this.#client.displayUri;
  }

  async getExperiment(experimentId: string, options?: CallOptions): Promise<Experiment | undefined> {
    const answer = await orUndefined(this.#client.get(`${API}/experiments/get`, { experiment_id: experimentId }, options?.signal));
    return answer && decodeExperiment(answer.experiment as Json);
  }

  async getExperimentByName(name: string, options?: CallOptions): Promise<Experiment | undefined> {
    const answer = await orUndefined(this.#client.get(`${API}/experiments/get-by-name`, { experiment_name: name }, options?.signal));
    return answer && decodeExperiment(answer.experiment as Json);
  }

  async createExperiment(name: string, options?: CallOptions): Promise<string> {
    const answer = await this.#client.post(`${API}/experiments/create`, { name }, options?.signal);
    return String(answer.experiment_id);
  }

  async createRun(request: CreateRunRequest, options?: CallOptions): Promise<RunInfo> {
    const answer = await this.#client.post(
      `${API}/runs/create`,
      {
        experiment_id: request.experimentId,
        run_name: request.runName,
        start_time: request.startTime,
        user_id: request.userId,
        tags: request.tags.map(({ key, value }) => ({ key, value })),
      },
      options?.signal,
    );
    return decodeRunInfo((answer.run as { info: Json }).info);
  }

  async getRun(runId: string, options?: CallOptions): Promise<Run | undefined> {
    const answer = await orUndefined(this.#client.get(`${API}/runs/get`, { run_id: runId }, options?.signal));
    return answer && decodeRun(answer.run as Json);
  }

  async findRunsByTag(experimentIds: string[], tag: Tag, options?: CallOptions): Promise<string[]> {
    const ids = [...new Set(experimentIds)];
    if (ids.length === 0) return [];
    const answer = await this.#client.post(
      `${API}/runs/search`,
      {
        experiment_ids: ids,
        filter: `tags.\`${tag.key}\` = ${quoted(tag.value)}`,
        run_view_type: 'ACTIVE_ONLY',
        max_results: FOUND_RUNS,
        order_by: ['attributes.start_time ASC'],
      },
      options?.signal,
    );
    const runs = (answer.runs ?? []) as { info?: { run_id?: string } }[];
    return runs.flatMap((run) => (run.info?.run_id ? [run.info.run_id] : []));
  }

  async findRuns(experimentIds: string[] | 'all', query: RunQuery, options?: CallOptions): Promise<Run[]> {
    const ids = experimentIds === 'all' ? await this.#allExperimentIds(options?.signal) : [...new Set(experimentIds)];
    if (ids.length === 0) return [];
    // IS NULL on a tag: MLflow's search grammar since 3.x (search_utils.py VALID_TAG_COMPARATORS).
    const filter = query.parent === null ? `tags.\`${PARENT_TAG}\` IS NULL` : `tags.\`${PARENT_TAG}\` = ${quoted(query.parent)}`;
    const search = { experiment_ids: ids, filter, run_view_type: 'ACTIVE_ONLY', order_by: ['attributes.start_time DESC'] };
    return this.#searchPages(search, query.max, options?.signal);
  }

  async searchRuns(experimentIds: string[] | 'all', options?: CallOptions): Promise<Run[]> {
    const ids = experimentIds === 'all' ? await this.#allExperimentIds(options?.signal) : [...new Set(experimentIds)];
    if (ids.length === 0) return [];
    // MLflow breaks ties by run id, so pages never overlap.
    return this.#searchPages({ experiment_ids: ids, run_view_type: 'ALL', order_by: ['attributes.start_time ASC'] }, undefined, options?.signal);
  }

  async listArtifacts(runId: string, options?: CallOptions): Promise<ArtifactFile[]> {
    const files: ArtifactFile[] = [];
    // One request per folder: the server lists one level (handlers.py `list_artifacts_impl`), with
    // paths relative to the run's artifact root.
    const folders = [''];
    while (folders.length > 0) {
      const folder = folders.pop()!;
      const answer = await this.#client.get(`${API}/artifacts/list`, { run_id: runId, ...(folder ? { path: folder } : {}) }, options?.signal);
      for (const file of (answer.files ?? []) as { path?: string; is_dir?: boolean; file_size?: unknown }[]) {
        if (!file.path) continue;
        if (file.is_dir) folders.push(file.path);
        else files.push({ path: file.path, size: parseNumber(file.file_size) ?? 0 });
      }
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  metricPoints(runId: string, after: string | undefined, max: number, options?: CallOptions): Promise<MetricPage> {
    return metricPoints(this.#client, runId, after, max, options?.signal);
  }

  countMetricPoints(runId: string, options?: CallOptions): Promise<number> {
    return countMetricPoints(this.#client, runId, options?.signal);
  }

  async logBatch(runId: string, batch: Batch, options?: CallOptions): Promise<void> {
    if (!batch.metrics?.length && !batch.params?.length && !batch.tags?.length) return;
    return this.#batches.log(runId, batch, options?.signal);
  }

  async updateRun(runId: string, update: RunUpdate, options?: CallOptions): Promise<void> {
    await this.#client.post(`${API}/runs/update`, { run_id: runId, status: update.status, end_time: update.endTime }, options?.signal);
  }

  async deleteRun(runId: string, options?: CallOptions): Promise<void> {
    await this.#client.post(`${API}/runs/delete`, { run_id: runId }, options?.signal);
  }

  async deleteTag(runId: string, key: string, options?: CallOptions): Promise<void> {
    await this.#client.post(`${API}/runs/delete-tag`, { run_id: runId, key }, options?.signal);
  }

  async logInputs(runId: string, datasets: DatasetInput[], options?: CallOptions): Promise<void> {
    // Even an empty list goes once: MLflow still checks that the run exists and is active.
    for (let start = 0; start === 0 || start < datasets.length; start += DATASETS_PER_REQUEST) {
      const chunk = datasets.slice(start, start + DATASETS_PER_REQUEST);
      await this.#client.post(`${API}/runs/log-inputs`, { run_id: runId, datasets: chunk.map(encodeDatasetInput) }, options?.signal);
    }
  }

  async ping(options?: CallOptions): Promise<void> {
    await this.#client.ping(options?.signal);
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  async #sendBatch(runId: string, batch: Batch, signal: AbortSignal | undefined): Promise<void> {
    // One request at a time, in order: a later tag value must land after an earlier one.
    for (const chunk of splitBatch(runId, batch)) {
      await this.#client.post(`${API}/runs/log-batch`, encodeBatch(runId, chunk), signal);
    }
  }

  /** runs/search page after page, until the last or `max` runs (undefined: every one). */
  async #searchPages(search: Json, max: number | undefined, signal?: AbortSignal): Promise<Run[]> {
    const runs: Run[] = [];
    let pageToken: string | undefined;
    do {
      const wanted = max === undefined ? SEARCH_MAX_RESULTS_DEFAULT : Math.min(max - runs.length, SEARCH_MAX_RESULTS_DEFAULT);
      const answer = await this.#client.post(`${API}/runs/search`, { ...search, max_results: wanted, ...(pageToken ? { page_token: pageToken } : {}) }, signal);
      runs.push(...((answer.runs ?? []) as Json[]).map(decodeRun));
      pageToken = nextPageToken(answer);
    } while (pageToken !== undefined && (max === undefined || runs.length < max));
    return runs;
  }

  async #allExperimentIds(signal?: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const answer = await this.#client.post(
        `${API}/experiments/search`,
        // The handler checks view_type as an integer: 3 is ViewType.ALL, deleted experiments too.
        { view_type: 3, max_results: SEARCH_MAX_RESULTS_DEFAULT, ...(pageToken ? { page_token: pageToken } : {}) },
        signal,
      );
      ids.push(...((answer.experiments ?? []) as Json[]).map((experiment) => decodeExperiment(experiment).experimentId));
      pageToken = nextPageToken(answer);
    } while (pageToken !== undefined);
    return ids;
  }
}

async function orUndefined(answer: Promise<Json>): Promise<Json | undefined> {
  try {
    return await answer;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * A value in MLflow's search grammar (search_utils.py `_strip_quotes`): in single or double quotes,
 * taken as it stands between them, with no escapes. A value with both quotes cannot be searched.
 */
function quoted(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new TrackingError(`cannot search for a tag value with both kinds of quotes: ${value}`, 'INVALID_PARAMETER_VALUE');
}
