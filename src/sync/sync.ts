// `mlrun sync`: delivers the runs recorded in `.mlrun/offline/mlflow.db` while their server could
// not be reached, to that server, exactly once (see tracking/offline-tags.ts for how), parents
// before children. `--dry-run` lists what is pending. Exit 0 when nothing is pending, else 1.
import fs from 'node:fs';
import path from 'node:path';
import { collectOutputs } from '../artifacts/collect.ts';
import { artifactDestination } from '../artifacts/destination.ts';
import { uploadWatched } from '../artifacts/watched-upload.ts';
import { findProjectRoot } from '../settings/project-root.ts';
import { UsageError } from '../settings/usage-error.ts';
import { workingFolder } from '../settings/working-folder.ts';
import { describeError, plural, Reporter } from '../report.ts';
import { TrackingError } from '../tracking/errors.ts';
import { openStore } from '../tracking/open-store.ts';
import { redactUri } from '../tracking/redact.ts';
import { secretsOf } from '../tracking/secrets.ts';
import { defaultArtifactRoot } from '../tracking/sqlite/location.ts';
import type { RunInfo, Store } from '../tracking/store.ts';
import { deliverRun, type UploadRunArtifacts } from './deliver.ts';
import { finishCutOffUploads, listCutOffUploads } from './cut-off-uploads.ts';
import { acquireLock } from './lock.ts';
import { planSync, readOfflineRuns, type OfflineRun, type PlannedRun } from './plan.ts';
import { SYNC_TAGS } from '../tracking/offline-tags.ts';
import { closeAbandonedOffline, closeAbandonedOnServer, otherHostsNote, recordedElsewhere, type SyncClosing } from './abandoned.ts';
import { OFFLINE_DB } from '../tracking/offline-record.ts';

export interface SyncOptions {
  trackingUri?: string;
  dryRun: boolean;
  /** Takes over the runs of other hosts: closes them KILLED, then delivers them. */
  force: boolean;
  verbose: boolean;
}

const SYNC_LOCK = path.join(path.dirname(OFFLINE_DB), 'sync.lock');

export async function syncCommand(options: SyncOptions): Promise<number> {
  const env = process.env;
  const reporter = new Reporter({ verbose: options.verbose, secrets: secretsOf(env) });
  const uri = options.trackingUri || env.MLFLOW_TRACKING_URI || undefined;
  if (uri !== undefined && !/^https?:\/\//i.test(uri)) {
    throw new UsageError(`mlrun sync delivers to an MLflow server: the tracking URI ${redactUri(uri)} is not http:// or https://`);
  }
  const projectRoot = findProjectRoot(workingFolder(), env);
  const dbPath = path.join(projectRoot, OFFLINE_DB);
  const closing = { projectRoot, env, force: options.force, reporter };
  // Looked for first: opening the store would create the file.
  if (!fs.existsSync(dbPath)) {
    const left = uri !== undefined && !options.dryRun ? await closeOnServer(uri, closing) : 0;
    let unfinished = 0;
    if (options.dryRun) unfinished = listCutOffUploads(projectRoot, uri, options.force, reporter);
    else if (uri !== undefined) unfinished = await finishCutOffUploads(uri, closing);
    reporter.say(`${unfinished > 0 ? '' : 'nothing pending: '}no runs were recorded offline in ${projectRoot}${otherHostsNote(left)}`);
    return unfinished > 0 ? 1 : 0;
  }
  const record = { store: await openStore({ kind: 'sqlite', dbPath }, env), dbPath };
  try {
    if (options.dryRun) {
      const unfinished = listCutOffUploads(projectRoot, uri, options.force, reporter);
      const code = await listPending(record, uri, reporter);
      return unfinished > 0 ? 1 : code;
    }
    if (uri === undefined) {
      throw new UsageError('mlrun sync needs the server to deliver to: set MLFLOW_TRACKING_URI or pass --tracking-uri http(s)://...');
    }
    const lock = acquireLock(path.join(projectRoot, SYNC_LOCK));
    if ('heldBy' in lock) {
      reporter.say(`another mlrun sync (pid ${lock.heldBy}) is delivering these runs; if it is not running, remove ${SYNC_LOCK}`);
      return 1;
    }
    try {
      const left = (await closeAbandonedOffline(record.store, dbPath, closing)) + (await closeOnServer(uri, closing));
      const unfinished = await finishCutOffUploads(uri, closing);
      const code = await deliverPending(record, uri, env, reporter, left);
      return unfinished > 0 ? 1 : code;
    } finally {
      lock.release();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // A record that cannot be read, or the database locked for minutes: one line, not a stack.
    reporter.warn(`sync stopped: ${describeError(error)}`);
    return 1;
  } finally {
    await record.store.close();
  }
}

/** The offline record: the store of the file at `dbPath`. */
interface OfflineRecord {
  store: Store;
  dbPath: string;
}

async function listPending(record: OfflineRecord, uri: string | undefined, reporter: Reporter): Promise<number> {
  const plan = planSync(await readOfflineRuns(record.store), uri);
  for (const entry of plan.pending) {
    const [metrics, recorded] = await Promise.all([record.store.countMetricPoints(entry.run.runId), record.store.getRun(entry.run.runId)]);
    const params = Object.keys(recorded?.params ?? {}).length;
    const artifacts = await countArtifacts(entry.run, record.dbPath);
    const note = pendingNote(entry, uri);
    reporter.say(
      `pending ${describeRun(entry.run)}: ${plural(metrics, 'metric')}, ${plural(params, 'param')}, ${plural(artifacts, 'artifact')}${note ? `; ${note}` : ''}`,
    );
  }
  reporter.say(summary(0, plan.pending.length, plan.delivered, uri, true));
  return plan.pending.length > 0 ? 1 : 0;
}

/** `othersLeft`: how many runs of other hosts were left open, for the last line. */
async function deliverPending(record: OfflineRecord, uri: string, env: NodeJS.ProcessEnv, reporter: Reporter, othersLeft: number): Promise<number> {
  const runs = await readOfflineRuns(record.store);
  const plan = planSync(runs, uri);
  if (plan.pending.length === 0) {
    reporter.say(summary(0, 0, plan.delivered, uri) + otherHostsNote(othersLeft));
    return 0;
  }
  // Credentials come from MLflow's variables now, at sync time: the record never holds any.
  let store: Store;
  try {
    store = await openStore({ kind: 'rest', uri }, env);
  } catch (error) {
    // Only a wrong URI or MLFLOW_* setting fails here: a mistake in how mlrun was invoked.
    throw new UsageError(describeError(error));
  }
  const serverIds = new Map<string, string>();
  for (const run of runs) {
    const id = run.tags[SYNC_TAGS.runId];
    if (id && run.tags[SYNC_TAGS.delivered] !== undefined) serverIds.set(run.runId, id);
  }
  reporter.info(`${plural(plan.pending.length, 'run')} pending, delivering to ${store.displayUri}`);
  const context = {
    record: record.store,
    store,
    uploadArtifacts: artifactUploader(record.dbPath, store, env, reporter),
  };
  let synced = 0;
  let unreachable: string | undefined;
  try {
    for (const entry of plan.pending) {
      if (unreachable !== undefined) continue;
      if (entry.verdict.kind !== 'deliver') {
        reporter.say(`left pending ${describeRun(entry.run)}: ${pendingNote(entry, uri)}`);
        continue;
      }
      let parentServerId: string | undefined;
      if (entry.parent?.offline) {
        parentServerId = serverIds.get(entry.parent.runId);
        if (parentServerId === undefined) {
          reporter.say(`left pending ${describeRun(entry.run)}: its parent ${entry.parent.runId} is not delivered yet`);
          continue;
        }
      } else {
        // A parent that lives on the server already (the run fell back while its pipeline did not).
        parentServerId = entry.parent?.runId;
      }
      const partly = entry.run.tags[SYNC_TAGS.runId];
      if (partly) reporter.info(`completing ${describeRun(entry.run)}, partly delivered as ${partly}`);
      try {
        const done = await deliverRun(context, entry, parentServerId);
        for (const warning of done.warnings) reporter.warn(`${describeRun(entry.run)}: ${warning}`);
        serverIds.set(entry.run.runId, done.serverRunId);
        synced += 1;
        reporter.say(
          `synced ${entry.run.runName} (${entry.run.runId} → ${done.serverRunId}): ${plural(done.metrics, 'metric')}, ${plural(done.params, 'param')}, ${plural(done.artifacts, 'artifact')}`,
        );
      } catch (error) {
        reporter.warn(`could not sync ${describeRun(entry.run)}: ${describeError(error)}`);
        // Every next run would wait through the same retries for the same answer.
        if (error instanceof TrackingError && error.unreachable) unreachable = store.displayUri;
      }
    }
  } finally {
    await store.close();
  }
  const pending = plan.pending.length - synced;
  if (unreachable !== undefined) reporter.say(`${unreachable} cannot be reached: the remaining runs stay pending`);
  reporter.say(summary(synced, pending, plan.delivered, store.displayUri) + otherHostsNote(othersLeft));
  return pending > 0 ? 1 : 0;
}

/** The server's abandoned runs are closed as well as the record's; failing that, the record is still delivered. */
async function closeOnServer(uri: string, closing: SyncClosing): Promise<number> {
  try {
    return await closeAbandonedOnServer(uri, closing);
  } catch (error) {
    closing.reporter.warn(`could not close the abandoned runs in ${redactUri(uri)}: ${describeError(error)}`);
    return 0;
  }
}

/** Uploads the offline run's artifact folder into the server copy's artifact location. */
function artifactUploader(dbPath: string, store: Store, env: NodeJS.ProcessEnv, reporter: Reporter): UploadRunArtifacts {
  return async (run: OfflineRun, remote: RunInfo) => {
    const folder = localArtifactFolder(run, dbPath);
    if ('failure' in folder) return folder;
    if (folder.dir === undefined) return { count: 0 };
    const collected = await collectOutputs(folder.dir, folder.dir, ['.']);
    for (const warning of collected.warnings) reporter.warn(`${describeRun(run)}: ${warning}`);
    if (collected.files.length === 0) return { count: 0 };
    const result = await uploadWatched({ artifactUri: remote.artifactUri, trackingUri: store.trackingUri, env, files: collected.files });
    const failures = [...result.failures, ...result.pendingFailures];
    if (failures.length > 0) return { failure: failures.join('; ') };
    return { count: result.uploaded };
  };
}

/**
 * The run's artifact folder in the record. The record stores it as an absolute path; a project
 * that was moved (or synced from a copy) finds it at the same place beside the moved database.
 * No folder means the run has no artifacts.
 */
function localArtifactFolder(run: OfflineRun, dbPath: string): { dir: string | undefined } | { failure: string } {
  const destination = artifactDestination(run.artifactUri, undefined, path.dirname(dbPath));
  if (destination.kind !== 'local') {
    return { failure: `its artifact location ${redactUri(run.artifactUri)} is not a local folder, which is where mlrun records artifacts offline` };
  }
  const beside = path.join(defaultArtifactRoot(dbPath), run.experimentId, run.runId, 'artifacts');
  const dir = [destination.dir, beside].find((candidate) => fs.existsSync(candidate));
  return { dir };
}

async function countArtifacts(run: OfflineRun, dbPath: string): Promise<number> {
  const folder = localArtifactFolder(run, dbPath);
  if ('failure' in folder || folder.dir === undefined) return 0;
  return (await collectOutputs(folder.dir, folder.dir, ['.'])).files.length;
}

/** Why a run is not sent now, or undefined when it is. */
function pendingNote(entry: PlannedRun, uri: string | undefined): string | undefined {
  const { verdict } = entry;
  const partly = entry.run.tags[SYNC_TAGS.runId];
  switch (verdict.kind) {
    case 'running':
      return recordedElsewhere(entry.run) ? `its mlrun runs on ${entry.run.tags['mlrun.host']}` : 'its mlrun is still running';
    case 'other-server':
      return `recorded for ${verdict.server}, not ${redactUri(uri ?? '')}: sync with MLFLOW_TRACKING_URI=${verdict.server}`;
    case 'waiting':
      return `its parent ${verdict.parentRunId} is not delivered yet`;
    case 'deliver':
      return partly ? `partly delivered as ${partly}` : undefined;
  }
}

function summary(synced: number, pending: number, earlier: number, uri: string | undefined, dryRun = false): string {
  const before = earlier > 0 ? ` (${plural(earlier, 'run')} delivered earlier)` : '';
  if (dryRun) return pending === 0 ? `nothing pending${before}` : `${plural(pending, 'run')} pending; 'mlrun sync' delivers ${pending === 1 ? 'it' : 'them'}`;
  const rest = pending === 0 ? 'nothing pending' : `${plural(pending, 'run')} still pending`;
  if (synced === 0) return pending === 0 ? `nothing pending${before}` : rest;
  return `synced ${plural(synced, 'run')} to ${redactUri(uri ?? '')}; ${rest}`;
}

function describeRun(run: OfflineRun): string {
  return `${run.runName} (${run.runId})`;
}
