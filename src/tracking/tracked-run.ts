// The part of a run's life that is the same for a stage and for a pipeline: open the run within a
// bounded wait (falling back to a local record when the server cannot take it), and close it.
import path from 'node:path';
import { keepOutOfProject } from '../settings/private-folders.ts';
import { describeError, type Reporter } from '../report.ts';
import { answers, watchLiveness } from './liveness.ts';
import { closeRun, openRun, type OpenRunRequest, type RunEnd } from './lifecycle.ts';
import { EMBEDDED_ARTIFACTS, openStore, type StoreTarget } from './open-store.ts';
import { redactUri } from './redact.ts';
import type { CallOptions, RunInfo, RunStatus, Store, Tag } from './store.ts';
import { OFFLINE_TAGS, SYNC_TAGS } from './offline-tags.ts';
import { FailoverStore } from './failover-store.ts';
import { OFFLINE_DB, offlineTarget, openOfflineRun, type OfflineRun } from './offline-record.ts';


/** How long the command may wait for its run to be created: a stage starts within 5 s whatever the server does. */
const START_BUDGET_MS = 4000;

/**
 * A run being recorded, and where. `store` is the run's FailoverStore: when the server is lost
 * halfway (after the run was created), it moves the rest of the run to the offline record by
 * itself. When the server only could not take some files (too large for a proxy), `keepOffline`
 * gives them a place in the same offline copy while the run stays on the server. Either way the
 * copy is tagged with the server's run id, so `mlrun sync` completes that run instead of creating
 * another.
 */
export class Tracking {
  readonly store: FailoverStore;
  /** True when the run was recorded locally from the start. */
  readonly #startedOffline: boolean;
  readonly #plan: TrackingPlan;
  /** The offline copy while the run stays on the server: closed with the run. */
  #aside: OfflineRun | undefined;

  constructor(store: Store, run: RunInfo, offline: boolean, plan: TrackingPlan, reporter: Reporter) {
    // Only a server's runs have somewhere to be delivered to later.
    const openCopy =
      offline || plan.target.kind !== 'rest'
        ? undefined
        : () =>
            openOfflineRun(plan, store.displayUri, [{ key: SYNC_TAGS.runId, value: run.runId }], {
              runName: run.runName,
              startTime: run.startTime,
            });
    this.store = new FailoverStore(store, run, openCopy, reporter);
    this.#startedOffline = offline;
    this.#plan = plan;
  }

  /** The run as it is recorded now: after a failover, its offline copy. */
  get run(): RunInfo {
    return this.store.run;
  }

  /** True when the run is recorded locally for a server that could not be reached. */
  get offline(): boolean {
    return this.#startedOffline || this.store.movedOffline;
  }

  /** Where the run is recorded now: the planned store, or the offline record. */
  get target(): StoreTarget {
    return this.offline ? offlineTarget(this.#plan.projectRoot) : this.#plan.target;
  }

  get env(): NodeJS.ProcessEnv {
    return this.#plan.env;
  }

  get projectRoot(): string {
    return this.#plan.projectRoot;
  }

  /**
   * Where files the server did not take go, in the run's artifact location there: the offline
   * record of the whole rest of the run when the server no longer answers at all, else the run's
   * copy there, closed with the run. Undefined for a run that has no server to be delivered to later.
   */
  async keepOffline(reason: string): Promise<{ artifactUri: string; failedOver: boolean } | { error: unknown } | undefined> {
    // Moved meanwhile (by a call made beside this upload): the files follow the rest of the run.
    if (this.store.movedOffline) return { artifactUri: this.run.artifactUri, failedOver: true };
    if (!this.store.onServer) return undefined;
    if (!(await answers(this.store)) && (await this.store.failover(reason))) return { artifactUri: this.run.artifactUri, failedOver: true };
    const copy = await this.store.offlineCopy();
    if ('error' in copy) return copy;
    this.#aside ??= copy;
    return { artifactUri: copy.run.artifactUri, failedOver: false };
  }

  /** Closes the copy keepOffline made, as the run itself was closed; a no-op without one. */
  async closeAside(end: { status: RunStatus; endTime: number; tags: Tag[] }): Promise<void> {
    const aside = this.#aside;
    this.#aside = undefined;
    // After a failover the copy is the run's store, closed as the run.
    if (!aside || this.store.movedOffline) return;
    try {
      await closeRun(aside.store, aside.run.runId, end);
    } finally {
      await aside.store.close().catch(() => undefined);
    }
  }
}

/** The parent a run is opened under, and its experiment when that is known without asking. */
export type ParentChoice = Pick<OpenRunRequest, 'parentRunId' | 'parentExperimentId'>;

export interface TrackingPlan {
  target: StoreTarget;
  projectRoot: string;
  env: NodeJS.ProcessEnv;
  request: OpenRunRequest;
  /** Replaces the requested parent with the one to use, once the store is open (experiment runs, a launch's parent). */
  resolveParent?: (store: Store, request: OpenRunRequest, options: CallOptions) => Promise<ParentChoice>;
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
    const parent = plan.resolveParent ? await plan.resolveParent(store, plan.request, { signal }) : plan.request;
    const opened = await openRun(store, { ...plan.request, parentRunId: parent.parentRunId, parentExperimentId: parent.parentExperimentId }, { signal });
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

/**
 * How a run ends. `held`: tags logged before the close (the command's outcome, with the stage's
 * last records), not logged again, except into a copy of the run in the offline record, which
 * must hold them too: the one the run moved to, or the one closed beside it.
 */
export async function finishTracking(
  tracking: Tracking,
  end: Omit<RunEnd, 'endTime'> & { held?: Tag[] },
  reporter: Reporter,
): Promise<void> {
  const liveness = watchLiveness(tracking.store);
  const { signal } = liveness;
  const endTime = Date.now();
  const { held = [], ...rest } = end;
  const everyTag = [...held.filter((tag) => !rest.tags.some((other) => other.key === tag.key)), ...rest.tags];
  try {
    await closeRun(tracking.store, tracking.run.runId, { ...rest, tags: tracking.store.movedOffline ? everyTag : rest.tags, endTime }, { signal });
  } catch (error) {
    const reason = signal.aborted ? `no answer from ${tracking.store.displayUri}` : describeError(error);
    reporter.warn(`could not close run ${tracking.run.runId} in ${tracking.store.displayUri}: ${reason}`);
  } finally {
    liveness.stop();
  }
  // The part set aside for `mlrun sync` is closed the same way: sync then gives the server's run
  // the same status and end time it already has.
  await tracking.closeAside({ ...rest, tags: everyTag, endTime }).catch((error: unknown) => {
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
