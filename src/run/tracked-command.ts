// What `mlrun -- cmd` and `mlrun pipeline -- cmd` share: resolve where tracking goes, open the run
// within a bounded wait, run the command untouched with MLflow's variables pointing at the run,
// close the run with the command's outcome, and exit as the command did.
import os from 'node:os';
import path from 'node:path';
import { findProjectRoot } from '../settings/project-root.ts';
import { UsageError } from '../settings/usage-error.ts';
import { workingFolder } from '../settings/working-folder.ts';
import { makePipes } from '../process/pipes.ts';
import { signalExitCode, type CommandOutcome } from '../process/exit-code.ts';
import { onceOnSignal, type ForwardedSignal } from '../process/signals.ts';
import { runCommand, type CommandResult, type RunCommandOptions } from '../process/spawn.ts';
import { describeError, Reporter } from '../report.ts';
import { contextTags, userOf } from '../tracking/context.ts';
import { storeTarget, type StoreTarget } from '../tracking/open-store.ts';
import { redactArguments, secretsOf } from '../tracking/secrets.ts';
import type { Tag } from '../tracking/store.ts';
import { VERSION } from '../version.ts';
import { closeAbandonedBeside } from './close-abandoned.ts';
import { displayCommand, sourceNameOf } from './command-line.ts';
import { listLiveRun } from './live-run.ts';
import { knownParentExperiment, PARENT_EXPERIMENT } from './parent-experiment.ts';
import { checkWorkTree } from './work-tree.ts';
import { finishTracking, startTracking, statusOf, type Tracking, type TrackingPlan } from '../tracking/tracked-run.ts';

/** The options every tracked command takes (see cli.ts). */
export interface RunOptions {
  parent?: string;
  experiment?: string;
  name?: string;
  tag?: string[];
  trackingUri?: string;
  strict: boolean;
  verbose: boolean;
}

export interface Session {
  argv: string[];
  /** argv with its secrets replaced by `***`: what mlrun may write of the command. */
  shownArgv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  projectRoot: string;
  /** Where the run goes. */
  target: StoreTarget;
  reporter: Reporter;
}

export interface CommandSpec {
  /** The run's name when --name is not given. */
  defaultName: string;
  /** Tags beyond MLflow's system tags and mlrun's own. */
  tags?: Tag[];
  /** The parent when --parent is not given. */
  parentFromEnv: (env: NodeJS.ProcessEnv) => string | undefined;
  /** Replaces the parent once the store is open (see TrackingPlan.resolveParent). */
  resolveParent?: TrackingPlan['resolveParent'];
  /** The variables that point the command at its run. */
  commandEnv: (tracking: Tracking, env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
  /** Once the run exists, before the command starts: what watches its output (metrics, the output log). */
  attach?: (tracking: Tracking) => Pick<RunCommandOptions, 'onStdout' | 'onStderr' | 'onSpawn'>;
  /**
   * Logs what the run should hold once the command ended, before the run is closed; returns tags
   * to add. `outcome` is the command's outcome as tags (exit code, signal): logged beside the
   * spec's own first records, or returned to go with the close. `hurry` aborts when the user
   * signals mlrun again: stop waiting, keep what is left.
   */
  beforeClose?: (tracking: Tracking, result: CommandResult, hurry: AbortSignal, outcome: Tag[]) => Promise<Tag[]>;
  /**
   * After beforeClose: why the run holds nothing worth showing, so that it is deleted once closed
   * (out of MLflow's default view), or undefined to keep it.
   */
  discardReason?: () => string | undefined;
  /** Files the pipeline writes itself (absolute): their changes do not make the work tree dirty. Asked once the command started. */
  generatedFiles?: () => string[];
}

/**
 * Runs argv as a tracked command. `prepare` builds the command's spec once the session is known;
 * it may throw a UsageError, which ends mlrun with exit 2 before the command starts.
 */
export async function runTrackedCommand(argv: string[], options: RunOptions, prepare: (session: Session) => CommandSpec): Promise<number> {
  const env = process.env;
  const cwd = workingFolder();
  const secrets = secretsOf(env, argv);
  const reporter = new Reporter({ verbose: options.verbose, secrets });
  const shownArgv = redactArguments(argv, secrets);
  const userTags = parseTags(options.tag ?? []);
  const projectRoot = findProjectRoot(cwd, env);
  const target = storeTarget(options.trackingUri ?? env.MLFLOW_TRACKING_URI, projectRoot, cwd);
  const session: Session = { argv, shownArgv, cwd, env, projectRoot, target, reporter };
  const spec = prepare(session);

  const runName = options.name ?? spec.defaultName;
  const user = userOf(env);
  const tags: Tag[] = [
    ...contextTags({ runName, sourceName: sourceNameOf(argv, shownArgv, cwd), cwd, user }),
    { key: 'mlrun.command', value: displayCommand(shownArgv) },
    { key: 'mlrun.host', value: os.hostname() },
    // With the host: lets `mlrun sync` tell a run whose mlrun was killed from one still running.
    { key: 'mlrun.pid', value: String(process.pid) },
    { key: 'mlrun.version', value: VERSION },
    ...(spec.tags ?? []),
    ...userTags,
  ];
  // A signal while the run is created stops mlrun before the command starts; the run, created
  // meanwhile, is closed first.
  let stoppedBy: ForwardedSignal | undefined;
  const stopWatching = onceOnSignal((signal) => (stoppedBy = signal));
  // Made while the run is created (mkfifo is a process of its own).
  const pipes = makePipes();
  const parentRunId = options.parent ?? spec.parentFromEnv(env);
  const tracking = await startTracking(
    {
      target,
      projectRoot,
      env,
      request: {
        parentRunId,
        parentExperimentId: knownParentExperiment(env, parentRunId, options.trackingUri),
        experiment: options.experiment,
        experimentId: env.MLFLOW_EXPERIMENT_ID || undefined,
        experimentName: env.MLFLOW_EXPERIMENT_NAME || undefined,
        runName,
        userId: user,
        tags,
        startTime: Date.now(),
      },
      resolveParent: spec.resolveParent,
    },
    reporter,
  );

  const commandPipes = await pipes;
  if (stoppedBy) return stopBeforeCommand(stoppedBy, tracking, reporter);
  const running = runCommand(argv, {
    env: tracking ? spec.commandEnv(tracking, env) : env,
    pipes: commandPipes,
    ...(tracking && attachSafely(spec, tracking, reporter)),
  });
  // runCommand forwards signals to the command from here on.
  stopWatching();
  const inGit = tags.some((tag) => tag.key === 'mlflow.source.git.commit');
  const workTree = tracking && inGit ? checkWorkTree(cwd, spec.generatedFiles ?? (() => []), tracking.run.runId, secrets, reporter) : undefined;
  const liveRun = tracking && listLiveRun(tracking, projectRoot, reporter);
  const abandonedClosed = tracking ? closeAbandonedBeside(tracking, projectRoot, reporter) : undefined;
  const result = await running;
  if (result.startError) reporter.say(result.startError);
  if (result.writeError) reporter.say(`cannot write the command's ${result.writeError.stream} (${result.writeError.message}): the stage fails`);

  if (tracking) {
    // A signal now (the user's second Ctrl-C, a scheduler's second SIGTERM) means: stop waiting
    // for deliveries and uploads; the run is still closed, within its own short budget.
    const hurry = new AbortController();
    const stopListening = onceOnSignal(() => {
      reporter.say('closing the run without waiting for the rest of its data');
      hurry.abort();
    });
    // The command has ended: whatever goes wrong in recording it (a bug of mlrun's included) is a
    // warning, and mlrun still closes the run and exits as the command did. The work tree's
    // changes go beside the command's own closing work, not after it.
    const treeRecorded = workTree?.record(tracking, env, hurry.signal);
    const outcome = outcomeTags(result);
    const closingTags = await (spec.beforeClose?.(tracking, result, hurry.signal, outcome) ?? Promise.resolve(outcome)).catch((error: unknown) => {
      reporter.warn(`recording the end of the run failed: ${describeError(error)}`);
      // Maybe not logged yet: a tag logged twice holds the same value.
      return outcome;
    });
    const treeTags = (await treeRecorded) ?? [];
    const endTags: Tag[] = [...closingTags, ...treeTags];
    const discarded = spec.discardReason?.();
    // Before the store is closed with the run.
    await abandonedClosed;
    await finishTracking(tracking, { status: statusOf(result), tags: endTags, held: outcome, discard: discarded !== undefined }, reporter);
    liveRun?.end();
    stopListening();
    const deleted = discarded === undefined ? '' : `, deleted (${discarded})`;
    reporter.info(`run ${tracking.run.runId} in ${tracking.store.displayUri}: ${statusOf(result)}${deleted}`);
  }
  if (options.strict && reporter.problems > 0 && result.exitCode === 0) return 1;
  return result.exitCode;
}

/** The command's outcome as the run's tags. */
function outcomeTags(result: CommandOutcome): Tag[] {
  const tags: Tag[] = [{ key: 'mlrun.exit_code', value: String(result.exitCode) }];
  if (result.signal) tags.push({ key: 'mlrun.signal', value: result.signal });
  if (result.writeError) tags.push({ key: 'mlrun.output_error', value: `${result.writeError.stream}: ${result.writeError.code}` });
  return tags;
}

/** A signal came before the command could start: it never does, and the run is closed KILLED. */
async function stopBeforeCommand(signal: ForwardedSignal, tracking: Tracking | undefined, reporter: Reporter): Promise<number> {
  const exitCode = signalExitCode(signal);
  if (!tracking) {
    reporter.say(`${signal} before the command started: it was not run`);
    return exitCode;
  }
  await finishTracking(tracking, { status: 'KILLED', tags: outcomeTags({ exitCode, signal }) }, reporter);
  reporter.say(`${signal} before the command started: it was not run, and run ${tracking.run.runId} is closed as KILLED`);
  return exitCode;
}

/** The command runs even when watching its output cannot be set up (no temp space, a bug). */
function attachSafely(spec: CommandSpec, tracking: Tracking, reporter: Reporter): Pick<RunCommandOptions, 'onStdout' | 'onStderr' | 'onSpawn'> | undefined {
  try {
    return spec.attach?.(tracking);
  } catch (error) {
    reporter.warn(`cannot watch the command's output (${describeError(error)}): its metrics and output log are not recorded`);
    return undefined;
  }
}

/** MLflow's variables for code inside the command, pointing at `runId`. */
export function mlflowEnv(tracking: Tracking, runId: string): NodeJS.ProcessEnv {
  return {
    MLFLOW_RUN_ID: runId,
    MLFLOW_TRACKING_URI: tracking.store.trackingUri,
    MLFLOW_EXPERIMENT_ID: tracking.run.experimentId,
  };
}

/** Set by `mlrun pipeline --name` for its stages: the pipeline's run keeps that name under `dvc exp run`. */
export const PIPELINE_NAMED = 'MLRUN_PIPELINE_NAMED';

/** The environment without the variables that would send a run somewhere else than `mlflowEnv` says. */
export function withoutRunSelectors(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MLRUN_PARENT_RUN_ID: _parent, [PARENT_EXPERIMENT]: _experiment, MLFLOW_EXPERIMENT_NAME: _name, [PIPELINE_NAMED]: _named, ...rest } = env;
  return rest;
}

export function commandBasename(shownArgv: string[]): string {
  return path.basename(shownArgv[0]!);
}

function parseTags(specs: string[]): Tag[] {
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag '${spec}' is not key=value`);
    return { key: spec.slice(0, eq), value: spec.slice(eq + 1) };
  });
}
