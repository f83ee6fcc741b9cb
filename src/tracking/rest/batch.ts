// Splits a batch of any size into log-batch requests within MLflow's limits
// (mlflow/utils/validation.py). Each kind keeps its order across requests, and requests go out in
// order, so the last value of a tag still wins. Like the Python client, each request carries
// params and tags first and is filled up with metrics.
import { MAX_BATCH_REQUEST_BYTES, MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH } from '../limits.ts';
import type { Batch, Metric, Param, Tag } from '../store.ts';
import { encodeBatch, encodeMetric } from './codec.ts';

export interface BatchLimits {
  metrics: number;
  params: number;
  tags: number;
  entities: number;
  /** UTF-8 bytes of the serialized request body */
  bytes: number;
}

export const MLFLOW_BATCH_LIMITS: BatchLimits = {
  metrics: MAX_METRICS_PER_BATCH,
  params: MAX_PARAMS_TAGS_PER_BATCH,
  tags: MAX_PARAMS_TAGS_PER_BATCH,
  entities: MAX_ENTITIES_PER_BATCH,
  bytes: MAX_BATCH_REQUEST_BYTES,
};

const KINDS = ['params', 'tags', 'metrics'] as const;
type Kind = (typeof KINDS)[number];

/**
 * The requests to send, in order. An entry too big for a request of its own (a value the server
 * will truncate) still goes, alone.
 */
export function splitBatch(runId: string, batch: Batch, limits: BatchLimits = MLFLOW_BATCH_LIMITS): Batch[] {
  const entries = { params: batch.params ?? [], tags: batch.tags ?? [], metrics: batch.metrics ?? [] };
  const next = { params: 0, tags: 0, metrics: 0 };
  // An empty request with all three arrays present: an upper bound for the envelope of any chunk.
  const envelope = byteLength(JSON.stringify({ ...encodeBatch(runId, {}), metrics: [], params: [], tags: [] }));
  const requests: Batch[] = [];

  while (KINDS.some((kind) => next[kind] < entries[kind].length)) {
    const chunk = { params: [] as Param[], tags: [] as Tag[], metrics: [] as Metric[] };
    let bytes = envelope;
    let count = 0;
    for (const kind of KINDS) {
      while (next[kind] < entries[kind].length && chunk[kind].length < limits[kind] && count < limits.entities) {
        // +1 for the comma before it; the first entry has none, so this is a slight overestimate.
        const size = entrySize(kind, entries[kind][next[kind]]!) + 1;
        if (bytes + size > limits.bytes && count > 0) break;
        (chunk[kind] as unknown[]).push(entries[kind][next[kind]++]);
        bytes += size;
        count += 1;
        if (bytes > limits.bytes) break;
      }
    }
    requests.push(withoutEmpty(chunk));
  }
  return requests;
}

function entrySize(kind: Kind, entry: Metric | Param | Tag): number {
  const wire = kind === 'metrics' ? encodeMetric(entry as Metric) : { key: entry.key, value: (entry as Param).value };
  return byteLength(JSON.stringify(wire));
}

function withoutEmpty(chunk: Required<Batch>): Batch {
  const batch: Batch = {};
  if (chunk.metrics.length) batch.metrics = chunk.metrics;
  if (chunk.params.length) batch.params = chunk.params;
  if (chunk.tags.length) batch.tags = chunk.tags;
  return batch;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
