/** A stage's `params:` values, flattened for a tracker: `{key: text}`. */
import path from 'node:path';
import type { Data } from './data.ts';
import { isMap, pyFloat, toJson } from './data.ts';
import { readDataFile } from './files.ts';
import type { ParamsDep, Stage } from './stage.ts';

export interface ParamsValues {
  /**
   * Keys from the stage's default `params.yaml` are bare (`train.lr`); keys from other files carry
   * the file as DVC's `-S` option writes it (`config.json:train.lr`), files relative to the wdir.
   */
  values: Record<string, string>;
  /** One line per listed key that is not there, e.g. `'lr' not found in 'params.yaml'`. */
  skipped: string[];
  /** One line per listed file that could not be read or is not a dictionary: all its params are missing. */
  unreadable: string[];
}

/** Text of a param value: numbers as DVC prints them in `cmd` (`0.001`, `1e-05`, `1.0`), lists and dicts as JSON. */
function formatParam(value: Data): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pyFloat(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  return toJson(value);
}

/** Leaves of nested dicts, keys joined with `.` (DVC's own params notation); lists stay whole. */
export function flattenParams(value: Data, prefix: string, into: Record<string, string> = {}): Record<string, string> {
  if (isMap(value) && (Object.keys(value).length || !prefix)) {
    for (const [k, v] of Object.entries(value)) flattenParams(v, prefix ? `${prefix}.${k}` : k, into);
  } else if (prefix) {
    into[prefix] = formatParam(value);
  }
  return into;
}

export function paramsPrefix(file: string): string {
  return file === 'params.yaml' ? '' : `${file}:`;
}

/** `dpath.get(config, key, separator='.')`: dot segments through dicts and list indices. */
function getPath(config: Data, key: string): Data | undefined {
  let node: Data | undefined = config;
  for (const segment of key.split('.')) {
    if (Array.isArray(node)) node = /^\d+$/.test(segment) ? node[Number(segment)] : undefined;
    else if (isMap(node)) node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

function readOne(stage: Stage, dep: ParamsDep, result: ParamsValues): void {
  const file = path.resolve(stage.wdir, dep.file);
  let config: Data;
  try {
    config = readDataFile(file);
  } catch (err) {
    result.unreadable.push((err as Error).message);
    return;
  }
  const prefix = paramsPrefix(dep.file);
  if (dep.keys === 'all') {
    if (isMap(config)) Object.assign(result.values, prefixed(flattenParams(config, ''), prefix));
    else result.unreadable.push(`'${dep.file}' does not hold a dictionary`);
    return;
  }
  for (const key of dep.keys) {
    const value = getPath(config, key);
    if (value === undefined) result.skipped.push(`'${key}' not found in '${dep.file}'`);
    else Object.assign(result.values, prefixed(flattenParams(value, key), prefix));
  }
}

function prefixed(values: Record<string, string>, prefix: string): Record<string, string> {
  return prefix ? Object.fromEntries(Object.entries(values).map(([k, v]) => [prefix + k, v])) : values;
}

/** Reads every params file the stage lists (relative to its wdir). Unreadable files and missing keys are skipped with a reason. */
export function readStageParams(stage: Stage): ParamsValues {
  const result: ParamsValues = { values: {}, skipped: [], unreadable: [] };
  for (const dep of stage.params) readOne(stage, dep, result);
  return result;
}
