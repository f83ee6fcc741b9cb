// The offline record: the embedded store in `.mlrun/offline/mlflow.db` where a run goes when its
// server cannot take it, tagged with what `mlrun sync` needs to deliver it there later.
import path from 'node:path';
import { stateFolder } from '../settings/private-folders.ts';
import { openRun, type OpenRunRequest } from './lifecycle.ts';
import { OFFLINE_TAGS } from './offline-tags.ts';
import { openStore, type StoreTarget } from './open-store.ts';
import type { RunInfo, Store, Tag } from './store.ts';

/** Where runs go while their server cannot be reached, for `mlrun sync` to deliver. */
export const OFFLINE_DB = path.join('.mlrun', 'offline', 'mlflow.db');

/** A run in the offline record, with the store it was opened in. */
export interface OfflineRun {
  store: Store;
  run: RunInfo;
}

/** What a run in the offline record is made from: the run the command asked for, in its project. */
interface OfflineRunPlan {
  projectRoot: string;
  env: NodeJS.ProcessEnv;
  request: OpenRunRequest;
}

export function offlineTarget(projectRoot: string): StoreTarget {
  return { kind: 'sqlite', dbPath: path.join(projectRoot, OFFLINE_DB) };
}

/** A run in the offline record for `server` (redacted), with the plan's name, tags and times unless overridden. */
export async function openOfflineRun(
  plan: OfflineRunPlan,
  server: string,
  tags: Tag[],
  override: { runName?: string; startTime?: number },
): Promise<OfflineRun> {
  stateFolder(plan.projectRoot);
  const store = await openStore(offlineTarget(plan.projectRoot), plan.env);
  const { parentRunId: _parent, experiment: _experiment, experimentId: _id, experimentName: _name, ...request } = plan.request;
  const opened = await openRun(store, {
    ...request,
    ...override,
    tags: [...request.tags.filter((tag) => tag.key !== 'mlflow.runName' || !override.runName), { key: OFFLINE_TAGS.server, value: server }, ...tags],
  });
  return { store, run: opened.info };
}
