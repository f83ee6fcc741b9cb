import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSync, type OfflineRun } from '../../src/sync/plan.ts';
import { sameServerKey } from '../../src/tracking/redact.ts';

const SERVER = 'http://mlflow.example:5000';

function run(runId: string, tags: Record<string, string> = {}, extra: Partial<OfflineRun> = {}): OfflineRun {
  return {
    runId,
    runName: runId,
    experimentId: '0',
    userId: 'alice',
    status: 'FINISHED',
    startTime: 1,
    endTime: 2,
    artifactUri: `/tmp/${runId}`,
    lifecycleStage: 'active',
    tags,
    ...extra,
  };
}

const summary = (runs: OfflineRun[], ...target: [string | undefined] | []) =>
  planSync(runs, target.length ? target[0] : SERVER).pending.map((entry) => [entry.run.runId, entry.verdict.kind]);

test('parents go before their children, whatever order they were recorded in', () => {
  const runs = [
    run('child', { 'mlflow.parentRunId': 'parent' }),
    run('grandchild', { 'mlflow.parentRunId': 'child' }),
    run('parent', { 'mlrun.offline.server': SERVER }),
    run('alone', { 'mlrun.offline.server': SERVER }),
  ];
  assert.deepEqual(summary(runs), [
    ['parent', 'deliver'],
    ['child', 'deliver'],
    ['grandchild', 'deliver'],
    ['alone', 'deliver'],
  ]);
  const plan = planSync(runs, SERVER);
  assert.deepEqual(plan.pending[1]!.parent, { offline: true, runId: 'parent' });
  assert.equal(plan.pending[2]!.server, SERVER, 'the server is inherited from the offline parent');
});

test('a parent that is not in the record is a run of the server: kept as is', () => {
  const plan = planSync([run('stage', { 'mlrun.offline.server': SERVER, 'mlrun.offline.parent_run_id': 'abc' })], SERVER);
  assert.deepEqual(plan.pending[0]!.parent, { offline: false, runId: 'abc' });
  assert.equal(plan.pending[0]!.verdict.kind, 'deliver');
});

test('delivered and deleted runs are not pending; running ones and their children are', () => {
  const plan = planSync(
    [
      run('done', { 'mlrun.offline.server': SERVER, 'mlrun.sync.delivered': SERVER }),
      run('gone', { 'mlrun.offline.server': SERVER }, { lifecycleStage: 'deleted' }),
      run('busy', { 'mlrun.offline.server': SERVER }, { status: 'RUNNING' }),
      run('busy-child', { 'mlflow.parentRunId': 'busy' }),
      run('done-child', { 'mlflow.parentRunId': 'done' }),
    ],
    SERVER,
  );
  assert.equal(plan.delivered, 1);
  assert.deepEqual(
    plan.pending.map((entry) => [entry.run.runId, entry.verdict]),
    [
      ['busy', { kind: 'running' }],
      ['busy-child', { kind: 'waiting', parentRunId: 'busy' }],
      ['done-child', { kind: 'deliver' }],
    ],
  );
});

test('runs for another server stay pending; credentials, case and a trailing slash do not make a server another one', () => {
  const runs = [
    run('mine', { 'mlrun.offline.server': 'http://***@MLflow.example:5000/' }),
    run('theirs', { 'mlrun.offline.server': 'http://other:5000' }),
    run('their-child', { 'mlflow.parentRunId': 'theirs' }),
    run('unmarked'),
  ];
  assert.deepEqual(summary(runs, 'http://user:secret@mlflow.example:5000'), [
    ['mine', 'deliver'],
    ['theirs', 'other-server'],
    ['their-child', 'other-server'],
    ['unmarked', 'deliver'],
  ]);
  // A dry run without a target judges no server.
  assert.deepEqual(summary(runs, undefined).map(([, kind]) => kind), ['deliver', 'deliver', 'deliver', 'deliver']);
  assert.equal(sameServerKey('HTTP://Host:80/prefix/'), sameServerKey('http://host/prefix'));
});

test('a parent chain that loops does not hang the plan', () => {
  const runs = [run('a', { 'mlflow.parentRunId': 'b' }), run('b', { 'mlflow.parentRunId': 'a' })];
  assert.deepEqual(summary(runs).map(([id]) => id).sort(), ['a', 'b']);
});
