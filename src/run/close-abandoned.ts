// Finds the runs whose mlrun is gone and closes them (tracking/abandoned-runs.ts). Whether an
// mlrun is gone is known only on its own host: a run listed by another host sharing the project
// folder is closed only when `mlrun sync --force` takes it over.
import { processState, type ProcessIdentity } from '../process/process-identity.ts';
import { describeError, type Reporter } from '../report.ts';
import { closeAbandonedRun, type Closer } from '../tracking/abandoned-runs.ts';
import { liveRunsIn, removeLiveRun, storeKey } from '../tracking/live-runs.ts';
import type { RunInfo, Store } from '../tracking/store.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

/** How long an mlrun spends, at most, closing the abandoned runs it found (a slow server's answers included). */
export const CLOSING_BUDGET_MS = 10_000;

export interface OpenRun {
  runId: string;
  owner: ProcessIdentity;
  /** Milliseconds since the epoch. */
  lastActivity: number;
  /** Its entry in the list of open runs, taken off once the run is closed. */
  file?: string;
}

export interface Sweep {
  /** With the host they were taken over from, if another. */
  closed: { run: RunInfo; takenOverFrom?: string }[];
  /** Runs left open because their mlrun runs on another host. */
  elsewhere: number;
  /** One line each. */
  failures: string[];
}

/** Closes those of `runs` whose mlrun is gone, and with `force`, those of other hosts. */
export async function closeAbandoned(
  store: Store,
  runs: readonly OpenRun[],
  closer: Closer,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<Sweep> {
  const sweep: Sweep = { closed: [], elsewhere: 0, failures: [] };
  for (const open of runs) {
    const state = processState(open.owner);
    if (state === 'running') continue;
    if (state === 'elsewhere' && !options.force) {
      sweep.elsewhere += 1;
      continue;
    }
    if (options.signal?.aborted) break;
    try {
      const takeOver = state === 'elsewhere';
      const run = await closeAbandonedRun(store, open, takeOver ? 'mlrun sync --force' : closer, { signal: options.signal });
      if (open.file) removeLiveRun(open.file);
      if (run) sweep.closed.push({ run, ...(takeOver ? { takenOverFrom: open.owner.host } : {}) });
    } catch (error) {
      sweep.failures.push(`could not close abandoned run ${open.runId} in ${store.displayUri}: ${describeError(error)}`);
    }
  }
  return sweep;
}

/** How `mlrun sync` and --verbose say that a run was closed. */
export function closedLine({ run, takenOverFrom }: Sweep['closed'][number]): string {
  const why = takenOverFrom === undefined ? 'the mlrun that recorded it is gone' : `taken over from ${takenOverFrom}`;
  return `closed ${run.runName} (${run.runId}) as KILLED: ${why}`;
}

/**
 * Once the command runs (it never waits for this): closes, within a bounded time, the abandoned
 * runs of the store this mlrun writes to. Runs of other stores wait for an mlrun of theirs.
 */
export async function closeAbandonedBeside(tracking: Tracking, projectRoot: string, reporter: Reporter): Promise<void> {
  const listed = liveRunsIn(projectRoot, storeKey(tracking.target, projectRoot)).filter((entry) => entry.runId !== tracking.run.runId);
  if (listed.length === 0) return;
  const sweep = await closeAbandoned(tracking.store, listed, 'mlrun', { signal: AbortSignal.timeout(CLOSING_BUDGET_MS) });
  // Not the command's business, nor a problem of this run's (--strict): said only with --verbose.
  for (const closed of sweep.closed) reporter.info(`${closedLine(closed)} (in ${tracking.store.displayUri})`);
  for (const failure of sweep.failures) reporter.info(failure);
}
