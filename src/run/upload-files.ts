// A run's files into its store, as a command runs it (progress, given up when stalled). Files the
// server did not take for a reason of its own wait in the offline record for `mlrun sync`.
import type { ArtifactFile } from '../artifacts/collect.ts';
import type { WatchOptions } from '../artifacts/watched-upload.ts';
import { describeError, type Reporter } from '../report.ts';
import { OFFLINE_DB } from '../tracking/offline-record.ts';
import { sameServerKey } from '../tracking/redact.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

/**
 * Uploads files into the run (see uploadWatched for the options). Files the server did not take
 * for a reason of its own go to the offline record for `mlrun sync`: with the rest of the run when
 * the server is gone, else alone, while the run stays on the server.
 */
export async function uploadFiles(
  tracking: Tracking,
  files: ArtifactFile[],
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  options: WatchOptions = {},
): Promise<void> {
  if (files.length === 0 || options.hurry?.aborted) return;
  // Loaded only when there are files: a stage without any never pays for the upload code (node:fs/promises among it).
  const [{ uploadWatched }, { uploadArtifacts }] = await Promise.all([import('../artifacts/watched-upload.ts'), import('../artifacts/upload.ts')]);
  const { artifactUri, runId } = tracking.run;
  const trackingUri = tracking.store.trackingUri;
  // Listed while it runs, for `mlrun sync` to finish should mlrun be killed meanwhile.
  const listing = { projectRoot: tracking.projectRoot, runId, server: sameServerKey(trackingUri) };
  // Uploads overlap the run's other calls: one of them may move the run offline, and these files follow it.
  const moved = tracking.store.onServer ? tracking.store.movedSignal : undefined;
  const watch = moved ? { ...options, hurry: options.hurry ? AbortSignal.any([options.hurry, moved]) : moved } : options;
  const result = await uploadWatched({ artifactUri, trackingUri, env, files, listing }, watch);
  reporter.info(`artifacts: ${result.uploaded} of ${files.length} files, ${result.bytes} bytes`);
  for (const failure of result.failures) reporter.warn(failure);
  if (result.pending.length === 0) return;
  const keep = options.hurry?.aborted ? undefined : await tracking.keepOffline(result.pendingFailures[0]!);
  if (!keep || 'error' in keep) {
    const why = keep ? `, and the local record failed too (${describeError(keep.error)})` : '';
    for (const failure of result.pendingFailures) reporter.warn(`${failure}${why}`);
    return;
  }
  const local = await uploadArtifacts({ artifactUri: keep.artifactUri, trackingUri: undefined, env, files: result.pending });
  const localFailures = [...local.failures, ...local.pendingFailures];
  // After a failover, its own line said where the rest of the run went.
  if (!keep.failedOver || localFailures.length > 0) {
    const where = localFailures.length === 0 ? `: kept in ${OFFLINE_DB}; 'mlrun sync' delivers it later` : '';
    for (const failure of result.pendingFailures) reporter.warn(`${failure}${where}`);
  }
  for (const failure of localFailures) reporter.warn(failure);
}
