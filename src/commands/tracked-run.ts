// The part of a run's life that is the same for a stage and for a pipeline: open the run within a
// bounded wait (falling back to a local record when the server cannot take it), and close it.
import path from 'node:path';
import { keepOutOfProject, stateFolder } from '../config/private-folders.ts';
import { describeError, type Reporter } from '../report.ts';
import { closeRun, openRun, type OpenRunRequest } from '../tracking/lifecycle.ts';
import { EMBEDDED_ARTIFACTS, openStore, type StoreTarget } from '../tracking/open-store.ts';
import type { CallOptions, RunInfo, RunStatus, Store, Tag } from '../tracking/store.ts';

/** How long the command may wait for its run to be created (the issue allows 5 s in all). */
export const START_BUDGET_MS = 4000;
/** How long mlrun may take to close the run after the command ended. */
export const END_BUDGET_MS = 5000;

/** Where runs go while their server cannot be reached, for `mlrun sync` to deliver. */
export const OFFLINE_DB = path.join('.mlrun', 'offline', 'mlflow.db');

export interface Tracking {
  store: Store;
  run: RunInfo;
  /** True when the run is recorded locally for a server that could not be reached. */
  offline: boolean;
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
    return { store, run: opened.info, offline: false };
  } catch (error) {
    const where = store?.displayUri ?? (plan.target.kind === 'rest' ? plan.target.uri : plan.target.dbPath);
    await store?.close().catch(() => undefined);
    const reason = signal.aborted ? `no answer from ${where} within ${START_BUDGET_MS / 1000} s` : describeError(error);
    if (plan.target.kind !== 'rest') {
      reporter.warn(`cannot record the run in ${where}: ${reason}`);
      return undefined;
    }
    return startOffline(plan, reason, where, reporter);
  }
}

/** Records the run in the local offline store, tagged with what `mlrun sync` needs to deliver it. */
async function startOffline(plan: TrackingPlan, reason: string, server: string, reporter: Reporter): Promise<Tracking | undefined> {
  stateFolder(plan.projectRoot);
  const dbPath = path.join(plan.projectRoot, OFFLINE_DB);
  try {
    const store = await openStore({ kind: 'sqlite', dbPath }, plan.env);
    const { parentRunId, experiment, experimentId, experimentName, ...request } = plan.request;
    const wanted: Tag[] = [
      { key: 'mlrun.offline.server', value: server },
      ...(parentRunId ? [{ key: 'mlrun.offline.parent_run_id', value: parentRunId }] : []),
      ...(experiment ?? experimentName ?? experimentId
        ? [{ key: 'mlrun.offline.experiment', value: (experiment ?? experimentName ?? experimentId)! }]
        : []),
    ];
    const opened = await openRun(store, { ...request, tags: [...request.tags, ...wanted] });
    reporter.warn(`${reason}: recording the run locally in ${OFFLINE_DB}; 'mlrun sync' delivers it later`);
    return { store, run: opened.info, offline: true };
  } catch (error) {
    reporter.warn(`${reason}, and the local record failed too (${describeError(error)}): the run is not tracked`);
    return undefined;
  }
}

export async function finishTracking(
  tracking: Tracking,
  end: { status: RunStatus; tags: Tag[] },
  reporter: Reporter,
): Promise<void> {
  const signal = AbortSignal.timeout(END_BUDGET_MS);
  try {
    await closeRun(tracking.store, tracking.run.runId, { ...end, endTime: Date.now() }, { signal });
  } catch (error) {
    const reason = signal.aborted ? `no answer within ${END_BUDGET_MS / 1000} s` : describeError(error);
    reporter.warn(`could not close run ${tracking.run.runId} in ${tracking.store.displayUri}: ${reason}`);
  } finally {
    await tracking.store.close().catch(() => undefined);
  }
}

/** FINISHED on exit 0, KILLED when a signal ended the command, FAILED otherwise (as MLflow means them). */
export function statusOf(outcome: { exitCode: number; signal?: string; interrupted: boolean }): RunStatus {
  if (outcome.exitCode === 0) return 'FINISHED';
  if (outcome.signal || outcome.interrupted) return 'KILLED';
  return 'FAILED';
}
