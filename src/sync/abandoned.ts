// What `mlrun sync` does first: close the runs whose mlrun is gone, in the offline record (else
// they would stay pending forever) and on the server it syncs to. A run whose mlrun ran on another
// host sharing the project folder cannot be checked from here: `--force` takes it over.
import os from 'node:os';
import { plural, type Reporter } from '../report.ts';
import { liveRunsIn, storeKey } from '../tracking/live-runs.ts';
import { openStore } from '../tracking/open-store.ts';
import type { Store } from '../tracking/store.ts';
import { readOfflineRuns, type OfflineRun } from './plan.ts';
import { sameServerKey } from '../tracking/redact.ts';
import { CLOSING_BUDGET_MS, closeAbandoned, closedLine, type OpenRun, type Sweep } from '../run/close-abandoned.ts';

export interface SyncClosing {
  projectRoot: string;
  env: NodeJS.ProcessEnv;
  force: boolean;
  reporter: Reporter;
}

/**
 * Closes the abandoned runs of the offline record (`record`, the store of the file at `dbPath`);
 * returns how many of other hosts it left.
 */
export async function closeAbandonedOffline(record: Store, dbPath: string, closing: SyncClosing): Promise<number> {
  const listed = liveRunsIn(closing.projectRoot, storeKey({ kind: 'sqlite', dbPath }, closing.projectRoot));
  const listedIds = new Set(listed.map((entry) => entry.runId));
  const unlisted = (await readOfflineRuns(record)).filter((run) => run.status === 'RUNNING' && !listedIds.has(run.runId)).map(ownerByTags);
  if (listed.length + unlisted.length === 0) return 0;
  return report(await closeAbandoned(record, [...listed, ...unlisted], 'mlrun sync', closing), closing.reporter);
}

/** Closes the abandoned runs listed for the server at `uri`; returns how many of other hosts it left. */
export async function closeAbandonedOnServer(uri: string, closing: SyncClosing): Promise<number> {
  const listed = liveRunsIn(closing.projectRoot, sameServerKey(uri));
  if (listed.length === 0) return 0;
  const store = await openStore({ kind: 'rest', uri }, closing.env);
  try {
    const signal = AbortSignal.timeout(CLOSING_BUDGET_MS);
    return report(await closeAbandoned(store, listed, 'mlrun sync', { ...closing, signal }), closing.reporter);
  } finally {
    await store.close();
  }
}

/** The part of sync's last line about runs of other hosts, empty when there are none. */
export function otherHostsNote(left: number): string {
  if (left === 0) return '';
  return `; ${plural(left, 'run')} of another host left running: 'mlrun sync --force' takes ${left === 1 ? 'it' : 'them'} over`;
}

/** Whether the run's mlrun ran on another host (its tag, set on every run mlrun opens). */
export function recordedElsewhere(run: OfflineRun): boolean {
  return run.tags['mlrun.host'] !== undefined && run.tags['mlrun.host'] !== os.hostname();
}

/**
 * A RUNNING run of the record that no entry lists: its mlrun was killed before it could list the
 * run (before the command started), or was an mlrun that kept no list. Its tags still name the
 * mlrun; its start is the only sign of life there is.
 */
function ownerByTags(run: OfflineRun): OpenRun {
  return { runId: run.runId, owner: { host: run.tags['mlrun.host'] ?? '', pid: Number(run.tags['mlrun.pid']) }, lastActivity: run.startTime };
}

function report(sweep: Sweep, reporter: Reporter): number {
  for (const closed of sweep.closed) reporter.say(closedLine(closed));
  for (const failure of sweep.failures) reporter.warn(failure);
  return sweep.elsewhere;
}
