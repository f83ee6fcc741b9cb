// Closes a run whose mlrun is gone without closing it: KILLED, as MLflow marks a run that did not
// end on its own, at the run's last sign of life rather than now, and tagged with what closed it.
import { closeRun } from './lifecycle.ts';
import type { CallOptions, RunInfo, Store } from './store.ts';

/**
 * Set on a run closed by someone else than the mlrun that opened it: `mlrun` (a later mlrun in the
 * project), `mlrun sync`, or `mlrun sync --force` (taken over from another host).
 */
const CLOSED_BY_TAG = 'mlrun.closed_by';

export type Closer = 'mlrun' | 'mlrun sync' | 'mlrun sync --force';

export interface AbandonedRun {
  runId: string;
  /** Milliseconds since the epoch. */
  lastActivity: number;
}

/**
 * Closes the run if it is still RUNNING and returns it; undefined when there was nothing to close:
 * the store no longer has it, or its mlrun did close it (and was killed only after that).
 */
export async function closeAbandonedRun(store: Store, run: AbandonedRun, closer: Closer, options: CallOptions = {}): Promise<RunInfo | undefined> {
  const found = await store.getRun(run.runId, options);
  if (!found || found.info.status !== 'RUNNING') return undefined;
  // Another host's clock may lag this one's: a run never ends before it started.
  const endTime = Math.max(run.lastActivity, found.info.startTime);
  await closeRun(store, run.runId, { status: 'KILLED', endTime, tags: [{ key: CLOSED_BY_TAG, value: closer }] }, options);
  return found.info;
}
