// The REST store against a real `mlflow server`, read back with the real MLflow Python client.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRestStore } from '../../src/tracking/rest/store.ts';
import type { Metric, Store } from '../../src/tracking/store.ts';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.ts';
import { freePort } from '../support/ports.ts';
import { inspectMlflow } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { rejection } from '../support/assertions.ts';

const HEX32 = /^[0-9a-f]{32}$/;
// No developer's ~/.mlflow/credentials in these tests.
const ENV = { HOME: '/nonexistent' };
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;


describe('on the shared server', () => {
  let uri: string;
  let store: Store;
  before(async () => {
    uri = await sharedServerUri();
    store = createRestStore(uri, ENV);
  });
  after(() => store.close());

  test('experiments: create, create again, by name, by id, missing', async () => {
    const name = unique('rest-exp');
    const id = await store.createExperiment(name);
    assert.match(id, /^\d+$/);
    const again = await rejection(store.createExperiment(name));
    assert.equal(again.errorCode, 'RESOURCE_ALREADY_EXISTS');
    assert.equal(again.httpStatus, 400);
    assert.equal(again.unreachable, false);
    assert.ok(again.message.startsWith(`POST ${uri}/api/2.0/mlflow/experiments/create failed with HTTP 400 RESOURCE_ALREADY_EXISTS: Experiment(name=${name}) already exists.`), again.message);
    const expected = { experimentId: id, name, artifactLocation: `mlflow-artifacts:/${id}`, lifecycleStage: 'active' };
    assert.deepEqual(await store.getExperimentByName(name), expected);
    assert.deepEqual(await store.getExperiment(id), expected);
    assert.equal(await store.getExperimentByName(unique('missing')), undefined);
    assert.equal(await store.getExperiment('987654321'), undefined);
    assert.equal(store.trackingUri, uri);
    assert.equal(store.displayUri, uri);
  });

  test('a run: tags, 2500 metrics + 150 params + 150 tags in one call, finished, read back by MLflow', async () => {
    const experimentId = await store.createExperiment(unique('rest-run'));
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
      artifactUri: `mlflow-artifacts:/${experimentId}/${info.runId}/artifacts`,
      lifecycleStage: 'active',
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
    // The SQL store keeps NaN and returns ±Infinity as ±Number.MAX_VALUE (reference §1.6).
    const asRead = (value: number) => (Number.isNaN(value) ? 'nan' : value === Infinity ? Number.MAX_VALUE : value === -Infinity ? -Number.MAX_VALUE : value);
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
    assert.equal(await store.getRun(crypto.randomBytes(16).toString('hex')), undefined);
  });

  test('changing a param: INVALID_PARAMETER_VALUE with MLflow\'s message', async () => {
    const info = await store.createRun({ experimentId: '0', runName: 'params', startTime: Date.now(), userId: 'u', tags: [] });
    await store.logBatch(info.runId, { params: [{ key: 'lr', value: '0.1' }] });
    await store.logBatch(info.runId, { params: [{ key: 'lr', value: '0.1' }] });
    const error = await rejection(store.logBatch(info.runId, { params: [{ key: 'lr', value: '0.2' }] }));
    assert.equal(error.errorCode, 'INVALID_PARAMETER_VALUE');
    assert.equal(error.httpStatus, 400);
    assert.equal(
      error.message,
      `POST ${uri}/api/2.0/mlflow/runs/log-batch failed with HTTP 400 INVALID_PARAMETER_VALUE: Changing param values is not allowed. ` +
        `Params were already logged='[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.2'}]' for run ID='${info.runId}'.`,
    );
  });
});

test('a closed port: unreachable, at once with retries off, within the signal with default retries', async () => {
  const uri = `http://127.0.0.1:${await freePort()}`;
  const fast = createRestStore(uri, { ...ENV, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
  let started = performance.now();
  const refused = await rejection(fast.createExperiment('x'));
  assert.ok(performance.now() - started < 1000);
  assert.equal(refused.unreachable, true);
  assert.equal(refused.message, `POST ${uri}/api/2.0/mlflow/experiments/create failed: cannot reach the server (connection refused)`);
  await fast.close();

  const patient = createRestStore(uri, ENV);
  started = performance.now();
  const abandoned = await rejection(patient.getRun('0'.repeat(32), { signal: AbortSignal.timeout(1000) }));
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 950 && elapsed < 1500, `took ${elapsed} ms`);
  assert.equal(abandoned.unreachable, true);
  await patient.close();
});

describe('on a server with MLflow\'s basic-auth app', () => {
  const PASSWORD = 'admin-pw-1f9c2e7d';
  let server: MlflowServer;
  before(async () => {
    // MLflow ships no admin password; the auth app creates `admin` with this one in its own
    // basic_auth.db in the server's folder (mlflow/server/auth/basic_auth.ini).
    server = await startMlflowServer({
      args: ['--app-name', 'basic-auth'],
      env: { MLFLOW_AUTH_ADMIN_PASSWORD: PASSWORD, MLFLOW_FLASK_SERVER_SECRET_KEY: crypto.randomUUID() },
    });
  });
  after(() => server.stop());

  test('the right credentials create a run', async () => {
    const store = createRestStore(server.uri, { ...ENV, MLFLOW_TRACKING_USERNAME: 'admin', MLFLOW_TRACKING_PASSWORD: PASSWORD });
    const info = await store.createRun({ experimentId: '0', runName: 'authed', startTime: Date.now(), userId: 'admin', tags: [] });
    await store.updateRun(info.runId, { status: 'FINISHED', endTime: Date.now() });
    await store.close();
    const [run] = inspectMlflow(server.uri, { runIds: [info.runId] }, { MLFLOW_TRACKING_USERNAME: 'admin', MLFLOW_TRACKING_PASSWORD: PASSWORD }).runs;
    assert.equal(run?.info.run_name, 'authed');
    assert.equal(run?.info.status, 'FINISHED');
  });

  test('credentials in the URI work and are redacted for display', async () => {
    const uri = server.uri.replace('http://', `http://admin:${PASSWORD}@`);
    const store = createRestStore(uri, ENV);
    assert.equal(store.trackingUri, uri);
    assert.equal(store.displayUri, server.uri.replace('http://', 'http://***@'));
    const info = await store.createRun({ experimentId: '0', runName: 'in-uri', startTime: Date.now(), userId: 'admin', tags: [] });
    assert.match(info.runId, HEX32);
    await store.close();
  });

  test('a wrong password: 401, one line, no credentials in the message', async () => {
    const wrong = 'wrong-pw-5a8d3c';
    const store = createRestStore(server.uri, { ...ENV, MLFLOW_TRACKING_USERNAME: 'admin', MLFLOW_TRACKING_PASSWORD: wrong });
    const error = await rejection(store.createRun({ experimentId: '0', runName: 'x', startTime: Date.now(), userId: 'admin', tags: [] }));
    await store.close();
    assert.equal(error.httpStatus, 401);
    assert.equal(error.errorCode, 'UNAUTHENTICATED');
    assert.equal(error.unreachable, false);
    assert.equal(error.message.includes('\n'), false);
    assert.equal(error.message.includes(wrong), false);
    assert.equal(error.message.includes(`admin:${wrong}`), false);
    assert.equal(
      error.message,
      `POST ${server.uri}/api/2.0/mlflow/runs/create failed with HTTP 401 UNAUTHENTICATED: Unauthorized, 'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.'`,
    );
  });
});
