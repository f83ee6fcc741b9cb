import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MLFLOW_BATCH_LIMITS, splitBatch } from '../../src/tracking/rest/batch.ts';
import { encodeBatch } from '../../src/tracking/rest/codec.ts';
import type { Batch, Metric, Param, Tag } from '../../src/tracking/store.ts';

const RUN = '0123456789abcdef0123456789abcdef';

const metrics = (n: number, prefix = 'm'): Metric[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i % 7}`, value: i / 3, timestamp: 1_700_000_000_000 + i, step: i }));
const params = (n: number, size = 1): Param[] => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: 'v'.repeat(size) }));
const tags = (n: number, size = 1): Tag[] => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, value: 'w'.repeat(size) }));

function bodyBytes(chunk: Batch): number {
  return Buffer.byteLength(JSON.stringify(encodeBatch(RUN, chunk)));
}

function counts(chunks: Batch[]): [number, number, number][] {
  return chunks.map((c) => [c.metrics?.length ?? 0, c.params?.length ?? 0, c.tags?.length ?? 0]);
}

function rejoin(chunks: Batch[]): Required<Batch> {
  return {
    metrics: chunks.flatMap((c) => c.metrics ?? []),
    params: chunks.flatMap((c) => c.params ?? []),
    tags: chunks.flatMap((c) => c.tags ?? []),
  };
}

test('an empty batch needs no request', () => {
  assert.deepEqual(splitBatch(RUN, {}), []);
  assert.deepEqual(splitBatch(RUN, { metrics: [], params: [], tags: [] }), []);
});

test('a small batch is one request, unchanged', () => {
  const batch = { metrics: metrics(3), params: params(2), tags: tags(1) };
  assert.deepEqual(splitBatch(RUN, batch), [batch]);
});

test('2500 metrics + 150 params + 150 tags: params and tags first, metrics fill up to 1000 entities', () => {
  const batch = { metrics: metrics(2500), params: params(150), tags: tags(150) };
  const chunks = splitBatch(RUN, batch);
  assert.deepEqual(counts(chunks), [
    [800, 100, 100],
    [900, 50, 50],
    [800, 0, 0],
  ]);
  assert.deepEqual(rejoin(chunks), batch);
});

test('metrics alone go 1000 to a request', () => {
  assert.deepEqual(counts(splitBatch(RUN, { metrics: metrics(2001) })), [[1000, 0, 0], [1000, 0, 0], [1, 0, 0]]);
});

test('params and tags alone go 100 of each to a request', () => {
  assert.deepEqual(counts(splitBatch(RUN, { params: params(250), tags: tags(120) })), [[0, 100, 100], [0, 100, 20], [0, 50, 0]]);
});

test('large values are split to keep each body within 1 MB, measured on the serialized JSON', () => {
  // 300 params × ~6000 bytes and 300 tags × 8000 bytes (the value limits) = ~4.2 MB
  const batch = { params: params(300, 6000), tags: tags(300, 8000), metrics: metrics(50) };
  const chunks = splitBatch(RUN, batch);
  for (const chunk of chunks) {
    assert.ok(bodyBytes(chunk) <= MLFLOW_BATCH_LIMITS.bytes, `chunk of ${bodyBytes(chunk)} bytes`);
    assert.ok((chunk.params?.length ?? 0) <= 100 && (chunk.tags?.length ?? 0) <= 100);
  }
  assert.deepEqual(rejoin(chunks), batch);
  // Bytes bound the first three (each ends less than one tag short of 1 MB), counts the fourth.
  assert.deepEqual(counts(chunks), [
    [50, 100, 49],
    [0, 100, 49],
    [0, 100, 49],
    [0, 0, 100],
    [0, 0, 53],
  ]);
  for (const chunk of chunks.slice(0, 3)) assert.ok(bodyBytes(chunk) > MLFLOW_BATCH_LIMITS.bytes - 8100);
});

test('multi-byte characters count in UTF-8 bytes', () => {
  const batch = { tags: tags(100, 2000).map((t) => ({ ...t, value: '€'.repeat(2000) })) };
  const chunks = splitBatch(RUN, batch);
  // 100 × 6000 bytes = 600 kB: one request; 200 would not fit.
  assert.equal(chunks.length, 1);
  const doubled = splitBatch(RUN, { tags: [...batch.tags, ...batch.tags.map((t) => ({ ...t, key: `${t.key}b` }))] });
  assert.deepEqual(counts(doubled), [[0, 0, 100], [0, 0, 100]]);
  const wide = splitBatch(RUN, { params: params(100, 1).map((p) => ({ ...p, value: '€'.repeat(4000) })) });
  for (const chunk of wide) assert.ok(bodyBytes(chunk) <= MLFLOW_BATCH_LIMITS.bytes);
  assert.deepEqual(counts(wide), [[0, 83, 0], [0, 17, 0]]);
});

test('an entry too big for any request still goes, alone', () => {
  const huge = { key: 'huge', value: 'x'.repeat(1_200_000) };
  const chunks = splitBatch(RUN, { tags: [{ key: 'a', value: '1' }, huge, { key: 'b', value: '2' }], metrics: metrics(2) });
  assert.deepEqual(chunks, [{ tags: [{ key: 'a', value: '1' }], metrics: metrics(2) }, { tags: [huge] }, { tags: [{ key: 'b', value: '2' }] }]);
});

test('custom limits are honoured', () => {
  const limits = { metrics: 3, params: 2, tags: 2, entities: 4, bytes: 1_000_000 };
  assert.deepEqual(counts(splitBatch(RUN, { metrics: metrics(5), params: params(3), tags: tags(1) }, limits)), [
    [1, 2, 1],
    [3, 1, 0],
    [1, 0, 0],
  ]);
});

test('NaN and ±Infinity are measured as the strings sent', () => {
  const special = [NaN, Infinity, -Infinity].map((value, i) => ({ key: 'm', value, timestamp: 1, step: i }));
  const [chunk] = splitBatch(RUN, { metrics: special });
  assert.equal(JSON.stringify(encodeBatch(RUN, chunk!).metrics?.map((m) => m.value)), '["NaN","Infinity","-Infinity"]');
});
