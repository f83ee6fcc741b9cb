// The parent run of a plain `dvc repro`, which no `mlrun pipeline` made. The stages of one
// launch (one dvc process, process/dvc-launch.ts) share it through .mlrun/launches/<boot>-<pid>-
// <start ticks>.json at the project root: the first stage creates that file exclusively, so of
// stages starting at the same moment exactly one makes the parent; the others wait for its run
// id. The first stage also starts the launch's watcher (launch-watcher.ts), which closes the
// parent once the dvc process is gone, and lists the parent as open with the watcher as its
// owner: should the watcher be killed, the next mlrun of the project or `mlrun sync` closes it.
import fs from 'node:fs';
import path from 'node:path';
import type { DvcLaunch } from '../process/dvc-launch.ts';
import { processState, thisProcess, type ProcessIdentity } from '../process/process-identity.ts';
import { startDetached, WATCH_LAUNCH_COMMAND } from '../process/self.ts';
import { displayCommand } from '../run/command-line.ts';
import { describeError, type Reporter } from '../report.ts';
import { stateFolder } from '../settings/private-folders.ts';
import { openRun, type OpenRunRequest } from '../tracking/lifecycle.ts';
import { addLiveRun, storeKey } from '../tracking/live-runs.ts';
import type { StoreTarget } from '../tracking/open-store.ts';
import { redactArguments, secretsOf } from '../tracking/secrets.ts';
import type { CallOptions, Store } from '../tracking/store.ts';
import { launchName } from './pipeline.ts';

/** How often a stage looks again for the run id of a parent that another stage is creating. */
const CLAIM_POLL_MS = 50;

/** The launch's file: who claimed it, then the parent and who closes it, or that it failed. */
export interface LaunchRecord {
  dvc: ProcessIdentity;
  /** The dvc command line, secrets redacted. */
  argv: string[];
  claimer: ProcessIdentity;
  /** Set once the parent exists; its experiment spares the other stages looking the parent up. */
  parent?: { runId: string; experimentId?: string; store: string; watcher: ProcessIdentity; liveFile: string };
  /** The parent could not be made: the launch's stages run standalone. */
  failed?: true;
}

export interface LaunchContext {
  projectRoot: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  target: StoreTarget;
  /** --tracking-uri or MLFLOW_TRACKING_URI, handed to the watcher. */
  trackingUri: string | undefined;
  reporter: Reporter;
}

/** Tags of the stage's request that the launch shares: who ran it, where, with which mlrun. */
const SHARED_TAGS = /^(mlflow\.user|mlflow\.source\.type|mlflow\.source\.git\..*|mlrun\.host|mlrun\.version)$/;

/** The launch's parent run, and its experiment when known. */
export interface LaunchParentRun {
  runId: string;
  experimentId?: string;
}

/**
 * The parent run of the launch, made on first use; undefined when the stage runs standalone (the
 * watcher could not start, or the stage that claimed the launch could not make its parent).
 * Throws when the store fails, as opening the stage's own run would.
 */
export async function launchParent(store: Store, launch: DvcLaunch, context: LaunchContext, template: OpenRunRequest, options: CallOptions): Promise<LaunchParentRun | undefined> {
  const { projectRoot, reporter } = context;
  const key = storeKey(context.target, projectRoot);
  const record: LaunchRecord = { dvc: launch.dvc, argv: redactArguments(launch.argv, secretsOf(context.env, launch.argv)), claimer: thisProcess() };
  let file: string;
  let claimed: Claimed;
  try {
    file = launchFile(projectRoot, launch.dvc);
    claimed = await claimLaunch(file, record, key, options.signal);
  } catch (error) {
    reporter.warn(`cannot record the dvc launch in ${path.join(projectRoot, '.mlrun', 'launches')} (${describeError(error)}): the stage runs without a parent`);
    return undefined;
  }
  if (claimed !== CLAIMED) return claimed.parent;
  let watcher: ProcessIdentity;
  try {
    const env = context.trackingUri ? { ...context.env, MLFLOW_TRACKING_URI: context.trackingUri } : context.env;
    watcher = startDetached([WATCH_LAUNCH_COMMAND, file], { cwd: context.cwd, env });
  } catch (error) {
    writeLaunch(file, { ...record, failed: true });
    reporter.warn(`cannot start the watcher of the dvc launch (${describeError(error)}): the stage runs without a parent`);
    return undefined;
  }
  let parent: LaunchParentRun;
  try {
    const { info } = await openRun(store, parentRequest(template, record.argv, watcher), options);
    parent = { runId: info.runId, experimentId: info.experimentId };
  } catch (error) {
    // The store failed: the stage's own run fails the same way, and says so.
    writeLaunch(file, { ...record, failed: true });
    throw error;
  }
  try {
    const liveFile = addLiveRun(projectRoot, { runId: parent.runId, store: key, owner: watcher });
    writeLaunch(file, { ...record, parent: { ...parent, store: key, watcher, liveFile } });
  } catch (error) {
    // The folder was writable a moment ago: rare enough to leave the parent to `mlrun sync`.
    reporter.warn(`cannot record the dvc launch's parent run ${parent.runId} (${describeError(error)}): the launch's other stages run without a parent`);
  }
  return parent;
}

/** The parent's run: the launch's name and command, the context it shares with the stage, closed by the watcher. */
function parentRequest(template: OpenRunRequest, argv: string[], watcher: ProcessIdentity): OpenRunRequest {
  const { parentRunId: _parent, ...base } = template;
  return {
    ...base,
    runName: launchName(argv, new Date()),
    tags: [
      ...template.tags.filter((tag) => SHARED_TAGS.test(tag.key)),
      { key: 'mlrun.role', value: 'pipeline' },
      { key: 'mlrun.auto_parent', value: 'true' },
      { key: 'mlrun.command', value: displayCommand(argv) },
      // The process that closes it: how `mlrun sync` tells whether it still may.
      { key: 'mlrun.pid', value: String(watcher.pid) },
    ],
  };
}

const CLAIMED = 'claimed';
type Claimed = typeof CLAIMED | { parent: LaunchParentRun | undefined };

/**
 * Claims the launch for this stage, or waits for the stage that did to make the parent: its run
 * id, or undefined when it could not (or within the start budget, or in another store, where a
 * run id means nothing).
 */
async function claimLaunch(file: string, record: LaunchRecord, store: string, signal: AbortSignal | undefined): Promise<Claimed> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      fs.writeFileSync(file, JSON.stringify(record), { flag: 'wx' });
      return CLAIMED;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const known = readLaunch(file);
    if (known?.parent) {
      const { runId, experimentId } = known.parent;
      return { parent: known.parent.store === store ? { runId, experimentId } : undefined };
    }
    if (known?.failed || (known && processState(known.claimer) !== 'running') || signal?.aborted) return { parent: undefined };
    await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
  }
}

function launchFile(projectRoot: string, dvc: ProcessIdentity): string {
  const [boot, ticks] = (dvc.start ?? 'unknown/0').split('/');
  return path.join(stateFolder(projectRoot), 'launches', `${boot}-${dvc.pid}-${ticks}.json`);
}

/** Written aside and renamed: a reader never sees half a record. */
function writeLaunch(file: string, record: LaunchRecord): void {
  const aside = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(aside, JSON.stringify(record));
  fs.renameSync(aside, file);
}

/** The launch's record, undefined when there is none (or it is being written for the first time). */
export function readLaunch(file: string): LaunchRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LaunchRecord;
  } catch {
    return undefined;
  }
}
