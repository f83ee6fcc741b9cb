// The Store contract (src/tracking/store.ts), held by both backends alike: the REST store on a real
// `mlflow server` and the embedded store, each read back by the real MLflow Python client. What
// only one backend has (credentials, a lost server, the SQLite schema) is tested in its own file;
// dataset inputs in store-inputs.test.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { uploadArtifacts } from '../../src/artifacts/upload.ts';
import type { TrackingError } from '../../src/tracking/errors.ts';
import type { DatasetInput, Metric, RunQuery, Store } from '../../src/tracking/store.ts';
import { rejection } from '../support/assertions.ts';
import { tempProject } from '../support/project.ts';
import { deleteRun, inspectMlflow } from '../support/python.ts';
import { storeBackends } from '../support/store-backends.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

/** MLflow's SQL store keeps NaN and returns ±Infinity as ±Number.MAX_VALUE. */
const asStored = (value: number) => (value === Infinity ? Number.MAX_VALUE : value === -Infinity ? -Number.MAX_VALUE : value);

/** Every page of the run's points from `after` on, up to the first empty one (not included). */
async function allPages(store: Store, runId: string, after: string | undefined, max: number): Promise<{ metrics: Metric[]; next?: string }[]> {
  const pages = [];
  for (;;) {
    const page = await store.metricPoints(runId, after, max);
    if (page.metrics.length === 0) {
      assert.equal(page.next, undefined);
      return pages;
    }
    pages.push(page);
    after = page.next;
  }
}

/**
 * MLflow's own message: the REST store puts the request and status before it (`POST … failed with
 * HTTP 400 CODE: `, with `after 2 attempts` when a reused connection had been closed meanwhile).
 */
function mlflowMessage(error: TrackingError): string {
  return error.message.replace(/^\S+ \S+ failed with HTTP \d+ [A-Z_]+(?: after \d+ attempts)?: /, '');
}

for (const backend of storeBackends) {
  describe(backend.name, () => {
    test('experiments: create, create again, by name, by id, missing', async () => {
      const { store, experimentLocation } = await backend.open();
      const name = unique('contract-exp');
      const id = await store.createExperiment(name);
      assert.match(id, /^\d+$/);
      const again = await rejection(store.createExperiment(name));
      assert.equal(again.errorCode, 'RESOURCE_ALREADY_EXISTS');
      assert.equal(again.unreachable, false);
      assert.ok(mlflowMessage(again).startsWith(`Experiment(name=${name}) already exists.`), again.message);
      const expected = { experimentId: id, name, artifactLocation: experimentLocation(id), lifecycleStage: 'active' };
      assert.deepEqual(await store.getExperimentByName(name), expected);
      assert.deepEqual(await store.getExperiment(id), expected);
      assert.equal(await store.getExperimentByName(unique('missing')), undefined);
      assert.equal(await store.getExperiment('987654321'), undefined);
    });

    test('a run: tags, 2500 metrics + 150 params + 150 tags in one call, finished, read back by MLflow', async () => {
      const { store, uri, experimentLocation } = await backend.open();
      const experimentId = await store.createExperiment(unique('contract-run'));
      const startTime = Date.now() - 60_000;
      const info = await store.createRun({
        experimentId,
        runName: 'train',
        startTime,
        userId: 'alice',
        tags: [{ key: 'mlflow.user', value: 'alice' }, { key: 'mlflow.source.type', value: 'LOCAL' }],
      });
      assert.match(info.runId, HEX32);
      assert.deepEqual(info, {
        runId: info.runId,
        experimentId,
        runName: 'train',
        status: 'RUNNING',
        startTime,
        artifactUri: `${experimentLocation(experimentId)}/${info.runId}/artifacts`,
        lifecycleStage: 'active',
        userId: 'alice',
      });

      // 5 keys × 500 steps; `special` cycles through NaN, Infinity, -Infinity and finite values.
      const specials = [NaN, Infinity, -Infinity, 0.5, -2.25];
      const metrics: Metric[] = [];
      for (let step = 0; step < 500; step++) {
        const timestamp = startTime + step;
        metrics.push({ key: 'loss', value: 1 / (step + 1), timestamp, step });
        metrics.push({ key: 'acc', value: step / 500, timestamp, step });
        metrics.push({ key: 'lr', value: 0.001, timestamp, step });
        metrics.push({ key: 'epoch/time', value: step * 1.5, timestamp, step: step * 10 });
        metrics.push({ key: 'special', value: specials[step % 5]!, timestamp, step });
      }
      const params = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: `v${i}` }));
      const tags = Array.from({ length: 150 }, (_, i) => ({ key: `t${i}`, value: `w${i}` }));
      await store.logBatch(info.runId, { metrics, params, tags });
      const endTime = Date.now();
      await store.updateRun(info.runId, { status: 'FINISHED', endTime });

      const [run] = inspectMlflow(uri, { runIds: [info.runId], withHistory: true }).runs;
      assert.ok(run);
      assert.deepEqual(run.info, {
        run_id: info.runId,
        run_name: 'train',
        experiment_id: experimentId,
        status: 'FINISHED',
        start_time: startTime,
        end_time: endTime,
        artifact_uri: info.artifactUri,
        lifecycle_stage: 'active',
        user_id: 'alice',
      });
      assert.deepEqual(run.params, Object.fromEntries(params.map((p) => [p.key, p.value])));
      assert.deepEqual(run.tags, {
        'mlflow.runName': 'train',
        'mlflow.user': 'alice',
        'mlflow.source.type': 'LOCAL',
        ...Object.fromEntries(tags.map((t) => [t.key, t.value])),
      });
      assert.deepEqual(Object.keys(run.history).sort(), ['acc', 'epoch/time', 'loss', 'lr', 'special']);
      const asRead = (value: number) => (Number.isNaN(value) ? 'nan' : asStored(value));
      for (const key of Object.keys(run.history)) {
        const sent = metrics.filter((m) => m.key === key).map((m) => ({ value: asRead(m.value), step: m.step, timestamp: m.timestamp }));
        const read = [...run.history[key]!].sort((a, b) => a.timestamp - b.timestamp);
        assert.equal(read.length, 500, key);
        assert.deepEqual(read, sent, key);
      }

      const mine = await store.getRun(info.runId);
      assert.deepEqual(mine?.info, { ...info, status: 'FINISHED', endTime });
      assert.equal(Object.keys(mine!.params).length, 150);
      assert.equal(Object.keys(mine!.tags).length, 153);
    });

    test('getRun of an unknown id is undefined', async () => {
      const { store } = await backend.open();
      assert.equal(await store.getRun(crypto.randomBytes(16).toString('hex')), undefined);
    });

    test("params are write-once: the same value again is fine, another is INVALID_PARAMETER_VALUE with MLflow's message", async () => {
      const { store } = await backend.open();
      const info = await store.createRun({ experimentId: '0', runName: 'params', startTime: Date.now(), userId: 'u', tags: [] });
      await store.logBatch(info.runId, { params: [{ key: 'lr', value: '0.1' }] });
      await store.logBatch(info.runId, { params: [{ key: 'lr', value: '0.1' }] });
      const error = await rejection(store.logBatch(info.runId, { params: [{ key: 'lr', value: '0.2' }] }));
      assert.equal(error.errorCode, 'INVALID_PARAMETER_VALUE');
      assert.equal(
        mlflowMessage(error),
        `Changing param values is not allowed. Params were already logged='[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.2'}]' for run ID='${info.runId}'.`,
      );
    });

    test('a run closed KILLED keeps its points, and MLflow reads its status and end time', async () => {
      const { store, uri } = await backend.open();
      const info = await store.createRun({ experimentId: '0', runName: 'killed', startTime: 1_700_000_000_000, userId: 'u', tags: [] });
      await store.logBatch(info.runId, { metrics: [{ key: 'loss', value: 0.5, timestamp: 1_700_000_000_001, step: 0 }] });
      await store.updateRun(info.runId, { status: 'KILLED', endTime: 1_700_000_000_002 });
      const [run] = inspectMlflow(uri, { runIds: [info.runId], withHistory: true }).runs;
      assert.equal(run?.info.status, 'KILLED');
      assert.equal(run?.info.end_time, 1_700_000_000_002);
      assert.deepEqual(run?.history.loss, [{ value: 0.5, step: 0, timestamp: 1_700_000_000_001 }]);
    });

    test('findRunsByTag: the active runs with that tag, in the experiments asked, oldest first', async () => {
      const { store } = await backend.open();
      const experimentId = await store.createExperiment(unique('contract-find'));
      const other = await store.createExperiment(unique('contract-find-other'));
      const tag = { key: 'mlrun.synced_from', value: "it's-0123" };
      const create = (experiment: string, startTime: number, tags = [tag]) =>
        store.createRun({ experimentId: experiment, runName: 'r', startTime, userId: 'u', tags }).then((info) => info.runId);
      const second = await create(experimentId, 2_000);
      const first = await create(experimentId, 1_000);
      await create(experimentId, 3_000, [{ key: tag.key, value: 'another' }]);
      const elsewhere = await create(other, 500);
      assert.deepEqual(await store.findRunsByTag([experimentId], tag), [first, second]);
      assert.deepEqual(await store.findRunsByTag([experimentId, other, experimentId], tag), [elsewhere, first, second]);
      assert.deepEqual(await store.findRunsByTag([experimentId], { key: tag.key, value: 'none' }), []);
      assert.deepEqual(await store.findRunsByTag([], tag), []);
    });

    test('searchRuns: every run of the experiments asked (or all), deleted ones too, oldest first, with user, tags, params, inputs', async () => {
      const { store, uri, experimentLocation } = await backend.open();
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => store.createExperiment(unique(`contract-search-${name}`))));
      const create = (experimentId: string, startTime: number, userId = 'u') =>
        store.createRun({ experimentId, runName: `r${startTime}`, startTime, userId, tags: [] }).then((info) => info.runId);
      const newest = await create(a!, 3_000, 'alice');
      const oldest = await create(a!, 1_000);
      const middle = await create(b!, 2_000);
      const deleted = await create(b!, 2_500);
      const elsewhere = await create(c!, 4_000);
      const inputs: DatasetInput[] = [
        { name: 'data/train.csv', digest: '0123456789abcdef0123456789abcdef', sourceType: 'local', source: '{"uri": "data/train.csv"}', context: 'training' },
        { name: 'data/images', digest: 'fedcba9876543210fedcba9876543210.dir', sourceType: 'local', source: '{"uri": "data/images"}' },
      ];
      await store.logBatch(newest, { params: [{ key: 'lr', value: '0.1' }], tags: [{ key: 'mlrun.host', value: 'box' }] });
      await store.logInputs(newest, inputs);
      await store.updateRun(newest, { status: 'FINISHED', endTime: 3_500 });
      deleteRun(uri, deleted);

      const found = await store.searchRuns([a!, b!, a!]);
      assert.deepEqual(found.map((run) => [run.info.runId, run.info.lifecycleStage]), [
        [oldest, 'active'],
        [middle, 'active'],
        [deleted, 'deleted'],
        [newest, 'active'],
      ]);
      const byName = (x: DatasetInput, y: DatasetInput) => x.name.localeCompare(y.name);
      const run = found.at(-1)!;
      assert.deepEqual({ ...run, inputs: [...run.inputs].sort(byName) }, {
        info: {
          runId: newest,
          experimentId: a!,
          runName: 'r3000',
          status: 'FINISHED',
          startTime: 3_000,
          endTime: 3_500,
          artifactUri: `${experimentLocation(a!)}/${newest}/artifacts`,
          lifecycleStage: 'active',
          userId: 'alice',
        },
        tags: { 'mlflow.runName': 'r3000', 'mlrun.host': 'box' },
        params: { lr: '0.1' },
        metrics: {},
        inputs: [...inputs].sort(byName),
      });
      const got = await store.getRun(newest);
      assert.deepEqual([...got!.inputs].sort(byName), [...inputs].sort(byName));
      assert.deepEqual(got!.info, run.info);
      assert.deepEqual(found[0]!.inputs, []);

      const mine = new Set([oldest, middle, deleted, newest, elsewhere]);
      const all = (await store.searchRuns('all')).filter((found) => mine.has(found.info.runId));
      assert.deepEqual(all.map((found) => found.info.runId), [oldest, middle, deleted, newest, elsewhere]);
      assert.deepEqual(await store.searchRuns([]), []);
    });

    test('findRuns: the active runs without a parent, or the children of one, newest first, at most max', async () => {
      const { store, uri } = await backend.open();
      const [experimentId, other] = await Promise.all(['a', 'b'].map((name) => store.createExperiment(unique(`contract-find-${name}`))));
      const create = (runName: string, startTime: number, parent?: string, experiment = experimentId!) =>
        store.createRun({ experimentId: experiment, runName, startTime, userId: 'u', tags: parent ? [{ key: 'mlflow.parentRunId', value: parent }] : [] }).then((info) => info.runId);
      const a = await create('a', 1_000);
      const b = await create('b', 3_000);
      const gone = await create('gone', 4_000);
      await create('c', 2_000);
      await create('a2', 1_200, a);
      await create('a1', 1_100, a);
      await create('b1', 3_100, b);
      await create('x', 5_000, undefined, other);
      deleteRun(uri, gone);
      const names = async (experiments: string[] | 'all', query: RunQuery) => (await store.findRuns(experiments, query)).map((run) => run.info.runName);
      assert.deepEqual(await names([experimentId!], { parent: null }), ['b', 'c', 'a']);
      assert.deepEqual(await names([experimentId!], { parent: null, max: 2 }), ['b', 'c']);
      assert.deepEqual(await names([experimentId!], { parent: a }), ['a2', 'a1']);
      assert.deepEqual(await names([experimentId!, other!], { parent: null, max: 1 }), ['x']);
      const [child] = await store.findRuns('all', { parent: b });
      assert.deepEqual([child!.info.runName, child!.tags], ['b1', { 'mlflow.runName': 'b1', 'mlflow.parentRunId': b }]);
      assert.deepEqual(await store.findRuns([], { parent: null }), []);
    });

    test('metricPoints: pages of at most max hold every point once, each key in the order written; a kept position resumes', async () => {
      const { store } = await backend.open();
      const info = await store.createRun({ experimentId: '0', runName: 'points', startTime: 1_000, userId: 'u', tags: [] });
      const written: Metric[] = [];
      for (let step = 0; step < 7; step++) {
        for (const key of ['loss', 'acc', 'a/b']) {
          const value = key === 'acc' && step === 3 ? NaN : key === 'loss' && step === 5 ? Infinity : step * 0.5 + key.length;
          written.push({ key, value, timestamp: 2_000 + step, step });
        }
      }
      await store.logBatch(info.runId, { metrics: written.slice(0, 10) });
      await store.logBatch(info.runId, { metrics: written.slice(10) });

      const pages = await allPages(store, info.runId, undefined, 4);
      assert.deepEqual(pages.map((page) => page.metrics.length), [4, 4, 4, 4, 4, 1]);
      const read = pages.flatMap((page) => page.metrics);
      const expected = written.map((point) => ({ ...point, value: asStored(point.value) }));
      const ofKey = (points: Metric[], key: string) => points.filter((point) => point.key === key);
      for (const key of ['loss', 'acc', 'a/b']) assert.deepEqual(ofKey(read, key), ofKey(expected, key), key);
      assert.equal(read.length, written.length);

      // A position kept from an earlier call resumes where that page ended, once more and later.
      assert.deepEqual(await allPages(store, info.runId, pages[1]!.next, 4), pages.slice(2));
      assert.deepEqual(await allPages(store, info.runId, pages.at(-1)!.next, 4), []);
      assert.equal(await store.countMetricPoints(info.runId), 21);

      const empty = await store.createRun({ experimentId: '0', runName: 'none', startTime: 1_000, userId: 'u', tags: [] });
      assert.deepEqual(await store.metricPoints(empty.runId, undefined, 4), { metrics: [] });
      assert.equal(await store.countMetricPoints(empty.runId), 0);
      const unknown = crypto.randomBytes(16).toString('hex');
      assert.equal((await rejection(store.metricPoints(unknown, undefined, 4))).errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal((await rejection(store.countMetricPoints(unknown))).errorCode, 'RESOURCE_DOES_NOT_EXIST');
    });

    test('latest metrics (largest step, NaN kept) on getRun and searchRuns; listArtifacts: every file in every folder, sorted', async () => {
      const { store, uri, dir } = await backend.open();
      const experimentId = await store.createExperiment(unique('contract-latest'));
      const info = await store.createRun({ experimentId, runName: 'latest', startTime: 1_000, userId: 'u', tags: [] });
      const point = (key: string, step: number, value: number) => ({ key, value, timestamp: 2_000 + step, step });
      await store.logBatch(info.runId, { metrics: [point('loss', 0, 1), point('loss', 2, 0.5), point('loss', 1, 0.7), point('acc', 0, NaN)] });
      const latest = { loss: 0.5, acc: NaN };
      assert.deepEqual((await store.getRun(info.runId))!.metrics, latest);
      assert.deepEqual((await store.searchRuns([experimentId])).map((run) => run.metrics), [latest]);

      assert.deepEqual(await store.listArtifacts(info.runId), []);
      const files = tempProject('contract-artifacts', { 'a.txt': 'abc', 'b.json': '{"x":1}' });
      const uploaded = await uploadArtifacts({
        artifactUri: info.artifactUri,
        trackingUri: dir ? undefined : uri,
        env: { HOME: '/nonexistent' },
        files: [
          { localPath: path.join(files, 'b.json'), artifactPath: 'sub/deeper/b.json' },
          { localPath: path.join(files, 'a.txt'), artifactPath: 'z.txt' },
          { localPath: path.join(files, 'a.txt'), artifactPath: 'sub/a.txt' },
        ],
      });
      assert.equal(uploaded.uploaded, 3, uploaded.failures.join('; '));
      assert.deepEqual(await store.listArtifacts(info.runId), [
        { path: 'sub/a.txt', size: 3 },
        { path: 'sub/deeper/b.json', size: 7 },
        { path: 'z.txt', size: 3 },
      ]);
      const unknown = crypto.randomBytes(16).toString('hex');
      assert.equal((await rejection(store.listArtifacts(unknown))).errorCode, 'RESOURCE_DOES_NOT_EXIST');
    });

    test("deleteTag: the tag is gone for MLflow too; a tag the run lacks is RESOURCE_DOES_NOT_EXIST with MLflow's message", async () => {
      const { store, uri } = await backend.open();
      const info = await store.createRun({ experimentId: '0', runName: 'tags', startTime: 1_000, userId: 'u', tags: [{ key: 'keep', value: '1' }, { key: 'drop', value: '2' }] });
      await store.deleteTag(info.runId, 'drop');
      assert.deepEqual((await store.getRun(info.runId))!.tags, { keep: '1', 'mlflow.runName': 'tags' });
      assert.deepEqual(inspectMlflow(uri, { runIds: [info.runId] }).runs[0]!.tags, { keep: '1', 'mlflow.runName': 'tags' });
      const again = await rejection(store.deleteTag(info.runId, 'drop'));
      assert.equal(again.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal(mlflowMessage(again), `No tag with name: drop in run with id ${info.runId}`);
    });

    test('ping answers, and the store says where it writes', async () => {
      const { store, uri } = await backend.open();
      await store.ping();
      assert.equal(store.trackingUri, uri);
      assert.equal(store.displayUri, uri);
      assert.ok(store.metricsPerBatch >= 1000, String(store.metricsPerBatch));
    });
  });
}
