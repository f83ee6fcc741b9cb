// What a DVC stage adds to its run: identity tags, its params before the command, its metrics
// files and DVCLive history after it.
import path from 'node:path';
import { dvcliveDirsOf, readDvcliveHistory } from '../dvc/dvclive.ts';
import { findRunningStage } from '../dvc/locate.ts';
import { keepParsedFilesIn } from '../dvc/parsed-files.ts';
import { readMetricsFile } from '../dvc/metrics-files.ts';
import { readStageParams } from '../dvc/params.ts';
import { Project } from '../dvc/project.ts';
import { findDvcRoot } from '../dvc/root.ts';
import { pipelineOutputs } from '../dvc/tracked-data.ts';
import type { Stage } from '../dvc/stage.ts';
import { sanitizeKey } from '../metrics/parse/keys.ts';
import type { LastPoint } from '../metrics/parse/points.ts';
import { describeError, type Reporter } from '../report.ts';
import { parsedFilesFolder } from '../settings/private-folders.ts';
import { MAX_PARAM_VAL_LENGTH } from '../tracking/limits.ts';
import type { Metric, Param, Tag } from '../tracking/store.ts';

/**
 * The running stage, when mlrun runs under DVC (DVC sets DVC_ROOT and, since 3.49, DVC_STAGE) or
 * was told with --stage. Not finding it is a warning: the run is still tracked without DVC parts.
 */
export function runningStage(command: { argv: string[]; shownArgv: string[] }, cwd: string, env: NodeJS.ProcessEnv, stageFlag: string | undefined, projectRoot: string, reporter: Reporter): Stage | undefined {
  if (!env.DVC_STAGE && !env.DVC_ROOT && !stageFlag) return undefined;
  // The stages of a launch parse the same dvc.yaml and params files: once is enough.
  keepParsedFilesIn(parsedFilesFolder(projectRoot));
  try {
    const located = findRunningStage({ cwd, env, ...command, ...(stageFlag ? { stageFlag } : {}) });
    if ('stage' in located) {
      if (located.project) foundIn.set(located.stage, located.project);
      return located.stage;
    }
    reporter.warn(`DVC stage not found (${located.reason}): the run is tracked without the stage's params, metrics and outputs`);
  } catch (error) {
    reporter.warn(`cannot read the DVC pipeline (${describeError(error)}): the run is tracked without the stage's params, metrics and outputs`);
  }
  return undefined;
}

/**
 * The DVC project the stage runs in: the main project, or under `dvc exp run --temp` / the queue
 * the temporary copy (whose outputs are gone once DVC cleans it up), which DVC_ROOT does not name.
 */
export function stageRootOf(stage: Stage, env: NodeJS.ProcessEnv, projectRoot: string): string {
  return findDvcRoot(stage.wdir, env) ?? projectRoot;
}

export function stageTags(stage: Stage | undefined, stageRoot: string, env: NodeJS.ProcessEnv): Tag[] {
  const tags: Tag[] = [];
  const name = stage?.name ?? env.DVC_STAGE;
  if (name) tags.push({ key: 'dvc.stage', value: name });
  if (stage) tags.push({ key: 'dvc.yaml', value: relativeDvcYaml(stage, stageRoot) });
  // The run's description in MLflow's UI (mlflow/utils/mlflow_tags.py MLFLOW_RUN_NOTE).
  if (stage?.desc) tags.push({ key: 'mlflow.note.content', value: stage.desc });
  if (env.DVC_EXP_NAME) tags.push({ key: 'dvc.exp_name', value: env.DVC_EXP_NAME });
  if (env.DVC_EXP_BASELINE_REV) tags.push({ key: 'dvc.baseline_rev', value: env.DVC_EXP_BASELINE_REV });
  return tags;
}

/** The stage's dvc.yaml relative to the DVC project it runs in, `/`-separated. */
export function relativeDvcYaml(stage: Stage, stageRoot: string): string {
  return path.relative(stageRoot, stage.dvcYamlPath).split(path.sep).join('/');
}

/** The project each stage was found in: its dvc.yaml is parsed once per mlrun, not again for each question. */
const foundIn = new WeakMap<Stage, Project>();

/** What the stage's pipeline writes itself: the outputs its stages declare (absolute). */
export function generatedFiles(stage: Stage, stageRoot: string): string[] {
  const found = foundIn.get(stage);
  return pipelineOutputs(found?.root === path.resolve(stageRoot) ? found : new Project(stageRoot), [stage.dvcYamlPath]);
}

export function stageParams(stage: Stage, reporter: Reporter): Param[] {
  const { values, skipped, unreadable } = readStageParams(stage);
  for (const reason of unreadable) reporter.warn(`the stage's params are incomplete: ${reason}`);
  for (const reason of skipped) reporter.info(`param skipped: ${reason}`);
  for (const [key, value] of Object.entries(values)) {
    if (value.length > MAX_PARAM_VAL_LENGTH) reporter.warn(`param '${key}' is ${value.length} characters long: MLflow keeps the first ${MAX_PARAM_VAL_LENGTH}`);
  }
  return Object.entries(values).map(([key, value]) => ({ key, value }));
}

/**
 * The stage's declared metrics files and DVCLive step files (their whole history, at their own
 * steps). A key DVCLive has history for is not logged again from its summary file. A key the
 * output already streamed keeps one curve: the file's value ends it, at its highest step, later
 * than its last point, so that MLflow shows the file's value as the latest (see LastPoint), and
 * adds nothing when the curve already ends on that value. Any other key is one point at step 0.
 */
export function stageFileMetrics(stage: Stage, reporter: Reporter, now: number, streamed: ReadonlyMap<string, LastPoint>): Metric[] {
  const points: Metric[] = [];
  const withHistory = new Set<string>();
  for (const dir of dvcliveDirsOf(stage)) {
    for (const [key, history] of Object.entries(readDvcliveHistory(dir))) {
      const name = sanitizeKey(key);
      withHistory.add(name);
      for (const point of history) points.push({ key: name, value: point.value, step: point.step, timestamp: point.timestamp ?? now });
    }
  }
  for (const output of stage.metrics) {
    const file = path.resolve(stage.wdir, output.path);
    try {
      for (const [key, value] of Object.entries(readMetricsFile(file))) {
        const name = sanitizeKey(key);
        const last = streamed.get(name);
        if (withHistory.has(name)) continue;
        if (!last) points.push({ key: name, value, step: 0, timestamp: now });
        else if (!Object.is(last.value, value)) points.push({ key: name, value, step: last.step, timestamp: Math.max(now, last.timestamp + 1) });
      }
    } catch (error) {
      reporter.warn(`metrics file ${output.path}: ${describeError(error)}`);
    }
  }
  return points;
}
