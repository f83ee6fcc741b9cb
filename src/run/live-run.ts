// Keeps a tracked command's run in the project's list of open runs (tracking/live-runs.ts) while
// mlrun has it open: listed once the command started, touched on a timer as the run's sign of
// life, moved along when the run fails over to the offline record, and taken off once mlrun closed
// the run. Should mlrun be killed, the entry is how a later mlrun or `mlrun sync` finds the run.
import { thisProcess, type ProcessIdentity } from '../process/process-identity.ts';
import { describeError, type Reporter } from '../report.ts';
import { addLiveRun, removeLiveRun, storeKey, touchLiveRun } from '../tracking/live-runs.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

/** How often the entry is touched: a killed run's end time is at most this much before its death. */
const SIGN_OF_LIFE_MS = 5000;

class LiveRun {
  readonly #tracking: Tracking;
  readonly #projectRoot: string;
  readonly #owner: ProcessIdentity;
  readonly #timer: NodeJS.Timeout;
  #runId: string;
  #file: string;

  /** Throws when the entry cannot be written (a read-only project). */
  constructor(tracking: Tracking, projectRoot: string) {
    this.#tracking = tracking;
    this.#projectRoot = projectRoot;
    this.#owner = thisProcess();
    this.#runId = tracking.run.runId;
    this.#file = this.#add();
    // Never what keeps mlrun alive.
    this.#timer = setInterval(() => this.#signOfLife(), SIGN_OF_LIFE_MS).unref();
  }

  /** The run is closed: nobody needs to find it any more. */
  end(): void {
    clearInterval(this.#timer);
    removeLiveRun(this.#file);
  }

  #add(): string {
    return addLiveRun(this.#projectRoot, {
      runId: this.#tracking.run.runId,
      store: storeKey(this.#tracking.target, this.#projectRoot),
      owner: this.#owner,
    });
  }

  #signOfLife(): void {
    try {
      if (this.#tracking.run.runId === this.#runId) {
        touchLiveRun(this.#file);
        return;
      }
      // The run failed over to the offline record: what is left open is the offline copy.
      const moved = this.#add();
      removeLiveRun(this.#file);
      this.#file = moved;
      this.#runId = this.#tracking.run.runId;
    } catch {
      // The project's folder went away or became read-only: the next period tries again.
    }
  }
}

/** The run's entry, or undefined (said with --verbose) when the project's folder cannot take it. */
export function listLiveRun(tracking: Tracking, projectRoot: string, reporter: Reporter): LiveRun | undefined {
  try {
    return new LiveRun(tracking, projectRoot);
  } catch (error) {
    reporter.info(`cannot list run ${tracking.run.runId} as open (${describeError(error)}): should mlrun be killed, nothing will close it`);
    return undefined;
  }
}
