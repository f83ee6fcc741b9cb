// Under `dvc exp run` every experiment gets a parent run named after it, holding its stages.
// DVC runs the stages of one experiment one after another, but several experiments at once
// (`dvc queue start -j 2`), all inheriting one MLRUN_PARENT_RUN_ID from `mlrun pipeline`. So the
// first experiment to get there takes over the pipeline's run (renamed after it unless
// `mlrun pipeline --name` named it); any other one gets a run of its own beside it. Who has which
// run is kept in .mlrun/experiments/ at the project root, claimed with exclusive creates so two
// processes never take the same run.
import fs from 'node:fs';
import path from 'node:path';
import { PIPELINE_NAMED } from '../run/tracked-command.ts';
import { stateFolder } from '../settings/private-folders.ts';
import type { OpenRunRequest } from '../tracking/lifecycle.ts';
import { openRun } from '../tracking/lifecycle.ts';
import type { CallOptions, RunStatus, Store, Tag } from '../tracking/store.ts';

/** Tags of the stage's request that describe the stage, not its experiment. */
const STAGE_ONLY_TAGS = ['mlflow.runName', 'mlflow.source.name', 'mlrun.command', 'dvc.stage', 'dvc.yaml'];

export interface ExperimentIdentity {
  name: string;
  baselineRev?: string;
  /** False when `mlrun pipeline --name` named the pipeline's run: taking it over keeps that name. */
  renamesPipelineRun: boolean;
}

export function experimentOf(env: NodeJS.ProcessEnv): ExperimentIdentity | undefined {
  if (!env.DVC_EXP_NAME) return undefined;
  return { name: env.DVC_EXP_NAME, baselineRev: env.DVC_EXP_BASELINE_REV || undefined, renamesPipelineRun: env[PIPELINE_NAMED] !== '1' };
}

interface Registration {
  runId: string;
  /** True when the run is the pipeline's own, which `mlrun pipeline` closes. */
  pipelineRun: boolean;
}

export interface ExperimentRun {
  runId: string;
  /** The stage closes the experiment's run itself unless it is the pipeline's. */
  closedByStage: boolean;
}

/** The run the stages of this experiment nest under, creating or claiming it on first use. */
export async function experimentRun(
  store: Store,
  experiment: ExperimentIdentity,
  pipelineRunId: string | undefined,
  projectRoot: string,
  template: OpenRunRequest,
  options: CallOptions,
): Promise<ExperimentRun> {
  const dir = path.join(stateFolder(projectRoot), 'experiments');
  fs.mkdirSync(dir, { recursive: true });
  // One registration per store and experiment: a run id means nothing in another store.
  const key = `${store.displayUri}\n${experiment.baselineRev ?? 'workspace'}\n${experiment.name}`;
  // node:crypto only here, under `dvc exp run`: loading it is a cost every stage's start-up would pay.
  const { createHash } = process.getBuiltinModule('node:crypto');
  const registry = path.join(dir, `${safe(experiment.name)}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.json`);
  const known = readRegistration(registry);
  if (known) return { runId: known.runId, closedByStage: !known.pipelineRun };

  const tags: Tag[] = [
    { key: 'dvc.exp_name', value: experiment.name },
    ...(experiment.baselineRev ? [{ key: 'dvc.baseline_rev', value: experiment.baselineRev }] : []),
  ];
  if (pipelineRunId && claim(path.join(dir, `pipeline-${safe(pipelineRunId)}.claimed`))) {
    const name = experiment.renamesPipelineRun ? [{ key: 'mlflow.runName', value: experiment.name }] : [];
    await store.logBatch(pipelineRunId, { tags: [...tags, ...name] }, options);
    register(registry, { runId: pipelineRunId, pipelineRun: true });
    return { runId: pipelineRunId, closedByStage: false };
  }
  const pipeline = pipelineRunId ? await store.getRun(pipelineRunId, options) : undefined;
  // The experiment's run shares the stage's context (user, git) but not what is the stage's own.
  const { parentRunId: _parent, experiment: chosen, experimentName, ...base } = template;
  const own = new Set([...STAGE_ONLY_TAGS, ...tags.map((tag) => tag.key)]);
  const opened = await openRun(
    store,
    {
      ...base,
      // Beside the pipeline's run; without one, where the stage would go (MLFLOW_EXPERIMENT_NAME
      // included), else each stage is told its parent is in another experiment.
      ...(pipeline ? { experimentId: pipeline.info.experimentId } : { experiment: chosen, experimentName }),
      runName: experiment.name,
      tags: [
        ...template.tags.filter((tag) => !own.has(tag.key)),
        ...tags,
        { key: 'mlrun.role', value: 'experiment' },
        ...(pipelineRunId ? [{ key: 'mlrun.pipeline_run_id', value: pipelineRunId }] : []),
      ],
    },
    options,
  );
  register(registry, { runId: opened.info.runId, pipelineRun: false });
  return { runId: opened.info.runId, closedByStage: true };
}

/** After each stage: the experiment's run ends as its latest stage did (RUNNING in between). */
export async function markExperimentRun(store: Store, runId: string, status: RunStatus, options: CallOptions): Promise<void> {
  await store.updateRun(runId, { status, endTime: Date.now() }, options);
}

function claim(file: string): boolean {
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function register(file: string, registration: Registration): void {
  fs.writeFileSync(file, JSON.stringify(registration));
}

function readRegistration(file: string): Registration | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Registration;
  } catch {
    return undefined;
  }
}

function safe(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}
