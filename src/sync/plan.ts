// Decides, from the offline record alone, what `mlrun sync` does with each run and in which order:
// parents before their children, otherwise in the order the runs were recorded.
import { redactUri, sameServerKey } from '../tracking/redact.ts';
import type { RunInfo, Store } from '../tracking/store.ts';
import { OFFLINE_TAGS, PARENT_TAG, SYNC_TAGS } from '../tracking/offline-tags.ts';

/** A run of the record with its tags: what the plan is made of. */
export interface OfflineRun extends RunInfo {
  tags: Record<string, string>;
}

export type Verdict =
  /** to send now (maybe partly sent already) */
  | { kind: 'deliver' }
  /** its mlrun is still running: its data is not complete yet */
  | { kind: 'running' }
  /** recorded for a server other than the one synced to */
  | { kind: 'other-server'; server: string }
  /** its parent is an offline run that is not being delivered in this sync */
  | { kind: 'waiting'; parentRunId: string };

export interface PlannedRun {
  run: OfflineRun;
  verdict: Verdict;
  /** The parent as recorded: an offline run (remapped once delivered) or a run of the server. */
  parent?: { offline: true; runId: string } | { offline: false; runId: string };
  /** The server the run was recorded for (redacted), its own or its offline parent's. */
  server?: string;
}

export interface SyncPlan {
  /** Not yet delivered, in delivery order. */
  pending: PlannedRun[];
  /** Delivered by an earlier sync. */
  delivered: number;
}

/**
 * `target` is the tracking URI synced to; undefined lists the runs without judging their server
 * (a dry run without MLFLOW_TRACKING_URI).
 */
export function planSync(runs: readonly OfflineRun[], target: string | undefined): SyncPlan {
  const byId = new Map(runs.map((run) => [run.runId, run]));
  const wanted = target === undefined ? undefined : sameServerKey(target);
  const planned = new Map<string, PlannedRun>();
  let delivered = 0;

  // A child written by an mlrun inside an offline pipeline went straight into the offline record
  // (its MLFLOW_TRACKING_URI pointed there), so only the pipeline's run carries the server: the
  // child is meant for its parent's.
  const serverOf = (run: OfflineRun, seen: Set<string>): string | undefined => {
    const own = run.tags[OFFLINE_TAGS.server];
    if (own) return own;
    const parent = offlineParent(run, byId);
    if (!parent || seen.has(parent.runId)) return undefined;
    seen.add(parent.runId);
    return serverOf(parent, seen);
  };

  for (const run of runs) {
    // A run deleted in the record (e.g. from `mlflow ui`) was given up by its user.
    if (run.lifecycleStage !== 'active') continue;
    if (run.tags[SYNC_TAGS.delivered] !== undefined) {
      delivered += 1;
      continue;
    }
    const parentId = parentRefOf(run);
    const server = serverOf(run, new Set([run.runId]));
    const entry: PlannedRun = {
      run,
      verdict: { kind: 'deliver' },
      // An offline parent deleted from the record no longer gets a server id: the run then names
      // it as it is, and openRun records the run without a parent, with a warning.
      ...(parentId ? { parent: { offline: byId.get(parentId)?.lifecycleStage === 'active', runId: parentId } } : {}),
      ...(server ? { server: redactUri(server) } : {}),
    };
    if (run.status === 'RUNNING') entry.verdict = { kind: 'running' };
    // A run with no server anywhere up its chain was put into the record directly: the record
    // exists only to be delivered, so it goes to whichever server is synced to.
    else if (wanted !== undefined && server !== undefined && sameServerKey(server) !== wanted) {
      entry.verdict = { kind: 'other-server', server: redactUri(server) };
    }
    planned.set(run.runId, entry);
  }

  // Parents first (depth-first from each run in recorded order), and a child of an offline parent
  // that is not delivered now waits for it.
  const order: PlannedRun[] = [];
  const placed = new Set<string>();
  const place = (entry: PlannedRun, path: Set<string>): void => {
    if (placed.has(entry.run.runId)) return;
    const parent = entry.parent?.offline ? planned.get(entry.parent.runId) : undefined;
    // A parent chain that loops (only a hand-edited record could hold one) is cut where it closes.
    if (parent && !path.has(parent.run.runId)) {
      place(parent, new Set([...path, entry.run.runId]));
      if (entry.verdict.kind === 'deliver' && parent.verdict.kind !== 'deliver') {
        entry.verdict = { kind: 'waiting', parentRunId: parent.run.runId };
      }
    }
    placed.add(entry.run.runId);
    order.push(entry);
  };
  for (const entry of planned.values()) place(entry, new Set());
  return { pending: order, delivered };
}

/** Every run of the record (`record`: the store of the offline record), in the order recorded. */
export async function readOfflineRuns(record: Store): Promise<OfflineRun[]> {
  return (await record.searchRuns('all')).map((run) => ({ ...run.info, tags: run.tags }));
}

/** The parent the run names: MLflow's tag, else the one it asked for when it fell back offline. */
function parentRefOf(run: OfflineRun): string | undefined {
  return run.tags[PARENT_TAG] || run.tags[OFFLINE_TAGS.parentRunId] || undefined;
}

function offlineParent(run: OfflineRun, byId: Map<string, OfflineRun>): OfflineRun | undefined {
  const id = parentRefOf(run);
  return id ? byId.get(id) : undefined;
}
