// `mlrun sync` end to end, through build/mlrun and a real mlflow server: runs recorded offline while
// the server was down (a stage with 5,000 metric points, params and outputs; a pipeline with three
// children) reach the server whole, exactly once, parents first, also when a sync is killed midway.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.ts';
import { cleanEnv, runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { mlrunBinary } from '../support/paths.ts';
import { freePort } from '../support/ports.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { tempProject } from '../support/project.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const BUILD_DIR = path.dirname(mlrunBinary);

const DVC_YAML = `stages:
  train:
    cmd: mlrun -- sh train.sh
    params:
      - lr
      - epochs
    outs:
      - model.txt
      - reports
`;
// 5,000 metric lines, one point each, two non-finite points; then the stage's outputs.
const TRAIN_SH = `awk 'BEGIN { for (i = 0; i < 5000; i++) printf "step=%d loss=%.6f\\n", i, 1 / (i + 1) }'
echo acc=nan
echo acc=inf
echo weights > model.txt
mkdir -p reports && echo '{"auc": 0.9}' > reports/summary.json
`;

function offlineUri(project: string): string {
  return `sqlite:///${path.join(project, '.mlrun', 'offline', 'mlflow.db')}`;
}

/** A pipeline whose three stages are mlrun runs inside it, each printing metrics. */
function pipelineArgs(name: string, pointsPerChild: number): string[] {
  const child = (label: string) =>
    `mlrun --name ${label} -- awk 'BEGIN { for (i = 0; i < ${pointsPerChild}; i++) print "${label}_loss=" i / 10 }'`;
  return ['pipeline', '--name', name, '--', 'sh', '-c', `${child('a')}; ${child('b')}; ${child('c')}`];
}

function syncedFrom(runs: PyRun[]): Map<string, PyRun> {
  return new Map(runs.filter((r) => r.tags['mlrun.synced_from']).map((r) => [r.tags['mlrun.synced_from']!, r]));
}

/** What a run holds apart from ids and bookkeeping, for comparing the offline run with its copy. */
function content(run: PyRun) {
  const tags = Object.fromEntries(
    Object.entries(run.tags).filter(([key]) => !/^mlrun\.(offline|sync)\.|^mlrun\.synced_from$|^mlflow\.parentRunId$/.test(key)),
  );
  return {
    name: run.info.run_name,
    status: run.info.status,
    start_time: run.info.start_time,
    end_time: run.info.end_time,
    user_id: run.info.user_id,
    tags,
    params: run.params,
    metrics: run.metrics,
    history: run.history,
    artifacts: run.artifacts,
  };
}

/** "N metrics, M params, K artifacts" as mlrun sync counts them. */
function counts(run: PyRun): string {
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const metrics = pointCount(run) + pointCount(run, run.system.history);
  return `${plural(metrics, 'metric')}, ${plural(Object.keys(run.params).length, 'param')}, ${plural(run.artifacts.length, 'artifact')}`;
}

/** The points of the run's history; without `history`, of what its command printed (not its system/ metrics). */
function pointCount(run: PyRun, history = run.history): number {
  return Object.values(history).reduce((n, points) => n + points.length, 0);
}

describe('mlrun sync', () => {
  let server: MlflowServer;
  let env: Record<string, string>;
  const project = tempProject('main');
  const interrupted = tempProject('cut');
  let offline: PyRun[] = [];
  let cutOffline: PyRun[] = [];

  before(async () => {
    server = await startMlflowServer({ ownedByProcess: true });
    await server.stop();
    // No retries against the stopped server: each run falls back to the offline record at once.
    env = { MLFLOW_TRACKING_URI: server.uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0', PATH: `${BUILD_DIR}:${process.env.PATH}` };

    fs.writeFileSync(path.join(project, 'dvc.yaml'), DVC_YAML);
    fs.writeFileSync(path.join(project, 'params.yaml'), 'lr: 0.01\nepochs: 3\n');
    fs.writeFileSync(path.join(project, 'train.sh'), TRAIN_SH);
    const stage = await runMlrun(['--tag', 'team=vision', '--', 'sh', 'train.sh'], { cwd: project, env: { ...env, DVC_STAGE: 'train' } });
    assert.equal(stage.code, 0, stage.stderr);
    assert.equal(stage.messages.length, 1, stage.stderr);
    assert.match(stage.messages[0]!, /recording the run locally in \.mlrun\/offline\/mlflow\.db; 'mlrun sync' delivers it later$/);

    const pipeline = await runMlrun(pipelineArgs('nightly', 10), { cwd: project, env });
    assert.equal(pipeline.code, 0, pipeline.stderr);
    offline = inspectMlflow(offlineUri(project), { experimentIds: ['0'], withHistory: true, withArtifacts: true }).runs.reverse();
    assert.equal(offline.length, 5);

    const cut = await runMlrun(pipelineArgs('to-cut', 3000), { cwd: interrupted, env });
    assert.equal(cut.code, 0, cut.stderr);
    cutOffline = inspectMlflow(offlineUri(interrupted), { experimentIds: ['0'], withHistory: true, withArtifacts: true }).runs.reverse();
    assert.equal(cutOffline.length, 4);

    await server.restart();
  });

  after(async () => {
    await server?.stop();
  });

  test('the offline record holds everything the runs logged', () => {
    const [train, nightly, a, b, c] = offline;
    assert.deepEqual(
      offline.map((r) => r.info.run_name),
      ['train', 'nightly', 'a', 'b', 'c'],
    );
    assert.equal(pointCount(train!), 5002);
    assert.deepEqual(train!.params, { lr: '0.01', epochs: '3' });
    assert.deepEqual(train!.artifacts, ['mlrun/output.log', 'model.txt', 'reports/summary.json']);
    assert.equal(train!.tags['mlrun.offline.server'], server.uri);
    assert.equal(nightly!.tags['mlrun.offline.server'], server.uri);
    for (const child of [a, b, c]) {
      assert.equal(child!.tags['mlflow.parentRunId'], nightly!.info.run_id);
      assert.equal(pointCount(child!), 10);
    }
  });

  test('--dry-run lists the pending runs, parents first, and sends nothing', async () => {
    const result = await runMlrun(['sync', '--dry-run'], { cwd: project, env });
    assert.equal(result.code, 1);
    assert.equal(result.stdout.toString(), '');
    assert.deepEqual(result.messages, [
      ...offline.map((run) => `mlrun: pending ${run.info.run_name} (${run.info.run_id}): ${counts(run)}`),
      `mlrun: 5 runs pending; 'mlrun sync' delivers them`,
    ]);
    assert.equal(inspectMlflow(server.uri, { experimentIds: ['0'] }).runs.length, 0);
  });

  test('sync delivers every run once, whole, children nested under the synced parent', async () => {
    const result = await runMlrun(['sync'], { cwd: project, env });
    assert.equal(result.code, 0, result.stderr);
    const remote = inspectMlflow(server.uri, { experimentIds: ['0'], withHistory: true, withArtifacts: true }).runs;
    assert.equal(remote.length, 5);
    const copies = syncedFrom(remote);
    assert.equal(copies.size, 5);

    const lines = offline.map((run) => {
      const copy = copies.get(run.info.run_id)!;
      return `mlrun: synced ${run.info.run_name} (${run.info.run_id} → ${copy.info.run_id}): ${counts(run)}`;
    });
    assert.deepEqual(result.messages, [...lines, `mlrun: synced 5 runs to ${server.uri}; nothing pending`]);

    for (const run of offline) {
      const copy = copies.get(run.info.run_id)!;
      assert.match(copy.info.run_id, HEX32);
      assert.notEqual(copy.info.run_id, run.info.run_id);
      assert.deepEqual(content(copy), content(run), `the copy of ${run.info.run_name}`);
      assert.ok(!Object.keys(copy.tags).some((key) => key.startsWith('mlrun.offline.') || key.startsWith('mlrun.sync.')));
    }
    const [train, nightly, ...children] = offline.map((run) => copies.get(run.info.run_id)!);
    assert.equal(pointCount(train!), 5002);
    assert.equal(train!.info.status, 'FINISHED');
    assert.equal(nightly!.tags['mlflow.parentRunId'], undefined);
    for (const child of children) {
      assert.equal(child.tags['mlflow.parentRunId'], nightly!.info.run_id);
      assert.equal(child.info.experiment_id, nightly!.info.experiment_id);
    }
    // Served artifacts, byte for byte.
    const served = `${server.uri}/api/2.0/mlflow-artifacts/artifacts/${train!.info.artifact_uri.replace(/^mlflow-artifacts:\//, '')}/model.txt`;
    assert.equal(await download(served), 'weights\n');
  });

  test('sync again changes nothing', async () => {
    const again = await runMlrun(['sync'], { cwd: project, env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.messages, ['mlrun: nothing pending (5 runs delivered earlier)']);
    const dry = await runMlrun(['sync', '--dry-run'], { cwd: project, env });
    assert.equal(dry.code, 0);
    assert.deepEqual(dry.messages, ['mlrun: nothing pending (5 runs delivered earlier)']);
    const remote = inspectMlflow(server.uri, { experimentIds: ['0'], withHistory: true }).runs;
    assert.equal(remote.length, 5);
    assert.equal(remote.reduce((n, run) => n + pointCount(run), 0), 5032);
  });

  test('a sync killed in the middle of a run, then run again: exactly one copy of everything', async () => {
    const killed = await killMidway(interrupted, env);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.deepEqual(killed.messages.length, 1, killed.stderr);
    assert.match(killed.messages[0]!, /^mlrun: synced to-cut /);
    assert.equal(killed.partial.length, 1, 'a run was partly delivered when the sync was killed');
    const dry = await runMlrun(['sync', '--dry-run'], { cwd: interrupted, env });
    assert.equal(dry.code, 1);
    assert.match(dry.messages.find((line) => line.includes(killed.partial[0]!))!, /; partly delivered as [0-9a-f]{32}$/);

    const resumed = await runMlrun(['sync'], { cwd: interrupted, env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.messages.length, 4, resumed.stderr);
    assert.equal(resumed.messages.at(-1), `mlrun: synced 3 runs to ${server.uri}; nothing pending`);

    const remote = inspectMlflow(server.uri, { experimentIds: ['0'], withHistory: true, withArtifacts: true }).runs;
    assert.equal(remote.length, 9, 'the 5 runs synced before and the 4 of this project, once each');
    const copies = syncedFrom(remote);
    const parent = copies.get(cutOffline[0]!.info.run_id)!;
    for (const run of cutOffline) {
      const copy = copies.get(run.info.run_id);
      assert.ok(copy, `a copy of ${run.info.run_name}`);
      assert.deepEqual(content(copy), content(run), `the copy of ${run.info.run_name}`);
      if (run !== cutOffline[0]) assert.equal(copy.tags['mlflow.parentRunId'], parent.info.run_id);
    }
    assert.deepEqual(
      cutOffline.map((run) => pointCount(copies.get(run.info.run_id)!)),
      [0, 3000, 3000, 3000],
    );
  });

  test('one sync at a time: a live lock holder is waited for, a dead one is taken over', async () => {
    const lock = path.join(interrupted, '.mlrun', 'offline', 'sync.lock');
    fs.writeFileSync(lock, `${process.pid}\n`);
    const held = await runMlrun(['sync'], { cwd: interrupted, env });
    assert.equal(held.code, 1);
    assert.deepEqual(held.messages, [
      `mlrun: another mlrun sync (pid ${process.pid}) is delivering these runs; if it is not running, remove .mlrun/offline/sync.lock`,
    ]);
    // The lock a killed sync left behind (the test above) names a process that is gone.
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('close', resolve));
    fs.writeFileSync(lock, `${gone.pid}\n`);
    const taken = await runMlrun(['sync'], { cwd: interrupted, env });
    assert.equal(taken.code, 0, taken.stderr);
    assert.deepEqual(taken.messages, ['mlrun: nothing pending (4 runs delivered earlier)']);
    assert.ok(!fs.existsSync(lock), 'released');
  });

  test('killed between runs/create and recording the new id: the copy is found by its tag, not made twice', async () => {
    // The state such a kill leaves: the intent mark, no server id, nothing else recorded. (The
    // copy on the server is complete here, which only makes every re-sent step a repeat.)
    const child = cutOffline[1]!;
    const db = new DatabaseSync(path.join(interrupted, '.mlrun', 'offline', 'mlflow.db'));
    db.prepare(`DELETE FROM tags WHERE run_uuid = ? AND "key" LIKE 'mlrun.sync.%' AND "key" != 'mlrun.sync.creating'`).run(child.info.run_id);
    db.close();
    const before = syncedFrom(inspectMlflow(server.uri, { experimentIds: ['0'] }).runs).get(child.info.run_id)!;

    const result = await runMlrun(['sync'], { cwd: interrupted, env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, [
      `mlrun: synced ${child.info.run_name} (${child.info.run_id} → ${before.info.run_id}): ${counts(child)}`,
      `mlrun: synced 1 run to ${server.uri}; nothing pending`,
    ]);
    const remote = inspectMlflow(server.uri, { experimentIds: ['0'], withHistory: true, withArtifacts: true }).runs;
    assert.equal(remote.length, 9);
    assert.deepEqual(content(syncedFrom(remote).get(child.info.run_id)!), content(child), 'every point once');
  });

  test('runs recorded for another server stay pending, with a line saying so', async () => {
    const other = tempProject('other');
    const port = await freePort();
    const recorded = await runMlrun(['--name', 'elsewhere', '--', 'true'], {
      cwd: other,
      env: { ...env, MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` },
    });
    assert.equal(recorded.code, 0);
    const id = inspectMlflow(offlineUri(other), { experimentIds: ['0'] }).runs[0]!.info.run_id;
    const result = await runMlrun(['sync'], { cwd: other, env });
    assert.equal(result.code, 1);
    assert.deepEqual(result.messages, [
      `mlrun: left pending elsewhere (${id}): recorded for http://127.0.0.1:${port}, not ${server.uri}: sync with MLFLOW_TRACKING_URI=http://127.0.0.1:${port}`,
      'mlrun: 1 run still pending',
    ]);
  });

  test('a parent that lives on the server is kept; an experiment asked for by name is found or created there', async () => {
    const mixed = tempProject('mixed');
    const online = await runMlrun(['pipeline', '--name', 'online', '--experiment', 'exp-x', '--', 'sh', '-c', 'echo $MLRUN_PARENT_RUN_ID'], { cwd: mixed, env });
    assert.equal(online.code, 0, online.stderr);
    const parentId = online.stdout.toString().trim();
    assert.match(parentId, HEX32);
    await server.stop();
    const late = await runMlrun(['--name', 'late', '--parent', parentId, '--', 'echo', 'x=1'], { cwd: mixed, env });
    const solo = await runMlrun(['--name', 'solo', '--experiment', 'exp-y', '--', 'echo', 'y=1'], { cwd: mixed, env });
    assert.deepEqual([late.code, solo.code], [0, 0]);
    await server.restart();

    const result = await runMlrun(['sync'], { cwd: mixed, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.messages.at(-1), `mlrun: synced 2 runs to ${server.uri}; nothing pending`);
    const { experiments } = inspectMlflow(server.uri, { experimentNames: ['exp-x', 'exp-y'] });
    const inX = inspectMlflow(server.uri, { experimentIds: [experiments['exp-x']!.experiment_id] }).runs;
    assert.deepEqual(
      inX.map((run) => [run.info.run_name, run.tags['mlflow.parentRunId'], run.metrics]).sort(),
      [['late', parentId, { x: 1 }], ['online', undefined, {}]],
    );
    const inY = inspectMlflow(server.uri, { experimentIds: [experiments['exp-y']!.experiment_id] }).runs;
    assert.deepEqual(inY.map((run) => [run.info.run_name, run.tags['mlflow.parentRunId'], run.metrics]), [['solo', undefined, { y: 1 }]]);
  });

  test('a project with no offline record has nothing pending', async () => {
    const empty = tempProject('empty');
    const result = await runMlrun(['sync'], { cwd: empty, env });
    assert.equal(result.code, 0);
    assert.deepEqual(result.messages, [`mlrun: nothing pending: no runs were recorded offline in ${empty}`]);
    assert.ok(!fs.existsSync(path.join(empty, '.mlrun')), 'nothing created');
  });

  test('the server must be an http(s) one', async () => {
    const result = await runMlrun(['sync', '--tracking-uri', 'sqlite:///x.db'], { cwd: project, env });
    assert.equal(result.code, 2);
    assert.deepEqual(result.messages, ['mlrun: mlrun sync delivers to an MLflow server: the tracking URI sqlite:///x.db is not http:// or https://']);
    const none = await runMlrun(['sync'], { cwd: project, env: { ...env, MLFLOW_TRACKING_URI: undefined } });
    assert.equal(none.code, 2);
    assert.match(none.messages[0]!, /^mlrun: mlrun sync needs the server to deliver to: set MLFLOW_TRACKING_URI or pass --tracking-uri/);
  });
});

/** GET on a fresh connection: a pooled one may be the server's before it restarted. */
function download(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject);
  });
}

/**
 * Runs `mlrun sync` and kills it with SIGKILL once it reported its first delivered run and the
 * offline record shows a run it is in the middle of: created on the server, some metric batches
 * sent, not completed.
 */
function killMidway(cwd: string, env: Record<string, string>): Promise<MlrunResult & { partial: string[] }> {
  const db = new DatabaseSync(path.join(cwd, '.mlrun', 'offline', 'mlflow.db'), { readOnly: true });
  const partialRuns = (): string[] =>
    db
      .prepare(
        `SELECT r.run_uuid FROM tags r WHERE r."key" = 'mlrun.sync.metrics_rowid'
           AND NOT EXISTS (SELECT 1 FROM tags d WHERE d.run_uuid = r.run_uuid AND d."key" = 'mlrun.sync.delivered')`,
      )
      .all()
      .map((row) => String(row.run_uuid));
  return new Promise((resolve, reject) => {
    const child = spawn(mlrunBinary, ['sync'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let partial: string[] = [];
    let poll: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (poll || !/^mlrun: synced /m.test(stderr)) return;
      poll = setInterval(() => {
        partial = partialRuns();
        if (partial.length > 0) child.kill('SIGKILL');
      }, 2);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      db.close();
      const messages = stderr.split('\n').filter((line) => line.startsWith('mlrun:'));
      resolve({ code, signal, stdout: Buffer.alloc(0), stderr, messages, partial });
    });
  });
}
