// The part of a run's life that is the same for a stage and for a pipeline: open the run within a
// bounded wait (falling back to a local record when the server cannot take it), and close it.
import path from 'node:path';
import { keepOutOfProject, stateFolder } from '../settings/private-folders.ts';
import { describeError, type Reporter } from '../report.ts';
import { answers, watchLiveness } from './liveness.ts';
import { closeRun, openRun, type OpenRunRequest, type RunEnd } from './lifecycle.ts';
import { EMBEDDED_ARTIFACTS, openStore, type StoreTarget } from './open-store.ts';
import { TrackingError } from './errors.ts';
import { redactUri } from './redact.ts';
import type { CallOptions, RunInfo, RunStatus, Store, Tag } from './store.ts';
import { OFFLINE_TAGS, SYNC_TAGS } from './offline-tags.ts';

/** How long the command may wait for its run to be created: a stage starts within 5 s whatever the server does. */
const START_BUDGET_MS = 4000;

/** Where runs go while their server cannot be reached, for `mlrun sync` to deliver. */
export const OFFLINE_DB = path.join('.mlrun', 'offline', 'mlflow.db');

/** The run's copy in the offline record, for a run the server has. */
interface OfflineCopy {
  store: Store;
  run: RunInfo;
}

/**
 * A run being recorded, and where. When the server is lost halfway (after the run was created),
 * `failover` moves the rest of the run to the offline record; when the server only could not take
 * some of it (an artifact too large for a proxy), `setAside` gives that part a place there while
 * the run stays on the server. Either way the offline copy is tagged with the server's run id, so
 * `mlrun sync` completes that run instead of creating another.
 */
export class Tracking {
  store: Store;
  run: RunInfo;
  /** True when the run is recorded locally for a server that could not be reached. */
  offline: boolean;
  readonly #plan: TrackingPlan;
  readonly #reporter: Reporter;
  #failover: Promise<boolean> | undefined;
  #copy: Promise<OfflineCopy | { error: unknown }> | undefined;
  /** The offline copy while the run stays on the server: closed with the run. */
  #aside: OfflineCopy | undefined;

  constructor(store: Store, run: RunInfo, offline: boolean, plan: TrackingPlan, reporter: Reporter) {
    this.store = store;
    this.run = run;
    this.offline = offline;
    this.#plan = plan;
    this.#reporter = reporter;
  }

  /** Where the run is recorded now: the planned store, or the offline record. */
  get target(): StoreTarget {
    return this.offline ? offlineTarget(this.#plan) : this.#plan.target;
  }

  get env(): NodeJS.ProcessEnv {
    return this.#plan.env;
  }

  /** Moves the rest of the run to the offline record; false when that is not possible (already local). */
  failover(reason: string): Promise<boolean> {
    // Only a server's runs have somewhere to be delivered to later.
    if ((this.offline || this.#plan.target.kind !== 'rest') && !this.#failover) return Promise.resolve(false);
    this.#failover ??= this.#moveOffline(reason);
    return this.#failover;
  }

  /**
   * Runs `write` against the run's store; when the server is lost on the way, once more against
   * the offline record. Other errors (a refused value) are thrown as they are.
   */
  async write(write: (store: Store, runId: string, options: CallOptions) => Promise<void>, options: CallOptions = {}): Promise<void> {
    try {
      await write(this.store, this.run.runId, options);
    } catch (error) {
      const reason = options.signal?.aborted ? `no answer from ${this.store.displayUri}` : describeError(error);
      if (!isLoss(error, options.signal) || !(await this.failover(reason))) throw error;
      // The offline record is a local file: no deadline of the server's applies to it.
      await write(this.store, this.run.runId, {});
    }
  }

  /**
   * Where files the server did not take go, in the run's artifact location there: the offline
   * record of the whole rest of the run when the server no longer answers at all, else the run's
   * copy there (setAside). Undefined for a run that has no server to be delivered to later.
   */
  async keepOffline(reason: string): Promise<{ artifactUri: string; failedOver: boolean } | { error: unknown } | undefined> {
    if (this.offline || this.#plan.target.kind !== 'rest') return undefined;
    if (!(await answers(this.store)) && (await this.failover(reason))) return { artifactUri: this.run.artifactUri, failedOver: true };
    try {
      return { artifactUri: (await this.#setAside()).artifactUri, failedOver: false };
    } catch (error) {
      return { error };
    }
  }

  /**
   * The run's copy in the offline record, for what the server could not take while the run stays
   * there (closed with the run by finishTracking). Only for a run on a server (`target` is REST);
   * throws when the local record fails.
   */
  async #setAside(): Promise<RunInfo> {
    const copy = await this.#offlineCopy();
    if ('error' in copy) throw copy.error;
    this.#aside ??= copy;
    return copy.run;
  }

  /** Closes the copy setAside made, as the run itself was closed; a no-op without one. */
  async closeAside(end: { status: RunStatus; endTime: number; tags: Tag[] }): Promise<void> {
    const aside = this.#aside;
    this.#aside = undefined;
    // After a failover the copy is the run's store, closed as the run.
    if (!aside || aside.store === this.store) return;
    try {
      await closeRun(aside.store, aside.run.runId, end);
    } finally {
      await aside.store.close().catch(() => undefined);
    }
  }

  /** Made once: a failover after setAside moves the rest of the run into the same copy. */
  #offlineCopy(): Promise<OfflineCopy | { error: unknown }> {
    const remote = this.run;
    this.#copy ??= openOfflineRun(this.#plan, this.store.displayUri, [{ key: SYNC_TAGS.runId, value: remote.runId }], {
      runName: remote.runName,
      startTime: remote.startTime,
    }).catch((error: unknown) => ({ error }));
    return this.#copy;
  }

  async #moveOffline(reason: string): Promise<boolean> {
    const server = this.store.displayUri;
    const copy = await this.#offlineCopy();
    if ('error' in copy) {
      this.#reporter.warn(`lost ${server} during the run (${reason}), and the local record failed too (${describeError(copy.error)})`);
      return false;
    }
    this.#reporter.warn(`lost ${server} during the run (${reason}): the rest of the run is recorded locally in ${OFFLINE_DB}; 'mlrun sync' delivers it later`);
    await this.store.close().catch(() => undefined);
    this.store = copy.store;
    this.run = copy.run;
    this.offline = true;
    return true;
  }
}

/** The server is gone (unreachable after retries, or silent past a deadline), as opposed to refusing a value. */
function isLoss(error: unknown, signal?: AbortSignal): boolean {
  if (error instanceof TrackingError) return error.unreachable;
  return signal?.aborted === true;
}

export interface TrackingPlan {
  target: StoreTarget;
  projectRoot: string;
  env: NodeJS.ProcessEnv;
  request: OpenRunRequest;
  /** Replaces the requested parent with the one to use, once the store is open (experiment runs). */
  resolveParent?: (store: Store, request: OpenRunRequest, options: CallOptions) => Promise<string | undefined>;
}

export async function startTracking(plan: TrackingPlan, reporter: Reporter): Promise<Tracking | undefined> {
  const signal = AbortSignal.timeout(START_BUDGET_MS);
  let store: Store | undefined;
  try {
    store = await openStore(plan.target, plan.env);
    if (plan.target.kind === 'rest' && /^https:/i.test(plan.target.uri) && /^(true|1)$/i.test(plan.env.MLFLOW_TRACKING_INSECURE_TLS ?? '')) {
      reporter.say(`TLS certificate verification is off for ${store.displayUri} (MLFLOW_TRACKING_INSECURE_TLS)`);
    }
    if (plan.target.kind === 'sqlite') keepOutOfProject(path.join(path.dirname(plan.target.dbPath), EMBEDDED_ARTIFACTS));
    const parentRunId = plan.resolveParent ? await plan.resolveParent(store, plan.request, { signal }) : plan.request.parentRunId;
    const opened = await openRun(store, { ...plan.request, parentRunId }, { signal });
    for (const warning of opened.warnings) reporter.warn(warning);
    return new Tracking(store, opened.info, false, plan, reporter);
  } catch (error) {
    const where = store?.displayUri ?? (plan.target.kind === 'rest' ? redactUri(plan.target.uri) : plan.target.dbPath);
    await store?.close().catch(() => undefined);
    if (plan.target.kind === 'rest') {
      const reason = signal.aborted ? `no answer from ${where} within ${START_BUDGET_MS / 1000} s` : describeError(error);
      return startOffline(plan, reason, where, reporter);
    }
    // The embedded database: held by another process past the wait (a long write, a `mlflow
    // ui` migration) is worth a local record elsewhere; a broken file is not ours to touch.
    if (signal.aborted) return startOffline(plan, `${where} is locked by another process`, where, reporter, false);
    reporter.warn(`cannot record the run in ${where}: ${describeError(error)}`);
    return undefined;
  }
}

/** Records the run in the local offline store, tagged with what `mlrun sync` needs to deliver it. */
async function startOffline(plan: TrackingPlan, reason: string, server: string, reporter: Reporter, forSync = true): Promise<Tracking | undefined> {
  const { parentRunId, experiment, experimentId, experimentName } = plan.request;
  const wanted: Tag[] = [
    ...(parentRunId ? [{ key: OFFLINE_TAGS.parentRunId, value: parentRunId }] : []),
    ...(experiment ?? experimentName ?? experimentId ? [{ key: OFFLINE_TAGS.experiment, value: (experiment ?? experimentName ?? experimentId)! }] : []),
  ];
  try {
    const { store, run } = await openOfflineRun(plan, server, wanted, {});
    reporter.warn(`${reason}: recording the run locally in ${OFFLINE_DB}${forSync ? "; 'mlrun sync' delivers it later" : ' instead'}`);
    return new Tracking(store, run, true, plan, reporter);
  } catch (error) {
    reporter.warn(`${reason}, and the local record failed too (${describeError(error)}): the run is not tracked`);
    return undefined;
  }
}

/** A run in the offline record for `server` (redacted), with the plan's name, tags and times unless overridden. */
async function openOfflineRun(
  plan: TrackingPlan,
  server: string,
  tags: Tag[],
  override: { runName?: string; startTime?: number },
): Promise<{ store: Store; run: RunInfo }> {
  stateFolder(plan.projectRoot);
  const store = await openStore(offlineTarget(plan), plan.env);
  const { parentRunId: _parent, experiment: _experiment, experimentId: _id, experimentName: _name, ...request } = plan.request;
  const opened = await openRun(store, {
    ...request,
    ...override,
    tags: [...request.tags.filter((tag) => tag.key !== 'mlflow.runName' || !override.runName), { key: OFFLINE_TAGS.server, value: server }, ...tags],
  });
  return { store, run: opened.info };
}

function offlineTarget(plan: TrackingPlan): StoreTarget {
  return { kind: 'sqlite', dbPath: path.join(plan.projectRoot, OFFLINE_DB) };
}

export async function finishTracking(
  tracking: Tracking,
  end: Omit<RunEnd, 'endTime'>,
  reporter: Reporter,
): Promise<void> {
  const liveness = watchLiveness(tracking.store);
  const { signal } = liveness;
  const endTime = Date.now();
  try {
    await tracking.write((store, runId, options) => closeRun(store, runId, { ...end, endTime }, options), { signal });
  } catch (error) {
    const reason = signal.aborted ? `no answer from ${tracking.store.displayUri}` : describeError(error);
    reporter.warn(`could not close run ${tracking.run.runId} in ${tracking.store.displayUri}: ${reason}`);
  } finally {
    liveness.stop();
  }
  // The part set aside for `mlrun sync` is closed the same way: sync then gives the server's run
  // the same status and end time it already has.
  await tracking.closeAside({ ...end, endTime }).catch((error: unknown) => {
    reporter.warn(`could not close the local record of run ${tracking.run.runId} in ${OFFLINE_DB}: ${describeError(error)}`);
  });
  await tracking.store.close().catch(() => undefined);
}

/** FINISHED on exit 0, KILLED when a signal ended the command, FAILED otherwise (as MLflow means them). */
export function statusOf(outcome: { exitCode: number; signal?: string; interrupted: boolean }): RunStatus {
  if (outcome.exitCode === 0) return 'FINISHED';
  if (outcome.signal || outcome.interrupted) return 'KILLED';
  return 'FAILED';
}
