// The parent of a launch as the launch's summary: launches compare in MLflow's runs table like any
// runs. A small Git + DVC project (two stages, three params files, two metrics files sharing a
// key) goes through real `dvc repro` and `dvc exp run` under `mlrun pipeline`, against the shared
// real mlflow server, read back with the MLflow Python client.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import { DvcProject, dvcBinary, stagesRan } from '../support/dvc-project.ts';
import { runMlrun } from '../support/mlrun.ts';
import { tempProject } from '../support/project.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';

const FILES: Record<string, string> = {
  'dvc.yaml': `stages:
  prepare:
    cmd: mlrun -- sh prepare.sh \${prepare.rows}
    deps: [prepare.sh]
    params: [prepare.rows]
    metrics:
      - m/prepare.json:
          cache: false
  train:
    cmd: mlrun -- sh train.sh \${train.lr}
    deps: [train.sh]
    params:
      - train
      - extra.yaml:
          - threshold
    metrics:
      - m/train.json:
          cache: false
`,
  'params.yaml': 'prepare:\n  rows: 100\ntrain:\n  lr: 0.1\n  epochs: 2\n',
  'extra.yaml': 'threshold: 0.5\nunused: 1\n',
  'prepare.sh': `mkdir -p m && printf '{"rows": %s, "score": 0.5, "split": {"val": 0.25}}\\n' "$1" > m/prepare.json\n`,
  'train.sh': `mkdir -p m && awk -v lr="$1" 'BEGIN { printf "{\\"score\\": %s, \\"loss\\": %s}\\n", lr * 2, 1 - lr }' > m/train.json\n`,
};

let uri = '';
let project = '';
let launches: DvcProject;
let experimentName = '';
let experimentId = '';

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(path.join(project, file))).digest('hex');

/** The active runs of the experiment, with metric histories and artifact digests. */
function activeRuns(): PyRun[] {
  return inspectMlflow(uri, { experimentIds: [experimentId], withHistory: true, withArtifactDigests: true }).runs;
}

let knownRunIds = new Set<string>();
function newRuns(): PyRun[] {
  const runs = activeRuns();
  const fresh = runs.filter((r) => !knownRunIds.has(r.info.run_id));
  knownRunIds = new Set(runs.map((r) => r.info.run_id));
  return fresh;
}

function onlyParent(runs: PyRun[]): PyRun {
  const parents = runs.filter((r) => r.tags['mlrun.role'] === 'pipeline');
  assert.equal(parents.length, 1, 'one parent');
  return parents[0]!;
}

function childrenOf(runs: PyRun[], parent: PyRun): Record<string, PyRun> {
  return Object.fromEntries(runs.filter((r) => r.tags['mlflow.parentRunId'] === parent.info.run_id).map((r) => [r.info.run_name, r]));
}

/** Every metric's history as [step, value] pairs: the parent holds one point per key. */
function histories(run: PyRun): Record<string, [number, number | string][]> {
  return Object.fromEntries(Object.entries(run.history).map(([key, points]) => [key, points.map((p) => [p.step, p.value] as [number, number | string])]));
}

/** `repro 2026-12-07 14:03:21`, the launch's start in local time. */
function assertLaunchName(run: PyRun, command: string): void {
  const match = new RegExp(`^${command} (\\d{4})-(\\d\\d)-(\\d\\d) (\\d\\d):(\\d\\d):(\\d\\d)$`).exec(run.info.run_name);
  assert.ok(match, `name of the parent: ${run.info.run_name}`);
  const [year, month, day, hours, minutes, seconds] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const named = new Date(year, month - 1, day, hours, minutes, seconds).getTime();
  assert.ok(Math.abs(named - run.info.start_time) < 2000, `${run.info.run_name} is when the run started (${new Date(run.info.start_time).toString()})`);
}

/** The parent's params: only train.lr changes from one launch to the next. */
function summaryParams(lr: string): Record<string, string> {
  return { 'prepare.rows': '100', 'train.lr': lr, 'train.epochs': '2', 'extra.yaml:threshold': '0.5' };
}

/**
 * The parent's metrics, one point each: prepare's file as the first launch wrote it, train's as
 * train.lr makes it. `score` is in both files, so there it carries the file's path; the other
 * keys are the children's.
 */
function summaryHistories(train: { score: number; loss: number }): Record<string, [number, number][]> {
  return {
    rows: [[0, 100]],
    'split/val': [[0, 0.25]],
    'm/prepare.json:score': [[0, 0.5]],
    'm/train.json:score': [[0, train.score]],
    loss: [[0, train.loss]],
  };
}

const first = { parentId: '', prepareId: '', name: '' };

before(async () => {
  uri = await sharedServerUri();
  experimentName = `pipeline-summary-${process.pid}-${Date.now()}`;
  project = tempProject('summary', FILES);
  fs.rmSync(path.join(project, '.dvc'), { recursive: true });
  fs.writeFileSync(path.join(project, '.gitignore'), 'mlflow.db\n');
  launches = new DvcProject(project, { uri, experimentName });
  launches.run('git', ['init', '-q']);
  launches.run(dvcBinary, ['init', '-q']);
  launches.commit('pipeline');
});

describe('the parent of a launch is its summary, on a real mlflow server', () => {
  test('first dvc repro: the parent holds every param and metric of the pipeline, under the children\'s keys', async () => {
    const result = await launches.pipeline(['--', 'dvc', 'repro']);
    assert.deepEqual(result.messages, []);
    assert.deepEqual(stagesRan(result), ['prepare', 'train']);
    experimentId = inspectMlflow(uri, { experimentNames: [experimentName] }).experiments[experimentName]!.experiment_id;
    const runs = newRuns();
    assert.equal(runs.length, 3);
    const parent = onlyParent(runs);
    const child = childrenOf(runs, parent);
    assert.equal(parent.info.status, 'FINISHED');
    assertLaunchName(parent, 'repro');
    assert.deepEqual(parent.params, summaryParams('0.1'));
    assert.deepEqual(parent.params, { ...child.prepare!.params, ...child.train!.params }, 'the union of the children\'s params');
    assert.deepEqual(histories(parent), summaryHistories({ score: 0.2, loss: 0.9 }));
    assert.deepEqual(Object.keys(child.prepare!.metrics).sort(), ['rows', 'score', 'split/val']);
    assert.deepEqual(Object.keys(child.train!.metrics).sort(), ['loss', 'score']);
    assert.deepEqual(JSON.parse(parent.tags['dvc.skipped_stages']!), {});
    const definitions = ['dvc.lock', 'dvc.yaml', 'extra.yaml', 'params.yaml'];
    assert.deepEqual(parent.artifact_sha256, Object.fromEntries(definitions.map((file) => [file, sha256(file)])));
    Object.assign(first, { parentId: parent.info.run_id, prepareId: child.prepare!.info.run_id, name: parent.info.run_name });
  });

  test('after a change to train.lr: a second parent that differs exactly in train.lr and train\'s metrics, prepare\'s metrics on both', async () => {
    assert.ok(first.parentId, 'the first launch ran');
    fs.writeFileSync(path.join(project, 'params.yaml'), FILES['params.yaml']!.replace('lr: 0.1', 'lr: 0.3'));
    const result = await launches.pipeline(['--', 'dvc', 'repro']);
    assert.deepEqual(result.messages, []);
    assert.deepEqual(stagesRan(result), ['train']);
    const runs = newRuns();
    assert.equal(runs.length, 2);
    const parent = onlyParent(runs);
    assertLaunchName(parent, 'repro');
    assert.notEqual(parent.info.run_name, first.name);
    assert.deepEqual(parent.params, summaryParams('0.3'));
    assert.deepEqual(histories(parent), summaryHistories({ score: 0.6, loss: 0.7 }));
    assert.deepEqual(JSON.parse(parent.tags['dvc.skipped_stages']!), { prepare: first.prepareId });
  });

  test('dvc exp run -S: the parent is named after the experiment and holds the value set, as param and in params.yaml', async () => {
    assert.ok(first.parentId, 'the first launch ran');
    launches.commit('train.lr 0.3');
    const result = await launches.pipeline(['--', 'dvc', 'exp', 'run', '--name', 'lr-07', '-S', 'train.lr=0.7']);
    assert.deepEqual(result.messages, []);
    assert.deepEqual(stagesRan(result), ['train']);
    const runs = newRuns();
    assert.equal(runs.length, 2);
    const parent = onlyParent(runs);
    assert.equal(parent.info.run_name, 'lr-07');
    assert.equal(parent.tags['dvc.exp_name'], 'lr-07');
    assert.equal(parent.params['train.lr'], '0.7');
    assert.equal(childrenOf(runs, parent).train!.params['train.lr'], '0.7');
    assert.equal(parent.metrics['m/train.json:score'], 1.4);
    assert.equal(YAML.parse(fs.readFileSync(path.join(project, 'params.yaml'), 'utf8')).train.lr, 0.7);
    assert.equal(parent.artifact_sha256!['params.yaml'], sha256('params.yaml'), 'params.yaml as the experiment ran it');
    assert.deepEqual(JSON.parse(parent.tags['dvc.skipped_stages']!), { prepare: first.prepareId });
  });

  test('--name wins over the experiment\'s name', async () => {
    assert.ok(first.parentId, 'the first launch ran');
    const result = await launches.pipeline(['--name', 'mine', '--', 'dvc', 'exp', 'run', '--name', 'lr-09', '-S', 'train.lr=0.9']);
    assert.deepEqual(result.messages, []);
    const parent = onlyParent(newRuns());
    assert.equal(parent.info.run_name, 'mine');
    assert.equal(parent.tags['dvc.exp_name'], 'lr-09');
    assert.equal(parent.params['train.lr'], '0.9');
  });

  test('mlrun pipeline --help says how the parent is named', async () => {
    const help = await runMlrun(['pipeline', '--help']);
    assert.equal(help.code, 0);
    const text = help.stdout.toString().replace(/\s+/g, ' ');
    assert.ok(
      text.includes("--name <name> run name (default: under dvc exp run the experiment's, else the DVC command and start time, e.g. 'repro 2026-12-07 14:03:21')"),
      help.stdout.toString(),
    );
  });

  test('a dvc repro with nothing to do leaves no run in the default view, and says so only with --verbose', async () => {
    assert.ok(first.parentId, 'the first launch ran');
    const quiet = await launches.pipeline(['--', 'dvc', 'repro']);
    assert.deepEqual(stagesRan(quiet), []);
    assert.deepEqual(quiet.messages, []);
    assert.deepEqual(newRuns(), []);

    const verbose = await launches.pipeline(['--verbose', '--', 'dvc', 'repro']);
    assert.deepEqual(stagesRan(verbose), []);
    const said = /^mlrun: run (\w{32}) in (\S+): FINISHED, deleted \(no stage ran\)$/.exec(verbose.messages.at(-1) ?? '');
    assert.ok(said, verbose.messages.join('\n'));
    assert.equal(said[2], uri);
    assert.deepEqual(newRuns(), []);
    const [deleted] = inspectMlflow(uri, { runIds: [said[1]!] }).runs;
    assert.deepEqual(
      [deleted!.info.lifecycle_stage, deleted!.info.status, deleted!.tags['mlrun.role'], deleted!.params],
      ['deleted', 'FINISHED', 'pipeline', {}],
    );

    // A launch that failed before any stage ran is worth keeping.
    await launches.pipeline(['--', 'dvc', 'repro', 'no-such-stage'], 255);
    const failed = onlyParent(newRuns());
    assert.equal(failed.info.status, 'FAILED');
  });
});
