// The watcher of a plain `dvc repro` (launch-parent.ts): mlrun started again, detached, by the
// launch's first stage. It waits for the dvc process to be gone, then closes the launch's parent
// with the same end-of-launch record as `mlrun pipeline` (launch-end.ts), and exits. The status
// is the stages' own: the dvc process is not its child, so its exit code cannot be read (wait(2)
// is for parents only); a stage FAILED makes the launch FAILED, a stage KILLED or never closed
// (its mlrun was killed) makes it KILLED.
import fs from 'node:fs';
import { findDvcRoot } from '../dvc/root.ts';
import { processState } from '../process/process-identity.ts';
import { Reporter } from '../report.ts';
import { findProjectRoot } from '../settings/project-root.ts';
import { workingFolder } from '../settings/working-folder.ts';
import { removeLiveRun, touchLiveRun } from '../tracking/live-runs.ts';
import { openStore, storeTarget } from '../tracking/open-store.ts';
import { secretsOf } from '../tracking/secrets.ts';
import type { RunStatus, Store } from '../tracking/store.ts';
import { finishTracking, Tracking } from '../tracking/tracked-run.ts';
import { recordLaunchEnd } from './launch-end.ts';
import { readLaunch, type LaunchRecord } from './launch-parent.ts';
import { readStageRuns } from './stage-records.ts';

/** How often the dvc process is looked for: the parent closes at most this long after it is gone. */
const POLL_MS = 250;
/** How often the parent's entry in the open runs shows a sign of life (as run/live-run.ts does). */
const SIGN_OF_LIFE_MS = 5000;

export async function watchLaunch(file: string): Promise<void> {
  let record = readLaunch(file);
  let touched = Date.now();
  while (record && !record.failed && processState(record.dvc) === 'running') {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    record = readLaunch(file) ?? record;
    if (record.parent && Date.now() - touched >= SIGN_OF_LIFE_MS) {
      touched = Date.now();
      try {
        touchLiveRun(record.parent.liveFile);
      } catch {
        // The project's folder went away: the next period tries again.
      }
    }
  }
  try {
    if (record?.parent) await closeParent(record.parent);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function closeParent(parent: NonNullable<LaunchRecord['parent']>): Promise<void> {
  const env = process.env;
  const cwd = workingFolder();
  // Nobody reads the watcher's output (it is /dev/null): the reporter only keeps secrets out.
  const reporter = new Reporter({ verbose: false, secrets: secretsOf(env) });
  const projectRoot = findProjectRoot(cwd, env);
  const target = storeTarget(env.MLFLOW_TRACKING_URI, projectRoot, cwd);
  const store = await openStore(target, env);
  const found = await store.getRun(parent.runId);
  if (!found || found.info.status !== 'RUNNING') {
    // Closed meanwhile by a later mlrun that took the watcher for gone: nothing left to do.
    await store.close();
    removeLiveRun(parent.liveFile);
    return;
  }
  const info = found.info;
  // What an offline copy of the parent starts from, should the server be lost on the way.
  const tags = Object.entries(found.tags).map(([key, value]) => ({ key, value }));
  const request = { runName: info.runName, userId: info.userId, tags, startTime: info.startTime };
  const tracking = new Tracking(store, info, false, { target, projectRoot, env, request }, reporter);
  const status = await launchStatus(store, readStageRuns(projectRoot, parent.runId).map((record) => record.runId));
  const dvcRoot = findDvcRoot(cwd, env);
  const end = await recordLaunchEnd(tracking, { projectRoot, dvcRoot, launchedDvc: true, succeeded: status === 'FINISHED', env, reporter });
  await finishTracking(tracking, { status, tags: end.tags, discard: end.discardReason !== undefined }, reporter);
  removeLiveRun(parent.liveFile);
}

async function launchStatus(store: Store, runIds: string[]): Promise<RunStatus> {
  const statuses = await Promise.all(runIds.map(async (runId) => (await store.getRun(runId))?.info.status));
  if (statuses.includes('FAILED')) return 'FAILED';
  if (statuses.some((status) => status !== 'FINISHED')) return 'KILLED';
  return 'FINISHED';
}
