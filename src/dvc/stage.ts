/** The stage model mlrun uses, built from a resolved stage definition the way DVC's loader reads it. */
import path from 'node:path';
import type { Data, DataMap } from './data.ts';
import { isMap, scalarToStr, toPlain } from './data.ts';
import { DvcError } from './errors.ts';

const DEFAULT_PARAMS_FILE = 'params.yaml';

export interface Output {
  /** As written, relative to the stage's `wdir`. */
  path: string;
  cache: boolean;
  persist: boolean;
  push: boolean;
  remote?: string;
  /** Annotations (`desc`, `type`, `labels`, `meta`) and, for plots, the plot properties. */
  extra: Record<string, unknown>;
}

/** A params file the stage depends on; `file` relative to `wdir`. */
export interface ParamsDep {
  file: string;
  keys: string[] | 'all';
}

export interface Stage {
  /** Expanded name, e.g. `prep@train`, `train@cnn-3`. */
  name: string;
  /** Absolute path of the dvc.yaml defining it. */
  dvcYamlPath: string;
  /** Absolute; the directory DVC runs `cmd` in. */
  wdir: string;
  cmd: string | string[];
  deps: string[];
  params: ParamsDep[];
  outs: Output[];
  metrics: Output[];
  plots: Output[];
  meta: unknown;
  desc?: string;
  frozen: boolean;
  alwaysChanged: boolean;
}

/** `StageLoader.load_stage`: `d` is the stage after templating. */
export function toStage(name: string, dvcYamlPath: string, shown: string, d: DataMap): Stage {
  const problem = (what: string): never => {
    throw new DvcError(`'${shown}': stage '${name}': ${what}`);
  };
  const cmd = d['cmd'];
  const str = (v: Data): string => (isMap(v) ? problem(`cannot use a dictionary here`) : scalarToStr(v));
  const list = (key: string): Data[] => {
    const v = d[key] ?? [];
    return Array.isArray(v) ? v : problem(`'${key}' must be a list`);
  };
  const desc = d['desc'];
  return {
    name,
    dvcYamlPath,
    wdir: path.resolve(path.dirname(dvcYamlPath), typeof d['wdir'] === 'string' ? d['wdir'] : '.'),
    cmd: Array.isArray(cmd) ? cmd.map(str) : str(cmd ?? problem("no 'cmd'")),
    deps: list('deps').map(str),
    params: mergeParams(list('params'), problem),
    outs: mergeOutputs(list('outs'), problem),
    metrics: mergeOutputs(list('metrics'), problem),
    plots: mergeOutputs(list('plots'), problem),
    meta: toPlain(d['meta'] ?? null) ?? undefined,
    ...(typeof desc === 'string' ? { desc } : {}),
    frozen: d['frozen'] === true,
    alwaysChanged: d['always_changed'] === true,
  };
}

/** `_merge_params`: bare keys go to `params.yaml`; `{file: null | []}` tracks the whole file and wins. */
function mergeParams(items: Data[], problem: (what: string) => never): ParamsDep[] {
  const whole = new Set<string>();
  for (const item of items) {
    if (isMap(item)) for (const [file, keys] of Object.entries(item)) if (!keys || (Array.isArray(keys) && !keys.length)) whole.add(file);
  }
  const merged = new Map<string, string[] | 'all'>();
  const add = (file: string, keys: string[]): void => {
    if (whole.has(file)) return void merged.set(file, 'all');
    const current = merged.get(file);
    merged.set(file, [...(Array.isArray(current) ? current : []), ...keys]);
  };
  for (const item of items) {
    if (typeof item === 'string') add(DEFAULT_PARAMS_FILE, [item]);
    else if (isMap(item)) {
      for (const [file, keys] of Object.entries(item)) {
        if (whole.has(file)) add(file, []);
        else if (Array.isArray(keys)) add(file, keys.map((k) => scalarToStr(k)));
        else problem(`params of '${file}' must be a list`);
      }
    } else problem('params must be keys or {file: [keys]}');
  }
  return [...merged].map(([file, keys]) => ({ file, keys }));
}

const OUTPUT_FLAGS = new Set(['cache', 'persist', 'push', 'remote']);

/** `_merge_data`: `path` or `{path: flags}` entries, flags of the same path merged. */
function mergeOutputs(items: Data[], problem: (what: string) => never): Output[] {
  const merged = new Map<string, DataMap>();
  for (const item of items) {
    if (typeof item === 'string') merged.set(item, merged.get(item) ?? {});
    else if (isMap(item)) {
      for (const [p, flags] of Object.entries(item)) {
        // A list of plot definitions for one file is schema-valid; its first entry carries the flags.
        const first = Array.isArray(flags) ? flags[0] : flags;
        if (first !== null && first !== undefined && !isMap(first)) problem(`expected flags for '${p}'`);
        merged.set(p, { ...merged.get(p), ...(isMap(first) ? first : {}) });
      }
    } else problem(`output entries must be paths or {path: flags}`);
  }
  return [...merged].map(([p, flags]) => ({
    path: p,
    cache: flags['cache'] !== false,
    persist: flags['persist'] === true,
    push: flags['push'] !== false,
    ...(typeof flags['remote'] === 'string' ? { remote: flags['remote'] } : {}),
    extra: Object.fromEntries(
      Object.entries(flags)
        .filter(([k]) => !OUTPUT_FLAGS.has(k))
        .map(([k, v]) => [k, toPlain(v)]),
    ),
  }));
}
