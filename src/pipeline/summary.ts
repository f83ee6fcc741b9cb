// What makes the parent of a launch comparable with the next one in MLflow's runs table: the params
// of every stage of the project and the values of every metrics file, as they stand once the
// launch is over. Skipped stages count too, so that every launch of a pipeline has the same keys.
// The keys are those of the children (stage/dvc.ts): params as readStageParams names them, metrics
// as the file has them, with the file's path before the key (`metrics/val.json:auc`) where two
// files share one.
import fs from 'node:fs';
import path from 'node:path';
import { readMetricsFile } from '../dvc/metrics-files.ts';
import { readStageParams } from '../dvc/params.ts';
import { Project } from '../dvc/project.ts';
import { sanitizeKey } from '../metrics/parse/keys.ts';
import { describeError, type Reporter } from '../report.ts';
import type { Metric, Param } from '../tracking/store.ts';
import type { Tracking } from '../tracking/tracked-run.ts';
import { relative } from './lineage.ts';

interface PipelineSummary {
  params: Param[];
  /** One point per key, at step 0. */
  metrics: Metric[];
  /** One line per metrics file that could not be read (a missing one is not a problem: its stage has not run yet). */
  unreadable: string[];
}

/** The params and metrics of the project at dvcRoot on the launch's run. */
export async function logSummary(tracking: Tracking, dvcRoot: string, reporter: Reporter): Promise<void> {
  const { params, metrics, unreadable } = pipelineSummary(dvcRoot, Date.now());
  // Each stage that writes such a file said so on its own run.
  for (const line of unreadable) reporter.info(line);
  if (params.length === 0 && metrics.length === 0) return;
  await tracking.store.logBatch(tracking.run.runId, { params, metrics }).catch((error: unknown) => {
    reporter.warn(`could not log the pipeline's params and metrics: ${describeError(error)}`);
  });
}

function pipelineSummary(projectRoot: string, now: number): PipelineSummary {
  const project = new Project(projectRoot);
  // A key two stages read from different files (nested pipelines each with a params.yaml) keeps
  // the first stage's value: MLflow takes one value per param.
  const params = new Map<string, string>();
  const metricsFiles = new Set<string>();
  for (const file of project.pipelineFiles()) {
    for (const stage of project.pipeline(file)?.stages() ?? []) {
      for (const [key, value] of Object.entries(readStageParams(stage).values)) if (!params.has(key)) params.set(key, value);
      for (const output of stage.metrics) metricsFiles.add(path.resolve(stage.wdir, output.path));
    }
  }
  const { values, unreadable } = readMetricsFiles(projectRoot, [...metricsFiles].sort());
  return {
    params: [...params].map(([key, value]) => ({ key, value })),
    metrics: metricKeys(values).map(({ key, value }) => ({ key, value, step: 0, timestamp: now })),
    unreadable,
  };
}

/** Each metrics file there is (project-relative path) with its keys as the child logs them. */
function readMetricsFiles(projectRoot: string, files: string[]): { values: Map<string, Map<string, number>>; unreadable: string[] } {
  const values = new Map<string, Map<string, number>>();
  const unreadable: string[] = [];
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const shown = relative(projectRoot, file);
    try {
      values.set(shown, new Map(Object.entries(readMetricsFile(file)).map(([key, value]) => [sanitizeKey(key), value])));
    } catch (error) {
      unreadable.push(`metrics file ${shown}: ${describeError(error)}`);
    }
  }
  return { values, unreadable };
}

function metricKeys(values: Map<string, Map<string, number>>): { key: string; value: number }[] {
  const files = new Map<string, number>();
  for (const keys of values.values()) for (const key of keys.keys()) files.set(key, (files.get(key) ?? 0) + 1);
  return [...values].flatMap(([file, keys]) =>
    [...keys].map(([key, value]) => ({ key: files.get(key)! > 1 ? sanitizeKey(`${file}:${key}`) : key, value })),
  );
}
