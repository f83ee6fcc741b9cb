// MLflow's protobuf-JSON on the wire ↔ the Store's types. Requests: NaN/±Infinity as the strings
// protobuf-JSON uses (JSON.stringify would send null, which the server rejects). Responses:
// snake_case fields, omitted when empty, int64 as numbers or numeric strings (the Go store).
import type { Batch, DatasetInput, Experiment, LifecycleStage, Metric, Run, RunInfo, RunStatus, Tag } from '../store.ts';

export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface WireBatch {
  run_id: string;
  metrics?: { key: string; value: WireNumber; timestamp: number; step: number }[];
  params?: { key: string; value: string }[];
  tags?: { key: string; value: string }[];
}

export function encodeDouble(value: number): WireNumber {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export function encodeMetric(metric: Metric): NonNullable<WireBatch['metrics']>[number] {
  return { key: metric.key, value: encodeDouble(metric.value), timestamp: metric.timestamp, step: metric.step };
}

export function encodeBatch(runId: string, batch: Batch): WireBatch {
  const wire: WireBatch = { run_id: runId };
  if (batch.metrics?.length) wire.metrics = batch.metrics.map(encodeMetric);
  if (batch.params?.length) wire.params = batch.params.map(({ key, value }) => ({ key, value }));
  if (batch.tags?.length) wire.tags = batch.tags.map(({ key, value }) => ({ key, value }));
  return wire;
}

export const DATASET_CONTEXT_TAG = 'mlflow.data.context';

export interface WireDatasetInput {
  tags?: { key: string; value: string }[];
  dataset: { name: string; digest: string; source_type: string; source: string };
}

/** As the Python client's `_create_dataset_input` builds it: no context, no tag (nor an empty list). */
export function encodeDatasetInput(input: DatasetInput): WireDatasetInput {
  const dataset = { name: input.name, digest: input.digest, source_type: input.sourceType, source: input.source };
  return input.context ? { tags: [{ key: DATASET_CONTEXT_TAG, value: input.context }], dataset } : { dataset };
}

/** A protobuf-JSON number: a JSON number, a numeric string, or "NaN"/"Infinity"/"-Infinity". */
export function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (value === 'NaN') return NaN;
  const parsed = Number(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

type Json = Record<string, unknown>;

export function decodeExperiment(wire: Json): Experiment {
  return {
    experimentId: String(wire.experiment_id ?? ''),
    name: String(wire.name ?? ''),
    artifactLocation: String(wire.artifact_location ?? ''),
    lifecycleStage: (wire.lifecycle_stage as LifecycleStage | undefined) ?? 'active',
  };
}

export function decodeRunInfo(wire: Json): RunInfo {
  const endTime = parseNumber(wire.end_time);
  return {
    runId: String(wire.run_id ?? wire.run_uuid ?? ''),
    experimentId: String(wire.experiment_id ?? ''),
    runName: String(wire.run_name ?? ''),
    status: (wire.status as RunStatus | undefined) ?? 'RUNNING',
    startTime: parseNumber(wire.start_time) ?? 0,
    ...(endTime === undefined ? {} : { endTime }),
    artifactUri: String(wire.artifact_uri ?? ''),
    lifecycleStage: (wire.lifecycle_stage as LifecycleStage | undefined) ?? 'active',
    userId: String(wire.user_id ?? ''),
  };
}

export function decodeRun(wire: Json): Run {
  const data = (wire.data ?? {}) as { tags?: Tag[]; params?: Tag[]; metrics?: Json[] };
  const inputs = ((wire.inputs ?? {}) as { dataset_inputs?: WireDatasetInput[] }).dataset_inputs ?? [];
  return {
    info: decodeRunInfo((wire.info ?? {}) as Json),
    tags: toRecord(data.tags),
    params: toRecord(data.params),
    metrics: Object.fromEntries((data.metrics ?? []).map(decodeMetric).map(({ key, value }) => [key, value])),
    inputs: inputs.map(decodeDatasetInput),
  };
}

function decodeDatasetInput(wire: WireDatasetInput): DatasetInput {
  const { dataset } = wire;
  const context = wire.tags?.find((tag) => tag.key === DATASET_CONTEXT_TAG)?.value;
  return {
    name: dataset.name,
    digest: dataset.digest,
    sourceType: dataset.source_type,
    source: dataset.source,
    ...(context ? { context } : {}),
  };
}

export function decodeMetric(wire: Json): Metric {
  return {
    key: String(wire.key ?? ''),
    value: parseNumber(wire.value) ?? NaN,
    timestamp: parseNumber(wire.timestamp) ?? 0,
    step: parseNumber(wire.step) ?? 0,
  };
}

function toRecord(entries: Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const { key, value } of entries ?? []) record[key] = value ?? '';
  return record;
}
