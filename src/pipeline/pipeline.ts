// `mlrun pipeline [options] -- dvc repro`: the parent run of one pipeline launch. Every stage
// wrapped with `mlrun --` inside it becomes its child. Once DVC is done the parent becomes the
// launch's summary: the params and metrics of the whole pipeline (summary.ts), its definition
// (dvc.yaml and params files at the values used, after `dvc exp run -S`) and dvc.lock, and the
// stages DVC skipped; the children get the data hashes they consumed and produced. A launch in
// which nothing ran leaves no run in MLflow's default view.
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFile } from '../artifacts/collect.ts';
import { Project } from '../dvc/project.ts';
import { findDvcRoot } from '../dvc/root.ts';
import { pipelineOutputs, TrackedData } from '../dvc/tracked-data.ts';
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
import { uploadFiles } from '../run/upload-files.ts';
import { mlflowEnv, PIPELINE_NAMED, runTrackedCommand, withoutRunSelectors, type RunOptions } from '../run/tracked-command.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

export type PipelineOptions = RunOptions;

export function pipelineCommand(argv: string[], options: PipelineOptions): Promise<number> {
  return runTrackedCommand(argv, options, ({ shownArgv, cwd, env, projectRoot, reporter }) => {
    const dvcRoot = findDvcRoot(cwd, env);
    let discardReason: string | undefined;
    return {
      defaultName: launchName(shownArgv, new Date()),
      tags: [{ key: 'mlrun.role', value: 'pipeline' }],
      parentFromEnv: (env) => env.MLRUN_PARENT_RUN_ID || undefined,
      // Stages find their parent in MLRUN_PARENT_RUN_ID; MLFLOW_RUN_ID also names it, as the
      // Python recipe does, so an unwrapped MLflow stage still logs somewhere sensible.
      commandEnv: (tracking, env) => ({
        ...withoutRunSelectors(env),
        ...mlflowEnv(tracking, tracking.run.runId),
        MLRUN_PARENT_RUN_ID: tracking.run.runId,
        // Under `dvc exp run` the experiment names the run, unless --name did.
        ...(options.name !== undefined ? { [PIPELINE_NAMED]: '1' } : {}),
      }),
      generatedFiles: () => (dvcRoot ? pipelineOutputs(new Project(dvcRoot)) : []),
      beforeClose: async (tracking, result, hurry) => {
        const records = readStageRuns(projectRoot, tracking.run.runId);
        removeStageRuns(projectRoot, tracking.run.runId);
        if (!dvcRoot) return [];
        // DVC ran no stage (wrapped stages record themselves; any stage that ran rewrites
        // dvc.lock): an up-to-date `dvc repro` is not worth a run. A failed launch is, and so is
        // any other command, whose children (`sh -c 'mlrun -- …'`) need not be DVC stages.
        const nothingRan = records.length === 0 && isDvc(shownArgv) && !lockWrittenSince(dvcRoot, tracking.run.startTime);
        if (result.exitCode === 0 && nothingRan) {
          discardReason = 'no stage ran';
          return [];
        }
        let definitions: string[];
        try {
          definitions = pipelineDefinitionFiles(dvcRoot);
        } catch (error) {
          // DVC said so too, and failed.
          reporter.warn(`cannot read the DVC pipeline (${describeError(error)}): the run is tracked without the pipeline's params, metrics, files, dvc.lock and lineage`);
          return [];
        }
        // Queued and `--temp` experiments run in copies of the project that DVC removes: the
        // workspace holds neither their params, files nor metrics, and which stages they skipped
        // is theirs to say.
        const inWorkspace = records.every((record) => path.resolve(record.dvcRoot) === path.resolve(dvcRoot));
        const tags = await recordLineage(tracking, records, dvcRoot, projectRoot, inWorkspace, reporter);
        if (!inWorkspace) return tags;
        await logSummary(tracking, dvcRoot, reporter);
        // Read now, not when DVC starts: `dvc exp run -S` writes the params files first.
        await uploadFiles(tracking, asArtifacts(dvcRoot, [...definitions, ...lockFiles(dvcRoot)]), env, reporter, { hurry });
        return tags;
      },
      discardReason: () => discardReason,
    };
  });
}

/**
 * The parent's name when --name is not given: the DVC command and when it was launched (local
 * time), e.g. `repro 2026-12-07 14:03:21`. Every launch gets its own, known before the command
 * starts without asking anything. Under `dvc exp run` the first stage renames it after the
 * experiment (stage/experiment-run.ts).
 */
function launchName(shownArgv: string[], now: Date): string {
  const words = shownArgv.slice(1).filter((arg) => !arg.startsWith('-'));
  const command = !isDvc(shownArgv) || words.length === 0 ? path.basename(shownArgv[0]!) : words.slice(0, words[0] === 'exp' || words[0] === 'queue' ? 2 : 1).join(' ');
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  return `${command} ${date} ${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
}

function isDvc(argv: string[]): boolean {
  return path.basename(argv[0]!) === 'dvc';
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
  if (!inWorkspace) return [];
  const skipped = skippedStages(dvcRoot, records, locks, index, store.displayUri);
  return [{ key: 'dvc.skipped_stages', value: JSON.stringify(skipped) }];
}

function asArtifacts(root: string, files: string[]): ArtifactFile[] {
  return files.map((file) => ({ localPath: file, artifactPath: relative(root, path.resolve(file)) }));
}
