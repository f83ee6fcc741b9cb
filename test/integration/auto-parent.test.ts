// Issue 18's acceptance: a plain `dvc repro` (no `mlrun pipeline`) of the README's example
// pipeline, run by the real `dvc` against the shared real mlflow server and the embedded store,
// read back with the MLflow Python client. The stages of one launch nest under one parent run that
// their first stage made, and the launch's watcher closes it once dvc is gone: FINISHED, FAILED or
// KILLED as the stages ended, with the same end-of-launch record as `mlrun pipeline`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { DvcProject, dvcBinary, examplePipeline, launchDvc, stagesRan, type Launched } from '../support/dvc-project.ts';
import { runMlrun } from '../support/mlrun.ts';
import { mlrunBinary } from '../support/paths.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';

/** The eight stages of the example, in DVC's order. */
const STAGE_NAMES = ['prepare@train', 'prepare@val', 'prepare@test', 'featurize', 'train', 'build_evaluator', 'evaluate@val', 'evaluate@test'];
const PREPARE = STAGE_NAMES.slice(0, 3);
/** The parent's summary of the example (pipeline/summary.ts): every stage's params and every metrics file. */
const SUMMARY_PARAMS = [
  'evaluate.yaml:evaluate.threshold',
  'featurize.clip',
  'prepare.rows',
  'prepare.seed',
  'prepare.test_size',
  'prepare.val_size',
  'train.batch_size',
  'train.epochs',
  'train.l2',
  'train.lr',
  'train.seed',
];
const SUMMARY_METRICS = [
  'loss',
  'metrics/test.json:accuracy',
  'metrics/test.json:auc',
  'metrics/test.json:f1',
  'metrics/test.json:precision',
  'metrics/test.json:recall',
  'metrics/test.json:rows',
  'metrics/train.json:accuracy',
  'metrics/val.json:accuracy',
  'metrics/val.json:auc',
  'metrics/val.json:f1',
  'metrics/val.json:precision',
  'metrics/val.json:recall',
  'metrics/val.json:rows',
  'val_accuracy',
  'val_loss',
];
/** How long after dvc's exit the parent may still be open: the watcher looks for dvc every 250 ms. */
const CLOSED_WITHIN_MS = 5000;

let serverUri = '';
/** When the last launch of this file ended: no mlrun process may outlive it by 10 s. */
let lastEnded = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  serverUri = await sharedServerUri();
});

function experimentName(what: string): string {
  return `auto-parent-${what}-${process.pid}-${Date.now()}`;
}

/** dvc's outcome, once it ended and its launch's watcher is done (the watcher removes the launch's file last). */
async function finished(project: DvcProject, launched: Launched): Promise<Awaited<Launched['done']>> {
  const result = await launched.done;
  lastEnded = Math.max(lastEnded, result.endedAt);
  const folder = path.join(project.dir, '.mlrun', 'launches');
  while (fs.existsSync(folder) && fs.readdirSync(folder).length > 0) {
    assert.ok(Date.now() - result.endedAt < 30_000, `the launch's watcher still runs 30 s after dvc ended: ${fs.readdirSync(folder).join(', ')}`);
    await sleep(100);
  }
  return result;
}

function runsOf(uri: string, experiment: string): PyRun[] {
  const id = inspectMlflow(uri, { experimentNames: [experiment] }).experiments[experiment]!.experiment_id;
  return inspectMlflow(uri, { experimentIds: [id], withArtifacts: true }).runs;
}

/** The runs of the experiment as parents, each with its children by stage name. */
function tree(runs: PyRun[]): { parent: PyRun; children: Record<string, PyRun> }[] {
  const parents = runs.filter((run) => run.tags['mlflow.parentRunId'] === undefined);
  for (const run of runs) {
    if (!parents.includes(run)) assert.ok(parents.some((parent) => parent.info.run_id === run.tags['mlflow.parentRunId']), `${run.info.run_name} has no parent in the experiment`);
  }
  return parents.map((parent) => {
    const children = runs.filter((run) => run.tags['mlflow.parentRunId'] === parent.info.run_id);
    return { parent, children: Object.fromEntries(children.map((child) => [child.tags['dvc.stage']!, child])) };
  });
}

function statuses(children: Record<string, PyRun>): Record<string, string> {
  return Object.fromEntries(Object.entries(children).map(([stage, run]) => [stage, run.info.status]));
}

/** A copy of the example whose `featurize` stage runs `script` instead (committed, so DVC runs it). */
function withFeaturize(project: DvcProject, script: string): DvcProject {
  fs.writeFileSync(path.join(project.dir, 'src', 'featurize.sh'), script);
  project.commit('featurize replaced');
  return project;
}

const backends = [
  { name: 'a real mlflow server', tracking: () => ({ uri: serverUri }), readBack: () => serverUri },
  { name: 'the embedded store', tracking: () => ({}), readBack: (project: DvcProject) => `sqlite:///${project.dir}/mlflow.db` },
];

describe('a plain dvc repro nests its stages under a parent of its own', () => {
  for (const backend of backends) {
    test(`on ${backend.name}: one parent, one child per stage, closed FINISHED soon after dvc, with the end-of-launch record`, async () => {
      const experiment = experimentName('repro');
      const project = examplePipeline({ ...backend.tracking(), experimentName: experiment });
      const result = await finished(project, launchDvc(project, ['repro']));
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.messages, []);
      assert.deepEqual(stagesRan(result), STAGE_NAMES);

      const runs = runsOf(backend.readBack(project), experiment);
      assert.equal(runs.length, 1 + STAGE_NAMES.length);
      const [launch, ...others] = tree(runs);
      assert.equal(others.length, 0);
      const { parent, children } = launch!;
      assert.deepEqual(Object.keys(children).sort(), [...STAGE_NAMES].sort());
      assert.deepEqual(new Set(Object.values(statuses(children))), new Set(['FINISHED']));
      assert.equal(parent.info.status, 'FINISHED');
      assert.ok(parent.info.end_time! <= result.endedAt + CLOSED_WITHIN_MS, `closed ${parent.info.end_time! - result.endedAt} ms after dvc ended`);
      assert.ok(parent.info.end_time! >= Math.max(...Object.values(children).map((child) => child.info.end_time!)));
      assert.match(parent.info.run_name, /^repro \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.equal(parent.tags['mlrun.auto_parent'], 'true');
      assert.equal(parent.tags['mlrun.role'], 'pipeline');
      assert.equal(parent.tags['dvc.skipped_stages'], '{}');
      assert.deepEqual(parent.artifacts.sort(), ['dvc.lock', 'dvc.yaml', 'evaluate.yaml', 'params.yaml']);
      assert.deepEqual(Object.keys(parent.params).sort(), SUMMARY_PARAMS);
      assert.equal(parent.params['prepare.rows'], '3000');
      assert.deepEqual(Object.keys(parent.metrics).sort(), SUMMARY_METRICS);
      assert.equal(parent.metrics['metrics/val.json:auc'], children['evaluate@val']!.metrics.auc);
      // Nothing of the launch is left open.
      assert.deepEqual(fs.readdirSync(path.join(project.dir, '.mlrun', 'live')), []);

      // An up-to-date repro runs no stage, so nothing makes a parent.
      const again = await finished(project, launchDvc(project, ['repro']));
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(stagesRan(again), []);
      assert.equal(runsOf(backend.readBack(project), experiment).length, runs.length);
    });
  }

  test('a stage failing midway: the parent FAILED, the failed child FAILED, later stages absent', async () => {
    const experiment = experimentName('failing');
    const project = withFeaturize(examplePipeline({ uri: serverUri, experimentName: experiment }), 'echo featurize fails >&2\nexit 3\n');
    const result = await finished(project, launchDvc(project, ['repro']));
    assert.equal(result.code, 255, result.stderr);
    assert.deepEqual(stagesRan(result), [...PREPARE, 'featurize']);

    const [launch, ...others] = tree(runsOf(serverUri, experiment));
    assert.equal(others.length, 0);
    assert.deepEqual(statuses(launch!.children), { 'prepare@train': 'FINISHED', 'prepare@val': 'FINISHED', 'prepare@test': 'FINISHED', featurize: 'FAILED' });
    assert.equal(launch!.children.featurize!.tags['mlrun.exit_code'], '3');
    assert.equal(launch!.parent.info.status, 'FAILED');
    assert.ok(launch!.parent.info.end_time! <= result.endedAt + CLOSED_WITHIN_MS);
    // The record of what did run: dvc.lock holds the prepare stages.
    assert.ok(launch!.parent.artifacts.includes('dvc.lock'));
  });

  test('dvc repro interrupted midway (SIGINT to its process group, as Ctrl-C): the parent KILLED, not left RUNNING', async () => {
    const experiment = experimentName('interrupted');
    const project = withFeaturize(examplePipeline({ uri: serverUri, experimentName: experiment }), 'touch featurize.started\nsleep 60\n');
    const launched = launchDvc(project, ['repro']);
    const started = path.join(project.dir, 'featurize.started');
    for (let waited = 0; !fs.existsSync(started); waited += 100) {
      assert.ok(waited < 60_000, 'featurize never started');
      await sleep(100);
    }
    process.kill(-launched.pid, 'SIGINT');
    const result = await finished(project, launched);
    assert.notEqual(result.code, 0, result.stderr);
    assert.deepEqual(stagesRan(result), [...PREPARE, 'featurize']);

    const [launch, ...others] = tree(runsOf(serverUri, experiment));
    assert.equal(others.length, 0);
    assert.deepEqual(statuses(launch!.children), { 'prepare@train': 'FINISHED', 'prepare@val': 'FINISHED', 'prepare@test': 'FINISHED', featurize: 'KILLED' });
    assert.equal(launch!.parent.info.status, 'KILLED');
    assert.ok(launch!.parent.info.end_time! <= result.endedAt + CLOSED_WITHIN_MS);
  });

  test('two dvc repro launches in two clones at the same time: one parent each, no child under the wrong parent', async () => {
    const experiment = experimentName('two-clones');
    const clones = [examplePipeline({ uri: serverUri, experimentName: experiment }), examplePipeline({ uri: serverUri, experimentName: experiment })];
    // The second clone's prepare stages differ in their params: what tells the launches' children apart.
    const params = path.join(clones[1]!.dir, 'params.yaml');
    fs.writeFileSync(params, fs.readFileSync(params, 'utf8').replace('rows: 3000', 'rows: 2000'));
    clones[1]!.commit('fewer rows');
    const launched = clones.map((clone) => launchDvc(clone, ['repro']));
    const results = await Promise.all(clones.map((clone, index) => finished(clone, launched[index]!)));
    for (const result of results) assert.equal(result.code, 0, result.stderr);

    const launches = tree(runsOf(serverUri, experiment));
    assert.equal(launches.length, 2);
    assert.deepEqual(launches.map(({ parent }) => parent.params['prepare.rows']).sort(), ['2000', '3000']);
    for (const { parent, children } of launches) {
      assert.equal(parent.info.status, 'FINISHED');
      assert.deepEqual(Object.keys(children).sort(), [...STAGE_NAMES].sort());
      for (const stage of PREPARE) assert.equal(children[stage]!.params['prepare.rows'], parent.params['prepare.rows'], stage);
    }
  });

  test('two queued experiments run with -j 2: one parent each (the experiment\'s, as before), no auto parent', async () => {
    const experiment = experimentName('queue');
    const project = examplePipeline({ uri: serverUri, experimentName: experiment });
    // -f: every stage runs in both. Without it, a worker may restore the other experiment's
    // prepare stages from DVC's run cache (stage/run.py run_stage), and those then have no run.
    project.run(dvcBinary, ['exp', 'run', '--queue', '-f', '--name', 'q-epochs-3', '-S', 'train.epochs=3']);
    project.run(dvcBinary, ['exp', 'run', '--queue', '-f', '--name', 'q-epochs-4', '-S', 'train.epochs=4']);
    // `--run-all` starts the queue's workers (`dvc queue start -j 2`) and waits for the experiments.
    const result = await finished(project, launchDvc(project, ['exp', 'run', '--run-all', '-j', '2']));
    assert.equal(result.code, 0, result.stderr);

    const runs = runsOf(serverUri, experiment);
    assert.equal(runs.length, 2 * (1 + STAGE_NAMES.length), `${result.stdout.toString()}\n${result.stderr}\n${project.run(dvcBinary, ['queue', 'status'])}`);
    assert.equal(runs.filter((run) => run.tags['mlrun.auto_parent'] !== undefined).length, 0);
    const launches = tree(runs);
    assert.deepEqual(launches.map(({ parent }) => [parent.info.run_name, parent.tags['mlrun.role'], parent.info.status]).sort(), [
      ['q-epochs-3', 'experiment', 'FINISHED'],
      ['q-epochs-4', 'experiment', 'FINISHED'],
    ]);
    for (const { parent, children } of launches) {
      assert.deepEqual(Object.keys(children).sort(), [...STAGE_NAMES].sort());
      assert.equal(children.train!.params['train.epochs'], parent.info.run_name.replace('q-epochs-', ''));
    }
  });

  test('auto_parent: false in mlrun.yaml: every stage is a run of its own', async () => {
    const experiment = experimentName('off');
    const project = examplePipeline({ experimentName: experiment });
    fs.writeFileSync(path.join(project.dir, 'mlrun.yaml'), 'auto_parent: false\n');
    project.commit('no auto parent');
    const result = await finished(project, launchDvc(project, ['repro', '--single-item', 'prepare@train']));
    assert.equal(result.code, 0, result.stderr);
    const runs = runsOf(`sqlite:///${project.dir}/mlflow.db`, experiment);
    assert.deepEqual(
      runs.map((run) => [run.tags['dvc.stage'], run.tags['mlflow.parentRunId'] ?? 'no parent']),
      [['prepare@train', 'no parent']],
    );
  });

  test('--no-auto-parent on one stage: that stage is a run of its own, the others nest', async () => {
    const experiment = experimentName('flag');
    const project = new DvcProject(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-flag-'))), { experimentName: experiment });
    const stages = { alone: { cmd: 'mlrun --no-auto-parent -- true' }, nested: { cmd: 'mlrun -- true' } };
    fs.writeFileSync(path.join(project.dir, 'dvc.yaml'), JSON.stringify({ stages }));
    project.run('git', ['init', '-q']);
    project.run(dvcBinary, ['init', '-q']);
    project.commit('two stages');
    const result = await finished(project, launchDvc(project, ['repro']));
    assert.equal(result.code, 0, result.stderr);
    const runs = runsOf(`sqlite:///${project.dir}/mlflow.db`, experiment);
    const parent = runs.find((run) => run.tags['mlrun.auto_parent'] === 'true');
    assert.ok(parent, 'the launch has a parent');
    assert.deepEqual(runs.map((run) => [run.info.run_name, run.tags['mlflow.parentRunId'] ?? 'no parent']).sort(), [
      ['alone', 'no parent'],
      ['nested', parent.info.run_id],
      [parent.info.run_name, 'no parent'],
    ].sort());
  });

  test('.mlrun/launches cannot be written: one mlrun: line per stage, and each stage is a run of its own', async () => {
    const experiment = experimentName('unwritable');
    const project = examplePipeline({ experimentName: experiment });
    fs.mkdirSync(path.join(project.dir, '.mlrun'));
    fs.writeFileSync(path.join(project.dir, '.mlrun', 'launches'), 'not a folder\n');
    const result = await launchDvc(project, ['repro', 'prepare@train', 'prepare@val']).done;
    lastEnded = Math.max(lastEnded, result.endedAt);
    assert.equal(result.code, 0, result.stderr);
    const folder = path.join(project.dir, '.mlrun', 'launches');
    const line = `mlrun: cannot record the dvc launch in ${folder} (EEXIST: file already exists, mkdir '${folder}'): the stage runs without a parent`;
    assert.deepEqual(result.messages, [line, line]);
    const runs = runsOf(`sqlite:///${project.dir}/mlflow.db`, experiment);
    assert.deepEqual(runs.map((run) => [run.tags['dvc.stage'], run.info.status, run.tags['mlflow.parentRunId'] ?? 'no parent']).sort(), [
      ['prepare@train', 'FINISHED', 'no parent'],
      ['prepare@val', 'FINISHED', 'no parent'],
    ]);
  });

  test('the watcher killed (SIGKILL): the next mlrun in the project closes the parent KILLED', async () => {
    const experiment = experimentName('watcher-killed');
    const project = withFeaturize(examplePipeline({ uri: serverUri, experimentName: experiment }), 'touch featurize.started\nsleep 2\nmkdir -p data/features\n');
    const launched = launchDvc(project, ['repro', 'featurize']);
    const started = path.join(project.dir, 'featurize.started');
    for (let waited = 0; !fs.existsSync(started); waited += 100) {
      assert.ok(waited < 60_000, 'featurize never started');
      await sleep(100);
    }
    const folder = path.join(project.dir, '.mlrun', 'launches');
    const [file] = fs.readdirSync(folder);
    const launch = JSON.parse(fs.readFileSync(path.join(folder, file!), 'utf8')) as { parent: { runId: string; watcher: { pid: number } } };
    process.kill(launch.parent.watcher.pid, 'SIGKILL');
    const killedAt = Date.now();
    const result = await launched.done;
    lastEnded = Math.max(lastEnded, result.endedAt);
    assert.equal(result.code, 0, result.stderr);
    await sleep(1000);
    assert.equal(inspectMlflow(serverUri, { runIds: [launch.parent.runId] }).runs[0]!.info.status, 'RUNNING');

    const next = await runMlrun(['--', 'true'], { cwd: project.dir, env: project.env });
    lastEnded = Math.max(lastEnded, Date.now());
    assert.equal(next.code, 0, next.stderr);
    const [parent] = inspectMlflow(serverUri, { runIds: [launch.parent.runId] }).runs;
    assert.equal(parent!.info.status, 'KILLED');
    assert.equal(parent!.tags['mlrun.closed_by'], 'mlrun');
    // Closed at the watcher's last sign of life, before it was killed.
    assert.ok(parent!.info.end_time! <= killedAt, `${parent!.info.end_time} > ${killedAt}`);
  });

  test("no process of mlrun's (a stage, a relay, a watcher) is left running 10 s after the last launch ended", async () => {
    await sleep(Math.max(0, lastEnded + 10_000 - Date.now()));
    const binary = fs.realpathSync(mlrunBinary);
    // Only this file's: other test files run mlrun at the same time. Its launches' processes (the
    // stages, and the watchers they start) inherit the experiment name experimentName() made.
    const ours = new RegExp(`(^|\0)MLFLOW_EXPERIMENT_NAME=auto-parent-[^\0]*-${process.pid}-\\d+(\0|$)`);
    const left = fs.readdirSync('/proc').filter((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return fs.readlinkSync(`/proc/${pid}/exe`) === binary && ours.test(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'));
      } catch {
        return false;
      }
    });
    assert.ok(lastEnded > 0);
    assert.deepEqual(left, []);
  });
});
