// What a pipeline launch's parent run records once DVC is done, whoever holds the parent: `mlrun
// pipeline` after its command, or the watcher of a plain `dvc repro` (launch-watcher.ts) after
// the dvc process is gone. The launch's summary (summary.ts: every stage's params, every metrics
// file), its definition (dvc.yaml and params files at the values used, after `dvc exp run -S`)
// and dvc.lock, the stages DVC skipped; the children get the data hashes they consumed and
// produced. A launch in which nothing ran leaves no run in MLflow's default view.
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFile } from '../artifacts/collect.ts';
import { Project } from '../dvc/project.ts';
import { TrackedData } from '../dvc/tracked-data.ts';
import { describeError, type Reporter } from '../report.ts';
import type { Tag } from '../tracking/store.ts';
import {
  appendLineageIndex,
  lineageInputs,
  lineageTags,
  lockFiles,
  outsDigest,
  pipelineDefinitionFiles,
  readLineageIndex,
  readLocks,
  recordedWithLocks,
  relative,
  skippedStages,
} from './lineage.ts';
import { readStageRuns, removeStageRuns, type StageRunRecord } from './stage-records.ts';
import { logSummary } from './summary.ts';
import { settleAll } from '../run/settle.ts';
import { uploadFiles } from '../run/upload-files.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

export interface Launch {
  projectRoot: string;
  /** The DVC project the launch ran in; undefined when the command was not run in one. */
  dvcRoot: string | undefined;
  /** Whether the launched command is `dvc` itself (not a script that calls it). */
  launchedDvc: boolean;
  succeeded: boolean;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  hurry?: AbortSignal;
}

export interface LaunchEnd {
  /** Tags to close the parent with. */
  tags: Tag[];
  /** Why the parent holds nothing worth showing (it is deleted once closed), or undefined. */
  discardReason?: string;
}

/** Records the end of the launch whose parent is `tracking`'s run, before that run is closed. */
export async function recordLaunchEnd(tracking: Tracking, launch: Launch): Promise<LaunchEnd> {
  const { projectRoot, dvcRoot, reporter } = launch;
  const records = readStageRuns(projectRoot, tracking.run.runId);
  removeStageRuns(projectRoot, tracking.run.runId);
  if (!dvcRoot) return { tags: [] };
  // DVC ran no stage (wrapped stages record themselves; any stage that ran rewrites
  // dvc.lock): an up-to-date `dvc repro` is not worth a run. A failed launch is, and so is
  // any other command, whose children (`sh -c 'mlrun -- …'`) need not be DVC stages.
  const nothingRan = records.length === 0 && launch.launchedDvc && !lockWrittenSince(dvcRoot, tracking.run.startTime);
  if (launch.succeeded && nothingRan) return { tags: [], discardReason: 'no stage ran' };
  let definitions: string[];
  try {
    definitions = pipelineDefinitionFiles(dvcRoot);
  } catch (error) {
    // DVC said so too, and failed.
    reporter.warn(`cannot read the DVC pipeline (${describeError(error)}): the run is tracked without the pipeline's params, metrics, files, dvc.lock and lineage`);
    return { tags: [] };
  }
  // Queued and `--temp` experiments run in copies of the project that DVC removes: the
  // workspace holds neither their params, files nor metrics, and which stages they skipped
  // is theirs to say.
  const inWorkspace = records.every((record) => path.resolve(record.dvcRoot) === path.resolve(dvcRoot));
  const lineage = recordLineage(tracking, records, dvcRoot, projectRoot, inWorkspace, reporter);
  if (!inWorkspace) return { tags: await lineage };
  // Side by side: the children's lineage, the summary and the files are independent requests.
  await settleAll([
    lineage,
    logSummary(tracking, dvcRoot, reporter),
    // Read now, not when DVC starts: `dvc exp run -S` writes the params files first.
    uploadFiles(tracking, asArtifacts(dvcRoot, [...definitions, ...lockFiles(dvcRoot)]), launch.env, reporter, { hurry: launch.hurry }),
  ]);
  return { tags: await lineage };
}

function lockWrittenSince(dvcRoot: string, startTime: number): boolean {
  return lockFiles(dvcRoot).some((file) => (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= startTime);
}

async function recordLineage(
  tracking: Tracking,
  records: StageRunRecord[],
  dvcRoot: string,
  projectRoot: string,
  inWorkspace: boolean,
  reporter: Reporter,
): Promise<Tag[]> {
  const { store } = tracking;
  let locks;
  try {
    locks = readLocks(dvcRoot);
  } catch (error) {
    reporter.warn(`cannot read dvc.lock: ${describeError(error)}: no lineage recorded`);
    return [];
  }
  const children = recordedWithLocks(records, dvcRoot, locks);
  const data = new TrackedData(new Project(dvcRoot));
  // Each child's two calls together, but one child after the other: MLflow creates a dataset two
  // children share when the first logs it, and two creating it at once fail its unique constraint.
  for (const { record, lock } of children) {
    try {
      const inputs = lineageInputs(lock, (dep) => data.isData(record.dvcYaml, record.stage, dep));
      // An empty list would record nothing.
      await settleAll([store.logBatch(record.runId, { tags: lineageTags(lock) }), inputs.length > 0 ? store.logInputs(record.runId, inputs) : undefined]);
    } catch (error) {
      reporter.warn(`could not record the data of run ${record.runId}: ${describeError(error)}`);
    }
  }
  const index = readLineageIndex(projectRoot);
  appendLineageIndex(
    projectRoot,
    children.map(({ record, lock }) => ({ store: store.displayUri, dvcYaml: record.dvcYaml, stage: record.stage, outs: outsDigest(lock), runId: record.runId })),
  );
  if (!inWorkspace) return [];
  const skipped = skippedStages(dvcRoot, records, locks, index, store.displayUri);
  return [{ key: 'dvc.skipped_stages', value: JSON.stringify(skipped) }];
}

function asArtifacts(root: string, files: string[]): ArtifactFile[] {
  return files.map((file) => ({ localPath: file, artifactPath: relative(root, path.resolve(file)) }));
}
