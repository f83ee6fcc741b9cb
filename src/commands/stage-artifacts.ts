// A stage's files into its run when it ends: the declared outs, metrics and plots under their
// project-relative paths, and the command's output as mlrun/output.log.
import { collectOutputs, type ArtifactFile } from '../artifacts/collect.ts';
import { uploadArtifacts } from '../artifacts/upload.ts';
import { uploadWatched, type WatchOptions } from '../artifacts/watched-upload.ts';
import type { Stage } from '../dvc/index.ts';
import type { Reporter } from '../report.ts';
import type { Tag } from '../tracking/store.ts';
import type { Tracking } from './tracked-run.ts';

export const OUTPUT_LOG_ARTIFACT = 'mlrun/output.log';

/** The stage's declared outputs that exist, as artifacts; the missing ones as a tag. */
export async function declaredOutputs(stage: Stage, artifactRoot: string, reporter: Reporter): Promise<{ files: ArtifactFile[]; tags: Tag[] }> {
  const declared = [...stage.outs, ...stage.metrics, ...stage.plots].map((output) => output.path);
  const collected = await collectOutputs(artifactRoot, stage.wdir, declared);
  for (const warning of collected.warnings) reporter.warn(warning);
  for (const skipped of collected.skipped) reporter.info(`not uploaded: ${skipped}`);
  const { missing } = collected;
  return { files: collected.files, tags: missing.length > 0 ? [{ key: 'mlrun.missing_outputs', value: missing.join(', ') }] : [] };
}

/**
 * Uploads files into the run (see uploadWatched for the options). Files the server could not take
 * because it is gone go to the offline record instead.
 */
export async function uploadFiles(
  tracking: Tracking,
  files: ArtifactFile[],
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  options: WatchOptions = {},
): Promise<void> {
  if (files.length === 0 || options.hurry?.aborted) return;
  const result = await uploadWatched({ artifactUri: tracking.run.artifactUri, trackingUri: tracking.store.trackingUri, env, files }, options);
  reporter.info(`artifacts: ${result.uploaded} of ${files.length} files, ${result.bytes} bytes`);
  const reason = result.failures.at(-1) ?? 'no progress';
  if (result.pending.length > 0 && !options.hurry?.aborted && (await tracking.failover(reason))) {
    const local = await uploadArtifacts({ artifactUri: tracking.run.artifactUri, trackingUri: undefined, env, files: result.pending });
    for (const failure of local.failures) reporter.warn(failure);
    return;
  }
  for (const failure of result.failures) reporter.warn(failure);
}
