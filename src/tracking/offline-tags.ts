// The tags that record, on each offline run, how far `mlrun sync` delivered it. Each is written
// right after the step it records succeeded on the server, so an interrupted sync resumes where it
// stopped instead of starting over. They are tags of MLflow's own `tags` table, so the record stays
// a plain MLflow database, and the embedded store commits them durably (synchronous=FULL): a mark
// survives even a power cut once written, where a lost one would mean a repeat.
//
// - CREATING: written just before runs/create. A kill after the server created the run but before
//   RUN_ID was written leaves CREATING without RUN_ID: the next sync then looks for the copy on the
//   server (by its SYNCED_FROM tag) before creating one, so even that window yields no duplicate.
// - RUN_ID: the server's run id, written as soon as the server created the run. Without it a new
//   sync would create a second copy; with it, the run is reopened and completed.
// - PARAMS / INPUTS / ARTIFACTS: those were delivered (their count). Re-sending any of them is
//   harmless anyway (a param with the same value, a dataset already linked and a file PUT to the
//   same path change nothing), so only the marks' absence costs a repeat, never a duplicate.
// - METRICS_ROWID: the position after the last metric point delivered (`Store.metricPoints`), which
//   for the record's store is that point's rowid: points go in the order written. A kill between a
//   batch's delivery and its mark re-sends that one batch; MLflow's SQL store silently drops a
//   point identical to one it holds (key, value, timestamp, step), so no point is ever doubled.
// - DELIVERED: the server the run was completed on, after runs/update set its status and end time.
//   A run with it is no longer pending.
export const SYNC_TAG_PREFIX = 'mlrun.sync.';
export const OFFLINE_TAG_PREFIX = 'mlrun.offline.';

export const SYNC_TAGS = {
  creating: 'mlrun.sync.creating',
  runId: 'mlrun.sync.run_id',
  params: 'mlrun.sync.params',
  inputs: 'mlrun.sync.inputs',
  metricsRowid: 'mlrun.sync.metrics_rowid',
  artifacts: 'mlrun.sync.artifacts',
  delivered: 'mlrun.sync.delivered',
} as const;

/** Set by the run's fallback (tracking/tracked-run.ts): the server it was meant for, its parent and experiment there. */
export const OFFLINE_TAGS = {
  server: 'mlrun.offline.server',
  parentRunId: 'mlrun.offline.parent_run_id',
  experiment: 'mlrun.offline.experiment',
} as const;

/** On the server's copy: the offline run it came from (also how a lost RUN_ID mark is recovered). */
export const SYNCED_FROM_TAG = 'mlrun.synced_from';

export const PARENT_TAG = 'mlflow.parentRunId';
