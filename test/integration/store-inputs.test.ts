// Dataset inputs (MLflow's log_inputs) through both stores: a real `mlflow server` and the embedded
// SQLite store, read back with the real MLflow Python client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import type { DatasetInput, Store } from '../../src/tracking/store.ts';
import { venvBin } from '../support/paths.ts';
import { inspectMlflow, type PyDatasetInput } from '../support/python.ts';
import { storeBackends } from '../support/store-backends.ts';
import { rejection } from '../support/assertions.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

// Two deps of a DVC stage, with their md5 from dvc.lock (a directory's ends in `.dir`: 36 chars).
const TRAIN: DatasetInput = {
  name: 'data/train.csv',
  digest: '3f2b9a0c5d6e7f8091a2b3c4d5e6f708',
  sourceType: 'local',
  source: '{"uri": "data/train.csv"}',
  context: 'training',
};
const IMAGES: DatasetInput = {
  name: 'data/images',
  digest: 'b1946ac92492d2347c6235b4d2611184.dir',
  sourceType: 'local',
  source: '{"uri": "data/images"}',
  context: 'validation',
};

/** What the Python client reads for TRAIN and IMAGES, by name. */
const EXPECTED: PyDatasetInput[] = [
  { name: 'data/images', digest: IMAGES.digest, source_type: 'local', source: '{"uri": "data/images"}', tags: { 'mlflow.data.context': 'validation' } },
  { name: 'data/train.csv', digest: TRAIN.digest, source_type: 'local', source: '{"uri": "data/train.csv"}', tags: { 'mlflow.data.context': 'training' } },
];

async function newRun(store: Store, experimentId: string, runName: string): Promise<string> {
  const info = await store.createRun({ experimentId, runName, startTime: Date.now(), userId: 'alice', tags: [] });
  return info.runId;
}

function byName(inputs: PyDatasetInput[] | undefined): PyDatasetInput[] {
  return [...(inputs ?? [])].sort((a, b) => a.name.localeCompare(b.name));
}


for (const backend of storeBackends) {
  describe(backend.name, () => {
    test('two datasets with their context, read back by MLflow; logged again: no duplicates', async () => {
      const { store, uri } = await backend.open();
      const experimentId = await store.createExperiment(unique('inputs'));
      const once = await newRun(store, experimentId, 'once');
      const again = await newRun(store, experimentId, 'again');

      await store.logInputs(once, [TRAIN, IMAGES]);
      // Within a call the first of a name and digest wins.
      await store.logInputs(again, [TRAIN, IMAGES, { ...TRAIN, context: 'other' }]);
      await store.logInputs(again, [TRAIN, IMAGES]);
      // The run's first link keeps its context.
      await store.logInputs(again, [{ ...IMAGES, context: 'testing' }, { ...TRAIN, context: 'testing' }, { ...TRAIN, context: 'other' }]);

      const { runs } = inspectMlflow(uri, { runIds: [once, again], withInputs: true });
      assert.equal(runs.length, 2);
      assert.deepEqual(byName(runs[0]!.inputs), EXPECTED);
      assert.deepEqual(byName(runs[1]!.inputs), EXPECTED);
    });

    test('an empty list, an unknown run, an over-long digest: as MLflow answers them', async () => {
      const { store } = await backend.open();
      const runId = await newRun(store, '0', 'errors');
      await store.logInputs(runId, []);

      const missing = await rejection(store.logInputs('0123456789abcdef0123456789abcdef', [TRAIN]));
      assert.equal(missing.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.ok(missing.message.endsWith('Run with id=0123456789abcdef0123456789abcdef not found'), missing.message);

      const tooLong = await rejection(store.logInputs(runId, [IMAGES, { ...TRAIN, digest: `${'0'.repeat(32)}.dirx` }]));
      assert.equal(tooLong.errorCode, 'INVALID_PARAMETER_VALUE');
      assert.ok(tooLong.message.endsWith("'digest' exceeds the maximum length of 36 characters"), tooLong.message);

      // Checked before anything is written: IMAGES did not go in either.
      const { runs } = inspectMlflow(store.trackingUri, { runIds: [runId], withInputs: true });
      assert.deepEqual(runs[0]!.inputs, []);
    });
  });
}

describe('embedded SQLite: the rows MLflow writes', () => {
  test('datasets, inputs and input_tags, sharing the dataset the Python client logged first', async () => {
    const { store, uri, dir } = await storeBackends[1]!.open();
    const experimentId = await store.createExperiment('inputs');
    const ours = await newRun(store, experimentId, 'ours');
    // The Python client logs TRAIN to a run of its own first, with mlflow.log_input.
    const script = `
import sys, mlflow
from mlflow.data.meta_dataset import MetaDataset
from mlflow.data.sources import LocalArtifactDatasetSource
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run(experiment_id=sys.argv[2]) as run:
    mlflow.log_input(MetaDataset(LocalArtifactDatasetSource("data/train.csv"), name="data/train.csv", digest=sys.argv[3]), context="training")
print(run.info.run_id)
`;
    const theirs = execFileSync(path.join(venvBin, 'python'), ['-c', script, uri, experimentId, TRAIN.digest], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    assert.match(theirs, HEX32);

    await store.logInputs(ours, [TRAIN, IMAGES]);
    await store.logInputs(ours, [TRAIN, IMAGES]);

    const db = new DatabaseSync(path.join(dir!, 'mlflow.db'), { readOnly: true });
    const query = (sql: string, ...params: string[]) => db.prepare(sql).all(...params).map((row) => ({ ...row }));
    try {
      const datasets = query('SELECT * FROM datasets ORDER BY name');
      const [imagesUuid, trainUuid] = datasets.map((row) => String(row.dataset_uuid));
      const dataset = (input: DatasetInput, uuid: string | undefined) => ({
        dataset_uuid: uuid,
        experiment_id: Number(experimentId),
        name: input.name,
        digest: input.digest,
        dataset_source_type: 'local',
        dataset_source: input.source,
        dataset_schema: null,
        dataset_profile: null,
      });
      assert.deepEqual(datasets, [dataset(IMAGES, imagesUuid), dataset(TRAIN, trainUuid)]);

      // Each run's links, by dataset name.
      const linksOf = (runId: string) =>
        query('SELECT i.*, d.name AS dataset FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id WHERE i.destination_id = ? ORDER BY d.name', runId);
      const link = (uuid: unknown, source: string | undefined, run: string, name: string) => ({
        input_uuid: uuid,
        source_type: 'DATASET',
        source_id: source,
        destination_type: 'RUN',
        destination_id: run,
        step: 0,
        dataset: name,
      });
      const [theirTrain] = linksOf(theirs);
      const [ourImages, ourTrain] = linksOf(ours);
      assert.deepEqual(linksOf(theirs), [link(theirTrain?.input_uuid, trainUuid, theirs, TRAIN.name)]);
      assert.deepEqual(linksOf(ours), [link(ourImages?.input_uuid, imagesUuid, ours, IMAGES.name), link(ourTrain?.input_uuid, trainUuid, ours, TRAIN.name)]);
      const uuids = [imagesUuid, trainUuid, theirTrain?.input_uuid, ourImages?.input_uuid, ourTrain?.input_uuid].map(String);
      for (const uuid of uuids) assert.match(uuid, HEX32);
      assert.equal(new Set(uuids).size, 5);
      assert.equal(query('SELECT * FROM inputs').length, 3);

      const tag = (uuid: unknown, value: string) => ({ input_uuid: uuid, name: 'mlflow.data.context', value });
      assert.deepEqual(
        query('SELECT * FROM input_tags ORDER BY input_uuid'),
        [tag(theirTrain?.input_uuid, 'training'), tag(ourImages?.input_uuid, 'validation'), tag(ourTrain?.input_uuid, 'training')].sort((a, b) =>
          String(a.input_uuid).localeCompare(String(b.input_uuid)),
        ),
      );
    } finally {
      db.close();
    }
  });
});
