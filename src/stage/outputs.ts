// A stage's files for its run when it ends: the declared outs, metrics and plots under their
// project-relative paths, and the command's output as mlrun/output.log.
import type { ArtifactFile } from '../artifacts/collect.ts';
import type { Stage } from '../dvc/stage.ts';
import type { Reporter } from '../report.ts';
import type { Tag } from '../tracking/store.ts';

export const OUTPUT_LOG_ARTIFACT = 'mlrun/output.log';

/** The stage's declared outputs that exist, as artifacts; the missing ones as a tag. */
export async function declaredOutputs(stage: Stage, artifactRoot: string, reporter: Reporter): Promise<{ files: ArtifactFile[]; tags: Tag[] }> {
  const declared = [...stage.outs, ...stage.metrics, ...stage.plots].map((output) => output.path);
  if (declared.length === 0) return { files: [], tags: [] };
  // Loaded only for a stage with outputs: the walk's code (node:fs/promises among it) is not start-up's.
  const { collectOutputs } = await import('../artifacts/collect.ts');
  const collected = await collectOutputs(artifactRoot, stage.wdir, declared);
  for (const warning of collected.warnings) reporter.warn(warning);
  for (const skipped of collected.skipped) reporter.info(`not uploaded: ${skipped}`);
  const { missing } = collected;
  return { files: collected.files, tags: missing.length > 0 ? [{ key: 'mlrun.missing_outputs', value: missing.join(', ') }] : [] };
}
