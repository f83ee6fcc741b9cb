// Delivers one offline run to the server, step by step, each step recorded in the offline record
// once the server has it (see tracking/offline-tags.ts), so that a sync interrupted anywhere and
// started again completes the same copy instead of making a second one. The order is the one a
// live run has: the run with its original start time and tags, then params and dataset inputs, the
// metric points in the order they were written, the artifacts, and last its status and end time.
// The record is read and marked through its Store, as any store is.
import { isNotFound } from '../tracking/errors.ts';
import { DEFAULT_EXPERIMENT_ID, openRun } from '../tracking/lifecycle.ts';
import { MAX_METRICS_PER_BATCH } from '../tracking/limits.ts';
import type { RunInfo, Store, Tag } from '../tracking/store.ts';
import type { OfflineRun, PlannedRun } from './plan.ts';
import { OFFLINE_TAG_PREFIX, OFFLINE_TAGS, PARENT_TAG, SYNC_TAG_PREFIX, SYNC_TAGS, SYNCED_FROM_TAG } from '../tracking/offline-tags.ts';

export type UploadRunArtifacts = (run: OfflineRun, remote: RunInfo) => Promise<{ count: number } | { failure: string }>;

export interface DeliveryContext {
  /** The store of the offline record. */
  record: Store;
  store: Store;
  uploadArtifacts: UploadRunArtifacts;
}

export interface DeliveredRun {
  serverRunId: string;
  metrics: number;
  params: number;
  artifacts: number;
  /** One line each, for the user: the run was still delivered. */
  warnings: string[];
}

/**
 * `parentServerId`: the server's id of the run's parent (an offline parent already delivered, or
 * the server run it was started under). Throws when a step fails; what was done stays recorded.
 */
export async function deliverRun(context: DeliveryContext, planned: PlannedRun, parentServerId: string | undefined): Promise<DeliveredRun> {
  const { record, store } = context;
  const { run } = planned;
  const marks: Record<string, string> = { ...run.tags };
  const mark = async (tags: Tag[]) => {
    // The embedded store commits tags durably (see offline-tags.ts).
    await record.logBatch(run.runId, { tags });
    for (const tag of tags) marks[tag.key] = tag.value;
  };
  const warnings: string[] = [];

  const remote = await remoteRun(context, planned, parentServerId, marks, mark, warnings);

  const recorded = await record.getRun(run.runId);
  if (!recorded) throw new Error(`the run ${run.runId} is gone from the offline record`);
  const params = Object.entries(recorded.params).map(([key, value]) => ({ key, value }));
  if (marks[SYNC_TAGS.params] === undefined) {
    if (params.length > 0) await store.logBatch(remote.runId, { params });
    await mark([{ key: SYNC_TAGS.params, value: String(params.length) }]);
  }

  if (marks[SYNC_TAGS.inputs] === undefined) {
    const { inputs } = recorded;
    if (inputs.length > 0) await store.logInputs(remote.runId, inputs);
    await mark([{ key: SYNC_TAGS.inputs, value: String(inputs.length) }]);
  }

  for (;;) {
    const page = await record.metricPoints(run.runId, marks[SYNC_TAGS.metricsRowid], MAX_METRICS_PER_BATCH);
    if (page.metrics.length === 0 || page.next === undefined) break;
    await store.logBatch(remote.runId, { metrics: page.metrics });
    await mark([{ key: SYNC_TAGS.metricsRowid, value: page.next }]);
  }

  let artifacts = Number(marks[SYNC_TAGS.artifacts] ?? 0);
  if (marks[SYNC_TAGS.artifacts] === undefined) {
    const uploaded = await context.uploadArtifacts(run, remote);
    if ('failure' in uploaded) throw new Error(uploaded.failure);
    artifacts = uploaded.count;
    await mark([{ key: SYNC_TAGS.artifacts, value: String(artifacts) }]);
  }

  // Last, as a live run ends: a run that shows its final status on the server holds everything.
  await store.updateRun(remote.runId, { status: run.status, endTime: run.endTime ?? run.startTime });
  await mark([{ key: SYNC_TAGS.delivered, value: store.displayUri }]);

  return { serverRunId: remote.runId, metrics: await record.countMetricPoints(run.runId), params: params.length, artifacts, warnings };
}

/** The server's copy of the run: the one recorded, the one a killed sync left, or a new one. */
async function remoteRun(
  context: DeliveryContext,
  planned: PlannedRun,
  parentServerId: string | undefined,
  marks: Record<string, string>,
  mark: (tags: Tag[]) => Promise<void>,
  warnings: string[],
): Promise<RunInfo> {
  const { record, store } = context;
  const { run } = planned;

  const recorded = marks[SYNC_TAGS.runId];
  if (recorded) {
    const existing = await store.getRun(recorded);
    if (existing?.info.lifecycleStage === 'active') {
      // Its tags again (upserts, harmless): a run moved offline halfway (the server was lost
      // after creating it) has its closing tags, such as mlrun.exit_code, only here.
      await store.logBatch(existing.info.runId, { tags: remoteTags(run) });
      return existing.info;
    }
    // Someone deleted the partial copy (or the server lost it): its marks describe nothing.
    warnings.push(`its partial copy ${recorded} is ${existing ? 'deleted' : 'gone'} on the server: sending the run again`);
    const stale = Object.keys(marks).filter((key) => key.startsWith(SYNC_TAG_PREFIX));
    for (const key of stale) await record.deleteTag(run.runId, key);
    for (const key of stale) delete marks[key];
  } else if (marks[SYNC_TAGS.creating]) {
    // Killed between runs/create and writing down the new run's id: the copy carries the offline run's id.
    const [found] = await store.findRunsByTag(await candidateExperiments(store, run, parentServerId), { key: SYNCED_FROM_TAG, value: run.runId });
    const existing = found ? await store.getRun(found) : undefined;
    if (existing?.info.lifecycleStage === 'active') {
      await mark([{ key: SYNC_TAGS.runId, value: existing.info.runId }]);
      return existing.info;
    }
  }

  await mark([{ key: SYNC_TAGS.creating, value: String(Date.now()) }]);
  const opened = await openRun(store, {
    parentRunId: parentServerId,
    experiment: run.tags[OFFLINE_TAGS.experiment] || undefined,
    runName: run.runName,
    userId: run.userId,
    tags: remoteTags(run),
    startTime: run.startTime,
  });
  warnings.push(...opened.warnings);
  await mark([{ key: SYNC_TAGS.runId, value: opened.info.runId }]);
  return opened.info;
}

/** The run's tags as the server gets them: its own, without the record's bookkeeping. */
function remoteTags(run: OfflineRun): Tag[] {
  const tags = Object.entries(run.tags)
    .filter(([key]) => !key.startsWith(OFFLINE_TAG_PREFIX) && !key.startsWith(SYNC_TAG_PREFIX) && key !== PARENT_TAG)
    .map(([key, value]) => ({ key, value }));
  // openRun adds mlflow.parentRunId with the server's id of the parent.
  return [...tags, { key: SYNCED_FROM_TAG, value: run.runId }];
}

/**
 * Where openRun may have put the copy: the parent's experiment, the one the run asked for (by id
 * or name), or Default. All are searched at once, so their precedence does not matter here.
 */
async function candidateExperiments(store: Store, run: OfflineRun, parentServerId: string | undefined): Promise<string[]> {
  const ids = [DEFAULT_EXPERIMENT_ID];
  if (parentServerId) {
    const parent = await store.getRun(parentServerId);
    if (parent) ids.push(parent.info.experimentId);
  }
  const asked = run.tags[OFFLINE_TAGS.experiment];
  if (asked) {
    const byId = await store.getExperiment(asked).catch((error: unknown) => {
      if (isNotFound(error) || (error as { errorCode?: string }).errorCode === 'INVALID_PARAMETER_VALUE') return undefined;
      throw error;
    });
    if (byId) ids.push(byId.experimentId);
    const byName = await store.getExperimentByName(asked);
    if (byName) ids.push(byName.experimentId);
  }
  return ids;
}
