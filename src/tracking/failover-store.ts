// The store a run is recorded through. For a run on a server it is the server's store until the
// server is lost after the run was created; from then on it is the run's copy in the offline record,
// which `mlrun sync` delivers to the server's run later. Callers just call the Store's methods with
// the run's id: a call that finds the server gone moves the rest of the run and is made again
// there, so no caller can forget to.
import { describeError, type Reporter } from '../report.ts';
import { TrackingError } from './errors.ts';
import { OFFLINE_DB, type OfflineRun } from './offline-record.ts';
import type { ArtifactFile, Batch, CallOptions, CreateRunRequest, DatasetInput, Experiment, MetricPage, Run, RunInfo, RunQuery, RunUpdate, Store, Tag } from './store.ts';

export class FailoverStore implements Store {
  #store: Store;
  #run: RunInfo;
  /** The id the run was created with: calls naming it reach the run wherever it is now. */
  readonly #firstRunId: string;
  /** Opens the run's offline copy; undefined for a run that has no server to be delivered to later. */
  readonly #openCopy: (() => Promise<OfflineRun>) | undefined;
  readonly #reporter: Reporter;
  #copy: Promise<OfflineRun | { error: unknown }> | undefined;
  #failover: Promise<boolean> | undefined;
  #movedOffline = false;
  readonly #moved = new AbortController();

  constructor(store: Store, run: RunInfo, openCopy: (() => Promise<OfflineRun>) | undefined, reporter: Reporter) {
    this.#store = store;
    this.#run = run;
    this.#firstRunId = run.runId;
    this.#openCopy = openCopy;
    this.#reporter = reporter;
  }

  /** The run as it is recorded now: after a failover, the offline copy (an id of its own). */
  get run(): RunInfo {
    return this.#run;
  }

  /** True once the rest of the run went to the offline copy. */
  get movedOffline(): boolean {
    return this.#movedOffline;
  }

  /** Aborts once the rest of the run went to the offline copy: work in flight to the server can stop. */
  get movedSignal(): AbortSignal {
    return this.#moved.signal;
  }

  /** True while the run is on a server, from which it can move to its offline copy. */
  get onServer(): boolean {
    return this.#openCopy !== undefined && !this.#movedOffline;
  }

  get displayUri(): string {
    return this.#store.displayUri;
  }

  get trackingUri(): string {
    return this.#store.trackingUri;
  }

  get metricsPerBatch(): number {
    return this.#store.metricsPerBatch;
  }

  /**
   * The run's copy in the offline record, made once: where the rest of the run goes on a failover,
   * and where what the server could not take waits while the run stays there (Tracking.keepOffline).
   * Only for a run that was on a server (onServer).
   */
  offlineCopy(): Promise<OfflineRun | { error: unknown }> {
    this.#copy ??= this.#openCopy!().catch((error: unknown) => ({ error }));
    return this.#copy;
  }

  /**
   * Moves the rest of the run to the offline copy, as a call that finds the server lost does; for
   * a loss noticed outside the run's calls (an unanswered ping, a wait given up, the metrics
   * thread's own store). False when that is not possible (the run is local, or the local record failed).
   */
  failover(reason: string): Promise<boolean> {
    if (!this.#openCopy) return Promise.resolve(false);
    this.#failover ??= this.#moveOffline(reason);
    return this.#failover;
  }

  getExperiment(experimentId: string, options?: CallOptions): Promise<Experiment | undefined> {
    return this.#store.getExperiment(experimentId, options);
  }

  getExperimentByName(name: string, options?: CallOptions): Promise<Experiment | undefined> {
    return this.#store.getExperimentByName(name, options);
  }

  createExperiment(name: string, options?: CallOptions): Promise<string> {
    return this.#store.createExperiment(name, options);
  }

  createRun(request: CreateRunRequest, options?: CallOptions): Promise<RunInfo> {
    return this.#store.createRun(request, options);
  }

  getRun(runId: string, options?: CallOptions): Promise<Run | undefined> {
    return this.#call(runId, options, (store, id, callOptions) => store.getRun(id, callOptions));
  }

  findRunsByTag(experimentIds: string[], tag: Tag, options?: CallOptions): Promise<string[]> {
    return this.#store.findRunsByTag(experimentIds, tag, options);
  }

  findRuns(experimentIds: string[] | 'all', query: RunQuery, options?: CallOptions): Promise<Run[]> {
    return this.#store.findRuns(experimentIds, query, options);
  }

  searchRuns(experimentIds: string[] | 'all', options?: CallOptions): Promise<Run[]> {
    return this.#store.searchRuns(experimentIds, options);
  }

  listArtifacts(runId: string, options?: CallOptions): Promise<ArtifactFile[]> {
    return this.#call(runId, options, (store, id, callOptions) => store.listArtifacts(id, callOptions));
  }

  metricPoints(runId: string, after: string | undefined, max: number, options?: CallOptions): Promise<MetricPage> {
    return this.#call(runId, options, (store, id, callOptions) => store.metricPoints(id, after, max, callOptions));
  }

  countMetricPoints(runId: string, options?: CallOptions): Promise<number> {
    return this.#call(runId, options, (store, id, callOptions) => store.countMetricPoints(id, callOptions));
  }

  logBatch(runId: string, batch: Batch, options?: CallOptions): Promise<void> {
    return this.#call(runId, options, (store, id, callOptions) => store.logBatch(id, batch, callOptions));
  }

  updateRun(runId: string, update: RunUpdate, options?: CallOptions): Promise<void> {
    return this.#call(runId, options, (store, id, callOptions) => store.updateRun(id, update, callOptions));
  }

  deleteTag(runId: string, key: string, options?: CallOptions): Promise<void> {
    return this.#call(runId, options, (store, id, callOptions) => store.deleteTag(id, key, callOptions));
  }

  deleteRun(runId: string, options?: CallOptions): Promise<void> {
    return this.#call(runId, options, (store, id, callOptions) => store.deleteRun(id, callOptions));
  }

  logInputs(runId: string, datasets: DatasetInput[], options?: CallOptions): Promise<void> {
    return this.#call(runId, options, (store, id, callOptions) => store.logInputs(id, datasets, callOptions));
  }

  ping(options?: CallOptions): Promise<void> {
    return this.#store.ping(options);
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  /**
   * A call about the run goes where the run is now; one that finds the server lost moves the rest of
   * the run and is made again in the offline copy, without the server's deadline (it is a local
   * file). Calls about other runs (an experiment's run, abandoned runs, a pipeline's stages) go to
   * the same store as they are: they have no copy to move to.
   */
  async #call<T>(runId: string, options: CallOptions = {}, call: (store: Store, runId: string, options: CallOptions) => Promise<T>): Promise<T> {
    if (runId !== this.#firstRunId && runId !== this.#run.runId) return call(this.#store, runId, options);
    try {
      return await call(this.#store, this.#run.runId, options);
    } catch (error) {
      const { signal } = options;
      if (!isLoss(error, signal) || !(await this.failover(describeError(signal?.aborted ? signal.reason : error)))) throw error;
      return call(this.#store, this.#run.runId, {});
    }
  }

  async #moveOffline(reason: string): Promise<boolean> {
    const server = this.#store.displayUri;
    const copy = await this.offlineCopy();
    if ('error' in copy) {
      this.#reporter.warn(`lost ${server} during the run (${reason}), and the local record failed too (${describeError(copy.error)})`);
      return false;
    }
    this.#reporter.warn(`lost ${server} during the run (${reason}): the rest of the run is recorded locally in ${OFFLINE_DB}; 'mlrun sync' delivers it later`);
    await this.#store.close().catch(() => undefined);
    this.#store = copy.store;
    this.#run = copy.run;
    this.#movedOffline = true;
    this.#moved.abort(new Error(`the run moved to ${OFFLINE_DB}`));
    return true;
  }
}

/**
 * The server is gone (unreachable after retries, or silent), as opposed to refusing a value. A call
 * its caller abandoned is a loss only when the caller gave up on the server (liveness.ts aborts
 * with such an error), not when it merely stopped waiting (the user's second signal).
 */
function isLoss(error: unknown, signal: AbortSignal | undefined): boolean {
  const cause: unknown = signal?.aborted ? signal.reason : error;
  return cause instanceof TrackingError && cause.unreachable;
}
