// Where runs/show/diff read runs: the store the rest of mlrun writes to (MLFLOW_TRACKING_URI or
// --tracking-uri, else mlflow.db at the project root), narrowed to the experiment asked for.
// What cannot be found is one `mlrun:` line and exit 1; a store that holds nothing is an empty
// answer (an embedded mlflow.db that does not exist yet is not created by reading it).
import fs from 'node:fs';
import { describeError } from '../report.ts';
import { findProjectRoot } from '../settings/project-root.ts';
import { workingFolder } from '../settings/working-folder.ts';
import { experimentWithId } from '../tracking/lifecycle.ts';
import { openStore, storeTarget } from '../tracking/open-store.ts';
import type { Run, Store } from '../tracking/store.ts';
import { groupLaunches, isLaunch, type Entry } from './launches.ts';

export interface SourceOptions {
  trackingUri?: string;
  experiment?: string;
}

/** What the user asked for does not exist: said in one line, exit 1. */
export class NotFound extends Error {}

export interface Source {
  /** The store, fit to print. */
  displayUri: string;
  /** The MLflow UI's page of a run, when the store is a server. */
  runUrl(run: Run): string | undefined;
  /** The newest `max` runs without a parent (undefined: all), newest first. */
  topLevel(max?: number): Promise<Run[]>;
  /** The same, each launch with its stages. */
  latest(max: number | undefined): Promise<Entry[]>;
  /** The run with this id, else the newest active run of that name. */
  run(idOrName: string): Promise<Run>;
  /** The run's children, newest first. */
  children(run: Run): Promise<Run[]>;
  store: Store | undefined;
}

const RUN_ID = /^[0-9a-f]{32}$/;

/** Opens the store, runs `use` on it, closes it; exit 1 with one line when a run cannot be read. */
export async function withSource(options: SourceOptions, use: (source: Source) => Promise<number>): Promise<number> {
  const env = process.env;
  const cwd = workingFolder();
  const target = storeTarget(options.trackingUri ?? env.MLFLOW_TRACKING_URI, findProjectRoot(cwd, env), cwd);
  const absent = target.kind === 'sqlite' && !fs.existsSync(target.dbPath);
  let store: Store | undefined;
  try {
    store = absent ? undefined : await openStore(target, env);
    const displayUri = store?.displayUri ?? (target.kind === 'sqlite' ? target.dbPath : target.uri);
    const experiments = store ? await chosenExperiments(store, options.experiment, env) : [];
    return await use(makeSource(store, displayUri, experiments, target.kind === 'rest'));
  } catch (error) {
    if (error instanceof NotFound) {
      process.stderr.write(`mlrun: ${error.message}\n`);
      return 1;
    }
    if (error instanceof Error && error.name === 'UsageError') throw error;
    process.stderr.write(`mlrun: cannot read the runs in ${store?.displayUri ?? 'the store'}: ${describeError(error)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

function makeSource(store: Store | undefined, displayUri: string, experiments: string[] | 'all', server: boolean): Source {
  const topLevel = (max?: number) => (store ? store.findRuns(experiments, { parent: null, max }) : Promise.resolve([]));
  const children = (run: Run) => (store ? store.findRuns([run.info.experimentId], { parent: run.info.runId }) : Promise.resolve([]));
  return {
    displayUri,
    store,
    topLevel,
    runUrl: (run) => (server ? `${displayUri.replace(/\/+$/, '')}/#/experiments/${run.info.experimentId}/runs/${run.info.runId}` : undefined),
    async latest(max) {
      // Every launch: all runs in pages of a thousand cost less than a search per launch.
      if (max === undefined) return groupLaunches((store ? await store.searchRuns(experiments) : []).filter(isActive));
      const top = await topLevel(max);
      // One search per launch for its stages: a few at a time, as the server's pool allows.
      const stages = await inTurns(top.filter(isLaunch).map((run) => () => children(run)));
      return groupLaunches([...top, ...stages.flat()]);
    },
    async run(idOrName) {
      const byId = store && RUN_ID.test(idOrName) ? await store.getRun(idOrName) : undefined;
      if (byId && isActive(byId)) return byId;
      // A launch's name first (what a person types), then any run's.
      const named =
        (await topLevel()).find((run) => run.info.runName === idOrName) ??
        (store ? await store.searchRuns(experiments) : []).findLast((run) => isActive(run) && run.info.runName === idOrName);
      if (!named) throw new NotFound(`no run with the id or name '${idOrName}' in ${displayUri}`);
      return named;
    },
    children,
  };
}

const CONCURRENT_SEARCHES = 4;

async function inTurns<T>(calls: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < calls.length; start += CONCURRENT_SEARCHES) {
    results.push(...(await Promise.all(calls.slice(start, start + CONCURRENT_SEARCHES).map((call) => call()))));
  }
  return results;
}

const isActive = (run: Run) => run.info.lifecycleStage === 'active';

/**
 * --experiment (an id or a name, which must exist), else MLFLOW_EXPERIMENT_ID or
 * MLFLOW_EXPERIMENT_NAME as a stage would use them (one not created yet holds no runs), else all.
 */
async function chosenExperiments(store: Store, experiment: string | undefined, env: NodeJS.ProcessEnv): Promise<string[] | 'all'> {
  if (experiment) {
    const found = await findExperiment(store, experiment);
    if (!found) throw new NotFound(`no experiment '${experiment}' in ${store.displayUri}`);
    return [found];
  }
  if (env.MLFLOW_EXPERIMENT_ID) return [env.MLFLOW_EXPERIMENT_ID];
  if (env.MLFLOW_EXPERIMENT_NAME) {
    const found = await store.getExperimentByName(env.MLFLOW_EXPERIMENT_NAME);
    return found ? [found.experimentId] : [];
  }
  return 'all';
}

async function findExperiment(store: Store, idOrName: string): Promise<string | undefined> {
  const byId = await experimentWithId(store, idOrName);
  if (byId?.lifecycleStage === 'active') return byId.experimentId;
  const byName = await store.getExperimentByName(idOrName);
  return byName?.lifecycleStage === 'active' ? byName.experimentId : undefined;
}
