import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRun, decodeRunInfo, encodeBatch, encodeDouble, parseNumber } from '../../src/tracking/rest/codec.ts';

test('NaN and ±Infinity are encoded as protobuf-JSON strings, other numbers as numbers', () => {
  assert.deepEqual([NaN, Infinity, -Infinity, 0, -1.5, 1e300].map(encodeDouble), ['NaN', 'Infinity', '-Infinity', 0, -1.5, 1e300]);
});

test('a batch is encoded with snake_case fields and without empty lists', () => {
  const wire = encodeBatch('r1', { metrics: [{ key: 'loss', value: NaN, timestamp: 5, step: 2 }], params: [], tags: [{ key: 't', value: 'v' }] });
  assert.equal(JSON.stringify(wire), '{"run_id":"r1","metrics":[{"key":"loss","value":"NaN","timestamp":5,"step":2}],"tags":[{"key":"t","value":"v"}]}');
});

test('numbers are parsed leniently: JSON numbers, numeric strings, NaN and Infinity strings', () => {
  assert.deepEqual(
    [12, '1700000000123', '-3', 'NaN', 'Infinity', '-Infinity', '1.5e3', '', 'abc', null, undefined].map(parseNumber),
    [12, 1700000000123, -3, NaN, Infinity, -Infinity, 1500, undefined, undefined, undefined, undefined],
  );
});

test('a run is decoded with int64 as numbers or strings and omitted fields defaulted', () => {
  const run = decodeRun({
    info: { run_uuid: 'abc', experiment_id: '3', run_name: 'r', status: 'FINISHED', start_time: '100', end_time: 200, artifact_uri: 'a', lifecycle_stage: 'active', user_id: 'u' },
    data: { tags: [{ key: 'k', value: 'v' }], params: [{ key: 'p', value: '1' }], metrics: [{ key: 'm', value: 'NaN' }] },
    inputs: {
      dataset_inputs: [
        { tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset: { name: 'd', digest: '12ab', source_type: 'local', source: '{"uri": "d.csv"}', schema: '' } },
        { dataset: { name: 'e', digest: '34cd', source_type: 'http', source: '{"url": "http://x/e"}' } },
      ],
    },
  });
  assert.deepEqual(run, {
    info: { runId: 'abc', experimentId: '3', runName: 'r', status: 'FINISHED', startTime: 100, endTime: 200, artifactUri: 'a', lifecycleStage: 'active', userId: 'u' },
    tags: { k: 'v' },
    params: { p: '1' },
    metrics: { m: NaN },
    inputs: [
      { name: 'd', digest: '12ab', sourceType: 'local', source: '{"uri": "d.csv"}', context: 'training' },
      { name: 'e', digest: '34cd', sourceType: 'http', source: '{"url": "http://x/e"}' },
    ],
  });
  const running = decodeRunInfo({ run_id: 'x', experiment_id: '0', status: 'RUNNING', start_time: 1 });
  assert.equal('endTime' in running, false);
  assert.deepEqual(decodeRun({ info: { run_id: 'x' } }).tags, {});
  assert.deepEqual(decodeRun({ info: { run_id: 'x' } }).inputs, []);
  assert.deepEqual(decodeRun({ info: { run_id: 'x' } }).metrics, {});
});
