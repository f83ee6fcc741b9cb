// What only the REST store has, against a real `mlflow server`: an unreachable server and MLflow's
// basic-auth app. The contract both stores share is in store-contract.test.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRestStore } from '../../src/tracking/rest/store.ts';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.ts';
import { freePort } from '../support/ports.ts';
import { inspectMlflow } from '../support/python.ts';
import { rejection } from '../support/assertions.ts';

const HEX32 = /^[0-9a-f]{32}$/;
// No developer's ~/.mlflow/credentials in these tests.
const ENV = { HOME: '/nonexistent' };

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
