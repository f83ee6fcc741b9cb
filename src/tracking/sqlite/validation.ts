// MLflow's input checks (mlflow/utils/validation.py), with its messages. The embedded store runs
// them itself because nothing sits between it and the database.
import { TrackingError } from '../errors.ts';
import { MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH } from '../limits.ts';
import type { DatasetInput, Metric, Param, Tag } from '../store.ts';
import { pyFloat, pyJsonString, pyLength, pyNormpath, pyRepr, pyReprList, pySlice } from './python-format.ts';

const MAX_EXPERIMENT_NAME_LENGTH = 500;
const MAX_DATASET_NAME_SIZE = 500;
const MAX_DATASET_DIGEST_SIZE = 36;
const MAX_DATASET_SOURCE_SIZE = 65535;
const MAX_INPUT_TAG_VALUE_SIZE = 500;

// Python's `\w` is Unicode-aware, and its `$` also matches before one final newline.
const KEY_PATTERN = /^[/\p{L}\p{N}_.\- :]*\n?$/u;
const BAD_CHARACTERS =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).';
const RUN_ID_PATTERN = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,255}\n?$/u;

export function invalid(message: string): TrackingError {
  return new TrackingError(message, 'INVALID_PARAMETER_VALUE');
}

function invalidValue(path: string, value: string | number, message?: string): TrackingError {
  const shown = typeof value === 'string' ? pyJsonString(value) : String(value);
  return invalid(`Invalid value ${shown} for parameter '${path}' supplied${message ? `: ${message}` : '.'}`);
}

function jsonPath(base: string, field: string): string {
  return base ? `${base}.${field}` : field;
}

function validateKey(key: string, path: string): void {
  if (!KEY_PATTERN.test(key)) throw invalidValue(path, key, BAD_CHARACTERS);
  const norm = pyNormpath(key);
  if (norm !== key || norm === '.' || norm.startsWith('..') || norm.startsWith('/')) {
    throw invalidValue(
      path,
      key,
      `Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to ${pyRepr(norm)}`,
    );
  }
}

function checkKeyLength(entity: string, key: string): void {
  if (pyLength(key) > MAX_ENTITY_KEY_LENGTH) {
    throw invalid(`'${entity}' exceeds the maximum length of ${MAX_ENTITY_KEY_LENGTH} characters`);
  }
}

/** MLflow truncates over-long param and tag values (MLFLOW_TRUNCATE_LONG_VALUES, on by default). */
function truncate(value: string, limit: number): string {
  return value.length <= limit ? value : pySlice(value, limit);
}

export function validateRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) throw invalidValue('run_id', runId);
}

export function validateParam(param: Param, index: number): Param {
  validateKey(param.key, `params[${index}].key`);
  checkKeyLength('Param key', param.key);
  return { key: param.key, value: truncate(param.value, MAX_PARAM_VAL_LENGTH) };
}

export function validateTag(tag: Tag, index: number): Tag {
  const path = `tags[${index}]`;
  validateKey(tag.key, jsonPath(path, 'key'));
  checkKeyLength(jsonPath(path, 'key'), tag.key);
  return { key: tag.key, value: truncate(tag.value, MAX_TAG_VAL_LENGTH) };
}

/** `validKeys`: metric names already checked in this batch (a batch repeats few names). */
export function validateMetric(metric: Metric, index: number, validKeys: Set<string>): void {
  const path = `metrics[${index}]`;
  const { key, value, timestamp, step } = metric;
  if (!validKeys.has(key)) {
    validateKey(key, jsonPath(path, 'name'));
    checkKeyLength('Metric name', key);
    validKeys.add(key);
  }
  if (typeof value !== 'number') {
    throw invalidValue(jsonPath(path, 'value'), String(value),
      `(timestamp=${timestamp}). Please specify value as a valid double (64-bit floating point)`);
  }
  // MLflow's column types are 64-bit integers; a JS number is exact up to 2^53.
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw invalidValue(jsonPath(path, 'timestamp'), timestamp,
      `metric '${key}' (value=${pyFloat(value)}). Timestamp must be a nonnegative long (64-bit integer) `);
  }
  if (!Number.isSafeInteger(step)) {
    throw invalidValue(jsonPath(path, 'step'), step,
      `metric '${key}' (value=${pyFloat(value)}). Step must be a valid long (64-bit integer).`);
  }
}

export function checkParamKeysUnique(params: Param[]): void {
  const seen = new Set<string>();
  const duplicates = params.filter((p) => seen.size === seen.add(p.key).size).map((p) => p.key);
  if (duplicates.length) {
    throw invalid(`Duplicate parameter keys have been submitted: [${duplicates.map(pyRepr).join(', ')}]. Please ensure the request contains only one param value per param key.`);
  }
}

export function changedParamsError(runId: string, changed: { key: string; old_value: string; new_value: string }[]): TrackingError {
  return invalid(`Changing param values is not allowed. Params were already logged='${pyReprList(changed)}' for run ID='${runId}'.`);
}

/** MLflow's `_validate_dataset` and `_validate_input_tag` (SQLite itself ignores VARCHAR sizes). */
export function validateDatasetInput(input: DatasetInput): void {
  const limits = [['name', input.name, MAX_DATASET_NAME_SIZE], ['digest', input.digest, MAX_DATASET_DIGEST_SIZE], ['source', input.source, MAX_DATASET_SOURCE_SIZE]] as const;
  for (const [field, value, limit] of limits) {
    if (pyLength(value) > limit) throw invalid(`'${field}' exceeds the maximum length of ${limit} characters`);
  }
  // The one input tag is mlflow.data.context, whose key is well within MAX_INPUT_TAG_KEY_SIZE.
  if (input.context && pyLength(input.context) > MAX_INPUT_TAG_VALUE_SIZE) {
    throw invalid(`'value' exceeds the maximum length of ${MAX_INPUT_TAG_VALUE_SIZE} characters`);
  }
}

export function validateExperimentName(name: string): void {
  if (name === '') throw invalid("Invalid experiment name: ''");
  if (pyLength(name) > MAX_EXPERIMENT_NAME_LENGTH) {
    throw invalid(`'name' exceeds the maximum length of ${MAX_EXPERIMENT_NAME_LENGTH} characters`);
  }
}

/** MLflow's `_parse_experiment_id`: experiment ids are integers in the SQL store. */
export function parseExperimentId(experimentId: string): number {
  const trimmed = experimentId.trim();
  if (!/^[+-]?\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw invalid(`Invalid experiment ID '${experimentId}'. Experiment ID must be a valid integer.`);
  }
  return Number(trimmed);
}
