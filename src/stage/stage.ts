// `mlrun [options] -- <cmd> [args...]`: one command (a DVC stage) as one MLflow run, a child of
// the pipeline's run: its params before it starts, its metric lines while it runs, its metrics
// files, outputs and output log after it ends.
import { resolveStageSettings, type SettingFlags } from '../settings/stage-settings.ts';
import { compileMetricConfig } from '../metrics/parse/config.ts';
import { OutputLog } from '../process/output-log.ts';
import { describeError, type Reporter } from '../report.ts';
import type { Stage } from '../dvc/stage.ts';
import type { Tag } from '../tracking/store.ts';
import type { LastPoint } from '../metrics/parse/points.ts';
import { settleAll } from '../run/settle.ts';
import { uploadFiles } from '../run/upload-files.ts';
import { declaredOutputs, OUTPUT_LOG_ARTIFACT } from './outputs.ts';
import { autoParentLaunch } from './auto-parent.ts';
import { experimentOf, experimentRun, markExperimentRun, type ExperimentRun } from './experiment-run.ts';
import { recordStageRun } from '../pipeline/stage-records.ts';
import { generatedFiles, runningStage, relativeDvcYaml, stageFileMetrics, stageParams, stageRootOf, stageTags } from './dvc.ts';
import { StageMetrics } from '../metrics/stage-metrics.ts';
import { SystemMetrics } from '../system/system-metrics.ts';
import { commandBasename, mlflowEnv, runTrackedCommand, withoutRunSelectors, type RunOptions } from '../run/tracked-command.ts';
import { watchLiveness } from '../tracking/liveness.ts';
import { statusOf, type Tracking } from '../tracking/tracked-run.ts';

export interface StageOptions extends RunOptions, SettingFlags {
  stage?: string;
}

export function stageCommand(argv: string[], options: StageOptions): Promise<number> {
  return runTrackedCommand(argv, options, ({ shownArgv, cwd, env, projectRoot, target, reporter }) => {
    const stage = runningStage({ argv, shownArgv }, cwd, env, options.stage, projectRoot, reporter);
    const settings = resolveStageSettings(options, stage?.meta, projectRoot, env);
    const metricConfig = compileMetricConfig(settings.metrics);
    let metrics: StageMetrics | undefined;
    let outputLog: OutputLog | undefined;
    let systemMetrics: SystemMetrics | undefined;
    let paramsLogged: Promise<void> = Promise.resolve();
    const experiment = experimentOf(env);
    let experimentParent: ExperimentRun | undefined;
    let pipelineRunId = env.MLRUN_PARENT_RUN_ID || undefined;
    const launch = autoParentLaunch(options.parent, env, settings.autoParent, reporter);
    const stageRoot = stage ? stageRootOf(stage, env, projectRoot) : projectRoot;

    return {
      defaultName: stage?.name ?? commandBasename(shownArgv),
      tags: stageTags(stage, stageRoot, env),
      parentFromEnv: (env) => env.MLRUN_PARENT_RUN_ID || env.MLFLOW_RUN_ID || undefined,
      resolveParent: async (store, request, callOptions) => {
        if (launch) {
          const { launchParent } = await import('../pipeline/launch-parent.ts');
          const trackingUri = options.trackingUri ?? env.MLFLOW_TRACKING_URI;
          const parent = await launchParent(store, launch, { projectRoot, cwd, env, target, trackingUri, reporter }, request, callOptions);
          pipelineRunId = parent?.runId;
          return { parentRunId: parent?.runId, parentExperimentId: parent?.experimentId };
        }
        // --parent wins; under `dvc exp run` the stage nests under its experiment's run.
        if (!experiment || options.parent) return request;
        experimentParent = await experimentRun(store, experiment, pipelineRunId, projectRoot, request, callOptions);
        // Taken over, the pipeline's run is still the one whose experiment the launch passed on.
        const known = experimentParent.runId === request.parentRunId ? request.parentExperimentId : undefined;
        return { parentRunId: experimentParent.runId, parentExperimentId: known };
      },
      // MLflow code inside the stage logs into the stage's own run; an mlrun inside it nests under it.
      // While mlrun samples the histories, MLflow's own monitor in the stage stays off: started by
      // `mlflow.start_run()` from the same switch (tracking/fluent.py), it would log the same keys
      // into the same run a second time.
      commandEnv: (tracking, env) => ({
        ...withoutRunSelectors(env),
        ...mlflowEnv(tracking, tracking.run.runId),
        ...(settings.systemMetrics ? { MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'false' } : {}),
      }),
      attach: (tracking) => {
        if (stage && pipelineRunId && !tracking.offline) {
          recordStageRun(projectRoot, pipelineRunId, {
            stage: stage.name,
            dvcYaml: relativeDvcYaml(stage, stageRoot),
            runId: tracking.run.runId,
            dvcRoot: stageRoot,
            ...(experiment ? { expName: experiment.name } : {}),
          });
        }
        if (stage) {
          // Sent while the command already runs: the command never waits for it.
          const params = stageParams(stage, reporter);
          paramsLogged = tracking.store.logBatch(tracking.run.runId, { params }).catch((error: unknown) => {
            reporter.warn(`could not log the stage's params: ${describeError(error)}`);
          });
        }
        metrics = new StageMetrics({ config: metricConfig, options: settings.metrics, from: settings.metricsFrom }, tracking);
        outputLog = settings.outputLog ? new OutputLog(tracking.run.runId) : undefined;
        systemMetrics = new SystemMetrics(settings.systemMetrics, tracking, env, reporter);
        return {
          onSpawn: systemMetrics.onSpawn,
          onStdout: (chunk) => {
            metrics!.write('stdout', chunk);
            outputLog?.write(chunk);
          },
          onStderr: (chunk) => {
            metrics!.write('stderr', chunk);
            outputLog?.write(chunk);
          },
        };
      },
      generatedFiles: () => (stage ? generatedFiles(stage, stageRoot) : []),
      // The closing work overlaps: the output log goes while the last points are delivered. The
      // metrics files' values (a file's value is the metric's latest) and the outputs wait for
      // those points, so that a server lost during a big upload has the run's points already.
      // The last points, the system summary and the outcome are logged in the same turn: a server
      // takes them in one request (tracking/rest/coalesce.ts).
      beforeClose: async (tracking, result, hurry, outcome) => {
        const succeeded = stage !== undefined && result.exitCode === 0;
        outputLog?.finish();
        const logFile = outputLog && !outputLog.empty ? [{ localPath: outputLog.path, artifactPath: OUTPUT_LOG_ARTIFACT }] : [];
        const logUploaded = uploadFiles(tracking, logFile, env, reporter, { hurry }).finally(() => outputLog?.close());
        const streamed = Promise.all([metrics?.finish(reporter, hurry), systemMetrics?.finish(hurry)]).then(([last]) => last ?? new Map());
        // Not logged (refused, or lost with no local record to go to): tried again with the close.
        const outcomeWait = watchLiveness(tracking.store);
        const outcomeLeft = tracking.store
          .logBatch(tracking.run.runId, { tags: outcome }, { signal: outcomeWait.signal })
          .then((): Tag[] => [], () => outcome)
          .finally(() => outcomeWait.stop());
        const outputs = succeeded ? streamed.then(() => declaredOutputs(stage, stageRoot, reporter)) : Promise.resolve({ files: [], tags: [] });
        await settleAll([
          logUploaded,
          succeeded ? streamed.then((last) => logFileMetrics(tracking, stage, last, reporter)) : streamed,
          outputs.then(({ files }) => uploadFiles(tracking, files, env, reporter, { hurry })),
          paramsLogged,
          outcomeLeft,
        ]);
        if (experimentParent?.closedByStage) {
          const liveness = watchLiveness(tracking.store);
          await markExperimentRun(tracking.store, experimentParent.runId, statusOf(result), { signal: liveness.signal })
            .catch((error: unknown) => reporter.warn(`could not update the experiment's run: ${describeError(error)}`))
            .finally(() => liveness.stop());
        }
        return [...(await outputs).tags, ...(await outcomeLeft)];
      },
    };
  });
}

async function logFileMetrics(tracking: Tracking, stage: Stage, streamed: ReadonlyMap<string, LastPoint>, reporter: Reporter): Promise<void> {
  const points = stageFileMetrics(stage, reporter, Date.now(), streamed);
  if (points.length === 0) return;
  await tracking.store.logBatch(tracking.run.runId, { metrics: points }).catch((error: unknown) => {
    reporter.warn(`could not log the stage's metrics files: ${describeError(error)}`);
  });
}
