// No run stays RUNNING once its mlrun is gone: the next mlrun in the project closes the runs of
// a SIGKILLed mlrun, on the embedded store and on a server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertClosedAbandoned, killMlrunMidRun, liveEntries } from '../support/killed-run.ts';
import { runMlrun } from '../support/mlrun.ts';
import { inspectMlflow } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';

function tempProject(label: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `mlrun-abandoned-${label}-`)));
  fs.mkdirSync(path.join(dir, '.dvc'));
  return dir;
}

for (const store of ['embedded', 'server'] as const) {
  test(`${store} store: the next mlrun in the project closes the run of a SIGKILLed mlrun`, async () => {
    const project = tempProject(store);
    const uri = store === 'server' ? await sharedServerUri() : `sqlite:///${path.join(project, 'mlflow.db')}`;
    const env: Record<string, string> = store === 'server' ? { MLFLOW_TRACKING_URI: uri } : {};
    // On the embedded store, only once the entry was touched again: its end time is not its start.
    const killed = await killMlrunMidRun(project, env, { afterSignOfLife: store === 'embedded' });
    assert.equal(inspectMlflow(uri, { runIds: [killed.runId] }).runs[0]!.info.status, 'RUNNING');

    const next = await runMlrun(['--', 'sh', '-c', 'echo "run=$MLFLOW_RUN_ID"'], { cwd: project, env });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(next.messages, []);
    const nextId = /run=(\w+)/.exec(next.stdout.toString())![1]!;
    const { runs } = inspectMlflow(uri, { runIds: [killed.runId, nextId] });
    const abandoned = runs.find((run) => run.info.run_id === killed.runId)!;
    assertClosedAbandoned(abandoned, killed, 'mlrun');
    if (store === 'embedded') assert.ok(killed.lastActivity > abandoned.info.start_time);
    assert.equal(runs.find((run) => run.info.run_id === nextId)!.info.status, 'FINISHED');
    assert.deepEqual(liveEntries(project), []);
  });
}
