// An mlrun killed with SIGKILL leaves its offline run RUNNING; `mlrun sync` must not keep it
// pending forever: the run is closed KILLED and delivered.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { runMlrun } from '../support/mlrun.ts';
import { inspectMlflow } from '../support/python.ts';

test('a run whose mlrun was SIGKILLed is closed KILLED by mlrun sync and delivered once', async (t) => {
  const server = await startMlflowServer();
  t.after(() => server.stop());
  await server.stop();
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-abandoned-'));
  fs.mkdirSync(path.join(project, '.dvc'));
  const marker = `sleep 31.${process.pid % 1000}`;

  let mlrunPid = 0;
  const killed = await runMlrun(['--name', 'abandoned', '--', 'sh', '-c', `echo value=1; ${marker}`], {
    cwd: project,
    env: { MLFLOW_TRACKING_URI: server.uri },
    onSpawn: (child) => (mlrunPid = child.pid!),
    onStdout: (chunk) => {
      if (!chunk.toString().includes('value=1')) return;
      process.kill(mlrunPid, 'SIGKILL');
      // The command outlives mlrun; it holds the pipes the test reads until it ends.
      setTimeout(() => execFileSync('pkill', ['-f', marker]), 200);
    },
  });
  assert.equal(killed.signal, 'SIGKILL');

  await server.restart();
  const sync = await runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: server.uri } });
  assert.equal(sync.code, 0, sync.stderr);
  assert.match(sync.messages[0]!, /^mlrun: closed abandoned \(\w+\) as KILLED: the mlrun that recorded it is gone$/);
  const runs = inspectMlflow(server.uri, { experimentIds: ['0'] }).runs;
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.info.status, 'KILLED');
  assert.equal(runs[0]!.info.run_name, 'abandoned');
  assert.equal(runs[0]!.tags['mlrun.abandoned'], 'its mlrun ended without closing it');
});
