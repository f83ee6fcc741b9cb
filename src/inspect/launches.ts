// Runs as launches: the parent of each `mlrun pipeline` launch (tag `mlrun.role`) with its stages
// (the children, `mlflow.parentRunId`) in the order they started, then the stages DVC skipped
// (the parent's `dvc.skipped_stages`, in dvc.yaml's order). A run with no parent among those read
// stands alone.
import type { Run } from '../tracking/store.ts';
import type { ShownStatus } from './format.ts';

export interface Stage {
  name: string;
  status: ShownStatus;
  /** Absent for a skipped stage. */
  run?: Run;
  /** A skipped stage: the run that made its current outputs, null when unknown. */
  producedBy?: string | null;
}

export interface Entry {
  run: Run;
  /** Empty for a run that is not a launch. */
  stages: Stage[];
}

/** Launches and standalone runs, newest first. */
export function groupLaunches(runs: Run[]): Entry[] {
  const ids = new Set(runs.map((run) => run.info.runId));
  const children = new Map<string, Run[]>();
  const top: Run[] = [];
  for (const run of runs) {
    const parent = run.tags['mlflow.parentRunId'];
    if (parent && ids.has(parent)) children.set(parent, [...(children.get(parent) ?? []), run]);
    else top.push(run);
  }
  return top
    .map((run) => ({ run, stages: [...ranStages(children.get(run.info.runId) ?? []), ...skippedStages(run)] }))
    .sort((a, b) => b.run.info.startTime - a.run.info.startTime);
}

export function isLaunch(run: Run): boolean {
  return run.tags['mlrun.role'] === 'pipeline' || run.tags['mlrun.role'] === 'experiment';
}

function ranStages(children: Run[]): Stage[] {
  return [...children]
    .sort((a, b) => a.info.startTime - b.info.startTime)
    .map((run) => ({ name: run.info.runName, status: run.info.status, run }));
}

function skippedStages(parent: Run): Stage[] {
  const tag = parent.tags['dvc.skipped_stages'];
  if (!tag) return [];
  let skipped: unknown;
  try {
    skipped = JSON.parse(tag);
  } catch {
    return [];
  }
  if (typeof skipped !== 'object' || skipped === null) return [];
  return Object.entries(skipped).map(([name, producedBy]) => ({
    name,
    status: 'SKIPPED' as const,
    producedBy: typeof producedBy === 'string' ? producedBy : null,
  }));
}
