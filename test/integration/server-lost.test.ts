// The server dies while a stage runs: nothing the stage printed or wrote is lost. The rest of
// the run goes to the offline record, and `mlrun sync` completes the very run the server already
// had, so the server ends with exactly one run holding all of it. Below the command, the run's
// FailoverStore (src/tracking/failover-store.ts) is held to its contract on a server killed mid-run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Reporter } from '../../src/report.ts';
import { finishTracking, startTracking } from '../../src/tracking/tracked-run.ts';
import { rejection } from '../support/assertions.ts';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { runMlrun } from '../support/mlrun.ts';
import { tempProject } from '../support/project.ts';
import { inspectMlflow } from '../support/python.ts';

const POINTS = 50_000;

// Prints half the points, waits for the test to kill the server, prints the rest, writes its output.
const STAGE_SCRIPT = `
const fs = require('node:fs');
const half = ${POINTS / 2};
let out = '';
for (let i = 0; i < half; i++) out += 'value=' + i + '\\n';
process.stdout.write(out + 'half\\n', () => {
  const wait = setInterval(() => {
    if (!fs.existsSync('go-on')) return;
    clearInterval(wait);
    let rest = '';
    for (let i = half; i < ${POINTS}; i++) rest += 'value=' + i + '\\n';
    fs.writeFileSync('model.txt', 'weights\\n');
    process.stdout.write(rest);
  }, 50);
});
`;

test('the server dies mid-stage; after a restart, mlrun sync leaves exactly one complete run', async (t) => {
  const server = await startMlflowServer();
  t.after(() => server.stop());
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-lost-'));
  fs.mkdirSync(path.join(project, '.dvc'));
  fs.writeFileSync(path.join(project, 'params.yaml'), 'lr: 0.01\n');
  fs.writeFileSync(path.join(project, 'stage.js'), STAGE_SCRIPT);
  fs.writeFileSync(path.join(project, 'dvc.yaml'), 'stages:\n  train:\n    cmd: mlrun -- node stage.js\n    params: [lr]\n    outs: [model.txt]\n');

  let killed: Promise<void> | undefined;
  const env = { MLFLOW_TRACKING_URI: server.uri, DVC_ROOT: project, DVC_STAGE: 'train', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.1' };
  let seen = '';
  const result = await runMlrun(['--', 'node', 'stage.js'], {
    cwd: project,
    env,
    onStdout: (chunk) => {
      if (killed) return;
      seen += chunk.toString();
      if (!seen.includes('half\n')) return;
      killed = server.stop().then(() => fs.writeFileSync(path.join(project, 'go-on'), ''));
    },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString().split('\n').filter((line) => line.startsWith('value=')).length, POINTS);
  assert.equal(result.messages.length, 1, result.stderr);
  assert.match(result.messages[0]!, /^mlrun: lost http:\/\/127\.0\.0\.1:\d+ during the run \(.*\): the rest of the run is recorded locally in \.mlrun\/offline\/mlflow\.db; 'mlrun sync' delivers it later$/);

  await server.restart();
  const sync = await runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: server.uri } });
  assert.equal(sync.code, 0, sync.stderr);
  const again = await runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: server.uri } });
  assert.equal(again.code, 0, again.stderr);

  const runs = inspectMlflow(server.uri, { experimentIds: ['0'], withHistory: true, withArtifacts: true }).runs;
  assert.equal(runs.length, 1, 'exactly one run on the server');
  const [run] = runs;
  assert.equal(run!.info.status, 'FINISHED');
  assert.equal(run!.tags['mlrun.exit_code'], '0');
  assert.deepEqual(run!.params, { lr: '0.01' });
  const values = run!.history.value!.map((point) => Number(point.value)).sort((a, b) => a - b);
  assert.equal(values.length, POINTS);
  values.forEach((value, i) => assert.equal(value, i));
  assert.deepEqual(run!.artifacts, ['mlrun/output.log', 'model.txt']);
});

/** mlrun's own lines, kept instead of written to stderr. */
class HeardReporter extends Reporter {
  readonly lines: string[] = [];

  override say(message: string): void {
    this.lines.push(`mlrun: ${this.clean(message)}`);
  }
}

test("the run's store fails over by itself: refusals are thrown as they are, the calls after a loss land in the offline copy", async (t) => {
  const server = await startMlflowServer();
  t.after(() => server.stop());
  const project = tempProject('failover');
  const reporter = new HeardReporter({ verbose: false, secrets: [] });
  const tracking = await startTracking(
    {
      target: { kind: 'rest', uri: server.uri },
      projectRoot: project,
      env: { ...process.env, HOME: '/nonexistent', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' },
      request: { runName: 'train', userId: 'alice', tags: [{ key: 'mlflow.runName', value: 'train' }], startTime: 1_700_000_000_000 },
    },
    reporter,
  );
  assert.ok(tracking);
  const { store } = tracking;
  const serverRunId = tracking.run.runId;
  const point = (step: number) => ({ key: 'loss', value: step / 4, timestamp: 1_700_000_000_000 + step, step });
  await store.logBatch(serverRunId, { params: [{ key: 'lr', value: '0.1' }], metrics: [point(0)] });

  // While the server answers, a refused value and a call its caller stopped waiting for are thrown
  // as they are: the run stays on the server.
  assert.equal((await rejection(store.logBatch(serverRunId, { params: [{ key: 'lr', value: '0.2' }] }))).errorCode, 'INVALID_PARAMETER_VALUE');
  assert.equal((await rejection(store.logBatch(serverRunId, { metrics: [point(1)] }, { signal: AbortSignal.abort() }))).errorCode, 'DEADLINE_EXCEEDED');
  assert.deepEqual(reporter.lines, []);
  assert.equal(tracking.offline, false);

  await server.kill();
  await store.logBatch(serverRunId, { metrics: [point(1), point(2)] });
  assert.equal(reporter.lines.length, 1, reporter.lines.join('\n'));
  // A kept-alive connection is reset; a new one is refused.
  const lost = (how: string) =>
    `mlrun: lost ${server.uri} during the run (POST ${server.uri}/api/2.0/mlflow/runs/log-batch failed: cannot reach the server (connection ${how})): ` +
    "the rest of the run is recorded locally in .mlrun/offline/mlflow.db; 'mlrun sync' delivers it later";
  assert.ok([lost('reset'), lost('refused')].includes(reporter.lines[0]!), reporter.lines[0]);
  const copyRunId = tracking.run.runId;
  assert.notEqual(copyRunId, serverRunId);
  assert.equal(tracking.offline, true);
  const offlineUri = `sqlite:///${path.join(project, '.mlrun', 'offline', 'mlflow.db')}`;
  assert.equal(store.displayUri, offlineUri);
  // The server's run id still names the run; a refusal of the copy's is thrown as it is.
  await store.logBatch(serverRunId, { params: [{ key: 'epochs', value: '3' }] });
  assert.equal((await rejection(store.logBatch(copyRunId, { params: [{ key: 'epochs', value: '4' }] }))).errorCode, 'INVALID_PARAMETER_VALUE');
  await finishTracking(tracking, { status: 'FINISHED', tags: [{ key: 'mlrun.exit_code', value: '0' }] }, reporter);
  assert.equal(reporter.lines.length, 1, reporter.lines.join('\n'));

  const [copy, ...others] = inspectMlflow(offlineUri, { experimentIds: ['0'], withHistory: true }).runs;
  assert.deepEqual(others, []);
  assert.equal(copy!.info.run_id, copyRunId);
  assert.equal(copy!.info.run_name, 'train');
  assert.equal(copy!.info.status, 'FINISHED');
  assert.equal(copy!.info.start_time, 1_700_000_000_000);
  assert.deepEqual(copy!.params, { epochs: '3' });
  assert.equal(copy!.tags['mlrun.sync.run_id'], serverRunId);
  assert.equal(copy!.tags['mlrun.offline.server'], server.uri);
  assert.equal(copy!.tags['mlrun.exit_code'], '0');
  assert.deepEqual(copy!.history.loss, [point(1), point(2)].map(({ value, step, timestamp }) => ({ value, step, timestamp })));
});
