// A stage's output upload that fails halfway, against a real mlflow server behind a real proxy on
// 127.0.0.1: the server killed mid-upload, a proxy refusing the body as too large (413), a proxy
// resetting the connection mid-body. Each time mlrun says one line, exits as the command did and
// closes the run; the file that did not make it waits in the offline record, and `mlrun sync`
// delivers it once the problem is gone (and fails cleanly, releasing its lock, while it is not).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.ts';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { tempProject } from '../support/project.ts';

const MIB = 1024 * 1024;
const MODEL_BYTES = 8 * MIB;
const POINTS = 300;
const OFFLINE = '.mlrun/offline/mlflow.db';
const KEPT = `kept in ${OFFLINE}; 'mlrun sync' delivers it later`;

// Prints its points, then writes the declared output: several MiB, so it goes in several chunks.
const STAGE_SCRIPT = `
const fs = require('node:fs');
const crypto = require('node:crypto');
let out = '';
for (let i = 0; i < ${POINTS}; i++) out += 'loss=' + i + '\\n';
process.stdout.write(out);
fs.writeFileSync('model.bin', crypto.randomBytes(${MODEL_BYTES}));
`;

function stageProject(): string {
  return tempProject('upload-failure', {
    'stage.js': STAGE_SCRIPT,
    'dvc.yaml': 'stages:\n  train:\n    cmd: mlrun --no-output-log -- node stage.js\n    outs: [model.bin]\n',
  });
}

function runStage(project: string, uri: string): Promise<MlrunResult> {
  return runMlrun(['--no-output-log', '--', 'node', 'stage.js'], {
    cwd: project,
    env: { MLFLOW_TRACKING_URI: uri, DVC_ROOT: project, DVC_STAGE: 'train', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.1' },
  });
}

function sync(project: string, uri: string): Promise<MlrunResult> {
  return runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: uri } });
}

/** The command's exit code, and nothing on stderr but mlrun's own lines: no stack trace. */
function assertOnlyMessages(result: MlrunResult, code: number): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stderr, result.messages.map((line) => `${line}\n`).join(''));
}

/** The one run of the offline record, as the Python client reads it. */
function offlineRun(project: string): PyRun {
  const runs = inspectMlflow(`sqlite:///${path.join(project, OFFLINE)}`, { experimentIds: ['0'], withArtifacts: true }).runs;
  assert.equal(runs.length, 1);
  return runs[0]!;
}

function serverRun(uri: string, runId: string, query: { withArtifacts: true } | { withArtifactDigests: true }): PyRun {
  return inspectMlflow(uri, { runIds: [runId], withHistory: true, ...query }).runs[0]!;
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function modelPath(runId: string): string {
  return `/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model.bin`;
}

/** The PUTs that reached the proxy, with how each ended. */
function puts(proxy: FaultProxy): string[] {
  return proxy.log.filter((line) => line.startsWith('PUT '));
}

/**
 * The run on the server holds every point but not model.bin; the offline record holds model.bin,
 * closed FINISHED, for that run. Returns the offline run.
 */
function assertKeptOffline(project: string, serverUri: string, serverRunId: string, serverStatus: string): PyRun {
  const kept = offlineRun(project);
  assert.equal(kept.info.status, 'FINISHED');
  assert.equal(kept.tags['mlrun.sync.run_id'], serverRunId);
  assert.equal(kept.tags['mlrun.exit_code'], '0');
  assert.deepEqual(kept.artifacts, ['model.bin']);
  const remote = serverRun(serverUri, serverRunId, { withArtifacts: true });
  assert.equal(remote.info.status, serverStatus);
  assert.equal(remote.history.loss!.length, POINTS);
  assert.deepEqual(remote.artifacts, []);
  return kept;
}

/** `mlrun sync` delivers model.bin into the server's run: exit 0, the run FINISHED, no lock left. */
async function assertSynced(project: string, proxy: FaultProxy, serverUri: string, kept: PyRun): Promise<void> {
  const serverRunId = kept.tags['mlrun.sync.run_id']!;
  const synced = await sync(project, proxy.uri);
  assertOnlyMessages(synced, 0);
  assert.deepEqual(synced.messages, [
    `mlrun: synced train (${kept.info.run_id} → ${serverRunId}): 0 metrics, 0 params, 1 artifact`,
    `mlrun: synced 1 run to ${proxy.uri}; nothing pending`,
  ]);
  assert.equal(fs.existsSync(path.join(project, '.mlrun/offline/sync.lock')), false);
  const remote = serverRun(serverUri, serverRunId, { withArtifactDigests: true });
  assert.equal(remote.info.status, 'FINISHED');
  assert.equal(remote.tags['mlrun.exit_code'], '0');
  assert.equal(remote.history.loss!.length, POINTS);
  assert.deepEqual(remote.artifact_sha256, { 'model.bin': sha256(path.join(project, 'model.bin')) });
}

interface FailedStage {
  project: string;
  proxy: FaultProxy;
  result: MlrunResult;
  /** the run in the offline record */
  kept: PyRun;
  serverRunId: string;
  /** the PUT of model.bin, as mlrun names it */
  put: string;
}

/** The stage through a proxy with `fault`: it exits 0 with nothing but mlrun's lines, and leaves one run in the offline record. */
async function stageBehind(t: TestContext, serverUri: string, fault: Fault): Promise<FailedStage> {
  const proxy = await startFaultProxy(serverUri);
  t.after(() => proxy.close());
  const project = stageProject();
  proxy.fault = fault;
  const result = await runStage(project, proxy.uri);
  assertOnlyMessages(result, 0);
  const kept = offlineRun(project);
  const serverRunId = kept.tags['mlrun.sync.run_id']!;
  return { project, proxy, result, kept, serverRunId, put: `PUT ${proxy.uri}${modelPath(serverRunId)}` };
}

describe('an output upload that fails halfway', () => {
  test('the server killed mid-upload: one line, exit 0, the rest of the run offline; sync completes the run after a restart', async (t) => {
    const server = await startMlflowServer();
    t.after(() => server.stop());
    let killed: Promise<void> | undefined;
    const { project, proxy, result, kept, serverRunId, put } = await stageBehind(t, server.uri, {
      kind: 'hook',
      afterBytes: 2 * MIB,
      then: () => (killed = server.kill()),
    });
    assert.ok(killed, 'the server was killed during the upload');
    assert.deepEqual(result.messages, [
      `mlrun: lost ${proxy.uri} during the run (cannot upload 'model.bin': ${put} failed: cannot reach the server (connection reset) after 3 attempts): the rest of the run is recorded locally in ${OFFLINE}; 'mlrun sync' delivers it later`,
    ]);
    assert.deepEqual(puts(proxy), Array(3).fill(`PUT ${modelPath(serverRunId)} reset`));

    await killed;
    await server.restart();
    proxy.fault = undefined;
    // Closed in the record; on the server it waits, RUNNING, for sync to close it.
    assertKeptOffline(project, server.uri, serverRunId, 'RUNNING');
    await assertSynced(project, proxy, server.uri, kept);
  });

  test('a proxy answers 413 (body too large): not retried, one line with the size, the run closed on the server; sync fails cleanly until the limit is gone', async (t) => {
    const serverUri = await sharedServerUri();
    const { project, proxy, result, kept, serverRunId, put } = await stageBehind(t, serverUri, { kind: 'body-limit', maxBytes: 4 * MIB });
    const refused = `cannot upload 'model.bin': ${put} failed with HTTP 413 Request Entity Too Large: the server or a proxy in front of it refuses a body of 8.4 MB (8388608 bytes) as too large`;
    assert.deepEqual(result.messages, [`mlrun: ${refused}: ${KEPT}`]);
    assert.deepEqual(puts(proxy), [`PUT ${modelPath(serverRunId)} 413`]);
    assertKeptOffline(project, serverUri, serverRunId, 'FINISHED');

    // Still refused: sync says so in one line, exits 1 and leaves no lock behind.
    const refusedAgain = await sync(project, proxy.uri);
    assertOnlyMessages(refusedAgain, 1);
    assert.deepEqual(refusedAgain.messages, [`mlrun: could not sync train (${kept.info.run_id}): ${refused}`, 'mlrun: 1 run still pending']);
    assert.equal(fs.existsSync(path.join(project, '.mlrun/offline/sync.lock')), false);

    proxy.fault = undefined;
    await assertSynced(project, proxy, serverUri, kept);
  });

  test('a proxy resets the connection mid-body: retried, then one line, the run closed on the server; sync delivers the file', async (t) => {
    const serverUri = await sharedServerUri();
    const { project, proxy, result, kept, serverRunId, put } = await stageBehind(t, serverUri, { kind: 'reset', afterBytes: 2 * MIB });
    assert.deepEqual(result.messages, [`mlrun: cannot upload 'model.bin': ${put} failed: cannot reach the server (connection reset) after 3 attempts: ${KEPT}`]);
    assert.deepEqual(puts(proxy), Array(3).fill(`PUT ${modelPath(serverRunId)} reset`));
    assertKeptOffline(project, serverUri, serverRunId, 'FINISHED');

    proxy.fault = undefined;
    await assertSynced(project, proxy, serverUri, kept);
  });
});
