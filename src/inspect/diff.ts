// `mlrun diff [run] [run]`: two runs' params and metrics side by side, as `dvc params diff` and
// `dvc metrics diff` print theirs (dvc/compare.py `diff_table`: `Param old new`, `Metric old new
// Change`, keys sorted, `-` for a missing value, metrics rounded to 5 digits); only what differs
// unless --all. With no runs named: the two latest launches, older first. What a run cost
// (`system/…` metrics) is left out unless --system: it differs between any two runs and would
// bury the differences of results.
import { UsageError } from '../settings/usage-error.ts';
import type { Run } from '../tracking/store.ts';
import { formatNumber, outputStyle, renderTable, type Cell, type Column } from './format.ts';
import { isLaunch } from './launches.ts';
import { withSource, type Source, type SourceOptions } from './source.ts';

export interface DiffOptions extends SourceOptions {
  all?: boolean;
  system?: boolean;
  json?: boolean;
}

interface Change<T> {
  old: T | null;
  new: T | null;
}

export async function diffCommand(names: string[], options: DiffOptions): Promise<number> {
  if (names.length === 1 || names.length > 2) throw new UsageError(`mlrun diff compares two runs: name both, or neither for the last two launches (got ${names.length})`);
  return withSource(options, async (source) => {
    const pair = names.length === 2 ? await Promise.all([source.run(names[0]!), source.run(names[1]!)]) : await lastTwoLaunches(source);
    if (!pair) {
      if (options.json) process.stdout.write(`${JSON.stringify({ runs: [], params: {}, metrics: {} }, null, 2)}\n`);
      else process.stderr.write(`mlrun: fewer than two launches in ${source.displayUri}: nothing to compare\n`);
      return 0;
    }
    const [a, b] = pair;
    const params = changes(a.params, b.params, options.all === true);
    const compared = (run: Run) => (options.system ? run.metrics : resultsOf(run.metrics));
    const metrics = changes(compared(a), compared(b), options.all === true);
    if (options.json) {
      const withDiff = Object.fromEntries(Object.entries(metrics).map(([key, change]) => [key, { ...change, diff: difference(change) }]));
      const runs = pair.map((run) => ({ runId: run.info.runId, name: run.info.runName }));
      process.stdout.write(`${JSON.stringify({ runs, params, metrics: withDiff }, null, 2)}\n`);
      return 0;
    }
    const style = outputStyle(process.env);
    const [nameA, nameB] = headers(a, b);
    const tables: string[][] = [];
    const paramRows = Object.entries(params).map(([key, change]): Cell[] => [{ text: key }, { text: change.old ?? '-' }, { text: change.new ?? '-' }]);
    if (paramRows.length > 0) tables.push(renderTable([{ header: 'Param' }, { header: nameA }, { header: nameB }], paramRows, style));
    const metricRows = Object.entries(metrics).map(([key, change]): Cell[] => {
      const diff = difference(change);
      return [{ text: key }, { text: shown(change.old) }, { text: shown(change.new) }, { text: shown(diff) }];
    });
    const metricColumns: Column[] = [{ header: 'Metric' }, { header: nameA }, { header: nameB }, { header: 'Change' }];
    if (metricRows.length > 0) tables.push(renderTable(metricColumns, metricRows, style));
    if (tables.length > 0) process.stdout.write(`${tables.map((lines) => lines.join('\n')).join('\n\n')}\n`);
    return 0;
  });
}

async function lastTwoLaunches(source: Source): Promise<[Run, Run] | undefined> {
  const launches = (await source.topLevel()).filter(isLaunch);
  return launches.length < 2 ? undefined : [launches[1]!, launches[0]!];
}

/** Each key of either side, sorted; only those whose values differ unless `all`. */
function changes<T>(a: Record<string, T>, b: Record<string, T>, all: boolean): Record<string, Change<T>> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const found: Record<string, Change<T>> = {};
  for (const key of keys) {
    const change = { old: key in a ? a[key]! : null, new: key in b ? b[key]! : null };
    if (all || !Object.is(change.old, change.new)) found[key] = change;
  }
  return found;
}

function difference(change: Change<number>): number | null {
  return change.old === null || change.new === null ? null : change.new - change.old;
}

function shown(value: number | null): string {
  return value === null ? '-' : formatNumber(value);
}

/** The two columns: the runs' names, or their ids where the names are the same. */
function headers(a: Run, b: Run): [string, string] {
  return a.info.runName !== b.info.runName ? [a.info.runName, b.info.runName] : [a.info.runId, b.info.runId];
}

/** The metrics that are results: not what the run cost (`system/…`, MLflow's prefix for system metrics). */
function resultsOf(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([key]) => !key.startsWith('system/')));
}
