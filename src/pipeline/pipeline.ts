// `mlrun pipeline [options] -- dvc repro`: the parent run of one pipeline launch. Every stage
// wrapped with `mlrun --` inside it becomes its child. The parent holds the pipeline's definition
// (dvc.yaml and params files) from the start and dvc.lock at the end; the children get the data
// hashes they consumed and produced; the stages DVC skipped are listed on the parent.
import path from 'node:path';
import type { ArtifactFile } from '../artifacts/collect.ts';
import { Project } from '../dvc/project.ts';
import { findDvcRoot } from '../dvc/root.ts';
import { pipelineOutputs, TrackedData } from '../dvc/tracked-data.ts';
import { describeError, type Reporter } from '../report.ts';
import type { Tag } from '../tracking/store.ts';
import { displayCommand } from '../run/command-line.ts';
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
import { readStageRuns, removeStageRuns } from './stage-records.ts';
import { uploadFiles } from '../run/upload-files.ts';
import { mlflowEnv, runTrackedCommand, withoutRunSelectors, type RunOptions } from '../run/tracked-command.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

export type PipelineOptions = RunOptions;

export function pipelineCommand(argv: string[], options: PipelineOptions): Promise<number> {
  return runTrackedCommand(argv, options, ({ shownArgv, cwd, env, projectRoot, reporter }) => {
    const dvcRoot = findDvcRoot(cwd, env);
    let definitionsLogged: Promise<void> = Promise.resolve();
    return {
      defaultName: displayCommand(shownArgv),
      tags: [{ key: 'mlrun.role', value: 'pipeline' }],
      parentFromEnv: (env) => env.MLRUN_PARENT_RUN_ID || undefined,
      // Stages find their parent in MLRUN_PARENT_RUN_ID; MLFLOW_RUN_ID also names it, as the
      // Python recipe does, so an unwrapped MLflow stage still logs somewhere sensible.
      commandEnv: (tracking, env) => ({
        ...withoutRunSelectors(env),
        ...mlflowEnv(tracking, tracking.run.runId),
        MLRUN_PARENT_RUN_ID: tracking.run.runId,
      }),
      attach: (tracking) => {
        // While DVC already runs, and without a progress line that would cut into its output.
        if (dvcRoot) definitionsLogged = uploadFiles(tracking, asArtifacts(dvcRoot, pipelineDefinitionFiles(dvcRoot)), env, reporter, { showProgress: false });
        return {};
      },
      generatedFiles: () => (dvcRoot ? pipelineOutputs(new Project(dvcRoot)) : []),
      beforeClose: async (tracking, _result, hurry) => {
        await definitionsLogged;
        const tags = dvcRoot ? await recordLineage(tracking, dvcRoot, projectRoot, reporter) : [];
        if (dvcRoot) await uploadFiles(tracking, asArtifacts(dvcRoot, lockFiles(dvcRoot)), env, reporter, { hurry });
        removeStageRuns(projectRoot, tracking.run.runId);
        return tags;
      },
    };
  });
}

async function recordLineage(tracking: Tracking, dvcRoot: string, projectRoot: string, reporter: Reporter): Promise<Tag[]> {
  const { store } = tracking;
  const records = readStageRuns(projectRoot, tracking.run.runId);
  let locks;
  try {
    locks = readLocks(dvcRoot);
  } catch (error) {
    reporter.warn(`cannot read dvc.lock: ${describeError(error)}: no lineage recorded`);
    return [];
  }
  const children = recordedWithLocks(records, dvcRoot, locks);
  const data = new TrackedData(new Project(dvcRoot));
  for (const { record, lock } of children) {
    try {
      await store.logBatch(record.runId, { tags: lineageTags(lock) });
      await store.logInputs(record.runId, lineageInputs(lock, (dep) => data.isData(record.dvcYaml, record.stage, dep)));
    } catch (error) {
      reporter.warn(`could not record the data of run ${record.runId}: ${describeError(error)}`);
    }
  }
  const index = readLineageIndex(projectRoot);
  appendLineageIndex(
    projectRoot,
    children.map(({ record, lock }) => ({ store: store.displayUri, dvcYaml: record.dvcYaml, stage: record.stage, outs: outsDigest(lock), runId: record.runId })),
  );
  // Experiments run in their own copies of the project: which stages they skipped is theirs to say.
  if (records.some((record) => record.expName)) return [];
  const skipped = skippedStages(dvcRoot, records, locks, index, store.displayUri);
  return [{ key: 'dvc.skipped_stages', value: JSON.stringify(skipped) }];
}

function asArtifacts(root: string, files: string[]): ArtifactFile[] {
  return files.map((file) => ({ localPath: file, artifactPath: relative(root, path.resolve(file)) }));
}
