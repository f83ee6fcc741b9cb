// The server dies while a stage runs: nothing the stage printed or wrote is lost. The rest of
// the run goes to the offline record, and `mlrun sync` completes the very run the server already
// had, so the server ends with exactly one run holding all of it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { runMlrun } from '../support/mlrun.ts';
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
