// A stage's settings, resolved once before its command starts, each from the first place that
// sets it: flag > `meta: {mlrun: ...}` of the stage in dvc.yaml > mlrun.yaml at the project root >
// default. A wrong value is a usage error (exit 2) naming where it came from.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { MetricConfigOptions } from '../metrics/parse/config.ts';
import type { MetricsFrom } from '../metrics/parse/stream.ts';
import type { HistorySettings } from '../system/history.ts';
import { UsageError } from './usage-error.ts';

export const PROJECT_FILE = 'mlrun.yaml';

/** The flags, as commander gives them: undefined when not given. */
export interface SettingFlags {
  metricPattern?: string[];
  metric?: string[];
  defaultPatterns?: boolean;
  metrics?: string;
  metricsFrom?: string;
  stepKeys?: string;
  outputLog?: boolean;
  autoParent?: boolean;
  systemMetrics?: boolean;
}

export interface StageSettings {
  metrics: MetricConfigOptions;
  metricsFrom: MetricsFrom;
  outputLog: boolean;
  /** Whether a stage of a plain `dvc repro` with no parent given nests under a parent of its launch. */
  autoParent: boolean;
  /** The histories of MLflow's system metrics, when asked for (the summary is always logged). */
  systemMetrics: HistorySettings | undefined;
}

/** One source of settings, in the spelling of dvc.yaml and mlrun.yaml (snake_case keys). */
type Layer = { where: string; values: Record<string, unknown> };

export function resolveStageSettings(flags: SettingFlags, stageMeta: unknown, projectRoot: string, env: NodeJS.ProcessEnv): StageSettings {
  const layers: Layer[] = [
    { where: 'the command line', values: fromFlags(flags) },
    { where: "the stage's meta.mlrun in dvc.yaml", values: mlrunSection(stageMeta, "the stage's meta.mlrun in dvc.yaml") },
    { where: PROJECT_FILE, values: readProjectFile(projectRoot) },
    // MLflow's own switch, below every explicit setting as mlflow.start_run(log_system_metrics=) is.
    { where: 'the environment', values: { system_metrics: envValue(env, SYSTEM_METRICS_SWITCH, mlflowBoolean) } },
  ];
  const layerOf = (key: string) => layers.find((layer) => layer.values[key] !== undefined);
  const first = <T>(key: string, check: (value: unknown, where: string) => T): T | undefined => {
    const layer = layerOf(key);
    return layer ? check(layer.values[key], `${key} in ${layer.where}`) : undefined;
  };
  /** How an error names a pattern's origin: the flag as typed, else the key and its file. */
  const origin = (key: string, flag: string): string => {
    const layer = layerOf(key);
    return !layer || layer === layers[0] ? flag : `${key} in ${layer.where}`;
  };
  const metricsMode = first('metrics', oneOf(['on', 'none']));
  return {
    metrics: {
      patterns: first('metric_patterns', stringList),
      named: first('metric', namedList),
      defaults: first('default_patterns', boolean),
      stepKeys: first('step_keys', stringList),
      enabled: metricsMode !== 'none',
      origins: { patterns: origin('metric_patterns', '--metric-pattern'), named: origin('metric', '--metric') },
    },
    metricsFrom: first('metrics_from', oneOf(['stdout', 'stderr', 'both'])) ?? 'stdout',
    outputLog: first('output_log', boolean) ?? true,
    autoParent: first('auto_parent', boolean) ?? true,
    systemMetrics: first('system_metrics', boolean) ? historySettings(env) : undefined,
  };
}

const SYSTEM_METRICS_SWITCH = 'MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING';

/** MLflow's variables and defaults (mlflow/environment_variables.py, SystemMetricsMonitor). */
function historySettings(env: NodeJS.ProcessEnv): HistorySettings {
  const positive = (parse: (text: string) => number) => (text: string, where: string) => {
    const value = parse(text);
    if (!(value > 0)) throw new UsageError(`${where} must be a positive number, not '${text}'`);
    return value;
  };
  return {
    intervalSeconds: envValue(env, 'MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL', positive(Number)) ?? 10,
    samplesBeforeLogging: envValue(env, 'MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING', positive((text) => (/^\s*\d+\s*$/.test(text) ? Number(text) : NaN))) ?? 1,
    nodeId: env.MLFLOW_SYSTEM_METRICS_NODE_ID || undefined,
  };
}

function envValue<T>(env: NodeJS.ProcessEnv, name: string, check: (text: string, where: string) => T): T | undefined {
  const text = env[name];
  return text === undefined || text === '' ? undefined : check(text, name);
}

/** MLflow's _BooleanEnvironmentVariable: true, false, 1 or 0, in any case. */
const mlflowBoolean = (text: string, where: string): boolean => {
  const value = text.toLowerCase();
  if (!['true', 'false', '1', '0'].includes(value)) throw new UsageError(`${where} must be true, false, 1 or 0, not '${text}'`);
  return value === 'true' || value === '1';
};

function fromFlags(flags: SettingFlags): Record<string, unknown> {
  return {
    metric_patterns: flags.metricPattern,
    metric: flags.metric,
    default_patterns: flags.defaultPatterns,
    metrics: flags.metrics,
    metrics_from: flags.metricsFrom,
    step_keys: flags.stepKeys?.split(',').map((key) => key.trim()),
    output_log: flags.outputLog,
    auto_parent: flags.autoParent,
    system_metrics: flags.systemMetrics,
  };
}

function readProjectFile(projectRoot: string): Record<string, unknown> {
  const file = path.join(projectRoot, PROJECT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return section(YAML.parse(text) ?? {}, PROJECT_FILE);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

function mlrunSection(meta: unknown, where: string): Record<string, unknown> {
  if (meta === undefined || meta === null || typeof meta !== 'object') return {};
  const value = (meta as Record<string, unknown>).mlrun;
  return value === undefined ? {} : section(value, where);
}

function section(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

const stringList = (value: unknown, where: string): string[] => {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) throw new UsageError(`${where} must be a list of strings`);
  return list;
};

/** NAME=REGEX strings, or in YAML a mapping NAME: REGEX. */
const namedList = (value: unknown, where: string): string[] => {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return Object.entries(value).map(([name, regex]) => `${name}=${String(regex)}`);
  }
  return stringList(value, where);
};

const boolean = (value: unknown, where: string): boolean => {
  if (typeof value !== 'boolean') throw new UsageError(`${where} must be true or false`);
  return value;
};

function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: unknown, where: string): T => {
    if (!allowed.includes(value as T)) throw new UsageError(`${where} must be one of ${allowed.join(', ')}, not '${String(value)}'`);
    return value as T;
  };
}
