// Issue 4's acceptance: the example pipeline (examples/pipeline, five stages in four languages,
// eight after `foreach`) in a Git + DVC copy, run by the real `dvc` under `mlrun pipeline` against
// the shared real mlflow server, read back with the MLflow Python client. One project copy goes
// through every step in order: a first launch, a launch after a change to `train`'s params,
// two queued experiments run in parallel, one workspace experiment, and the MLflow UI in Chromium.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import { runsListUrl } from '../../scripts/runs-list-url.ts';
import { DvcProject, dvcBinary, examplePipeline, stagesRan } from '../support/dvc-project.ts';
import type { MlrunResult } from '../support/mlrun.ts';
import { repoRoot } from '../support/paths.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';

const CHROMIUM = '/usr/bin/chromium';

/**
 * The eight stages DVC runs, in its order, each with what dvc.yaml declares as its outs, metrics
 * and plots, its `desc:`, and its deps that are data (another stage's outputs), not code.
 */
const STAGES: Record<string, { declared: string[]; desc: string; data: string[] }> = {
  'prepare@train': { declared: ['data/prepared/train.csv'], desc: 'Synthetic churn table, train split (Python 3 stdlib)', data: [] },
  'prepare@val': { declared: ['data/prepared/val.csv'], desc: 'Synthetic churn table, val split (Python 3 stdlib)', data: [] },
  'prepare@test': { declared: ['data/prepared/test.csv'], desc: 'Synthetic churn table, test split (Python 3 stdlib)', data: [] },
  featurize: {
    declared: ['data/features'],
    desc: 'Standardize with train-split mean/std, clip (POSIX sh + awk)',
    data: ['data/prepared/test.csv', 'data/prepared/train.csv', 'data/prepared/val.csv'],
  },
  train: {
    declared: ['model/model.json', 'metrics/train.json', 'plots/train_loss.csv'],
    desc: 'Logistic regression by mini-batch gradient descent (Node.js, no packages)',
    data: ['data/features'],
  },
  build_evaluator: { declared: ['bin/evaluate'], desc: 'Compile the evaluator (C)', data: [] },
  'evaluate@val': {
    declared: ['metrics/val.json', 'plots/val_roc.csv'],
    desc: 'Accuracy, precision, recall, F1, ROC AUC on the val split (compiled C)',
    data: ['bin/evaluate', 'data/features/val.csv', 'model/model.json'],
  },
  'evaluate@test': {
    declared: ['metrics/test.json', 'plots/test_roc.csv'],
    desc: 'Accuracy, precision, recall, F1, ROC AUC on the test split (compiled C)',
    data: ['bin/evaluate', 'data/features/test.csv', 'model/model.json'],
  },
};
const STAGE_NAMES = Object.keys(STAGES);
/** What DVC re-runs when only `train.*` params change. */
const TRAIN_AND_AFTER = ['train', 'evaluate@val', 'evaluate@test'];

let uri = '';
let project = '';
let dvcProject: DvcProject;
let experimentName = '';
let experimentId = '';

const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

/** mlrun's own lines, wherever DVC put them (queued experiments' output comes back on DVC's stdout). */
function mlrunLines(result: MlrunResult): string[] {
  return `${result.stdout.toString()}\n${result.stderr}`.split('\n').filter((line) => line.startsWith('mlrun:'));
}

/** What each stage printed, as DVC passed it through: the lines between `> cmd` and DVC's lock file line. */
function stageOutputs(result: MlrunResult): Record<string, string> {
  const blocks: Record<string, string> = {};
  const pattern = /^Running stage '([^']+)':\n> [^\n]*\n([\s\S]*?)^(?:Generating lock file 'dvc\.lock'\n)?Updating lock file 'dvc\.lock'$/gm;
  for (const match of result.stdout.toString().matchAll(pattern)) blocks[match[1]!] = match[2]!;
  return blocks;
}

function readYaml<T>(file: string): T {
  return YAML.parse(fs.readFileSync(path.join(project, file), 'utf8')) as T;
}

/** A params file's leaves under `section`, as written in the file (`clip: 3.0` stays `3.0`), keys dotted. */
function paramsAsWritten(file: string, section: string, prefix = ''): Record<string, string> {
  const doc = YAML.parseDocument(fs.readFileSync(path.join(project, file), 'utf8'));
  const map = doc.get(section, true) as YAML.YAMLMap<YAML.Scalar<string>, YAML.Scalar>;
  return Object.fromEntries(map.items.map((pair) => [`${prefix}${section}.${pair.key.value}`, pair.value!.source ?? String(pair.value!.value)]));
}

function pick(values: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.map((key) => [key, values[key]!]));
}

/** The params each stage's run should hold, from params.yaml and evaluate.yaml as they are now. */
function expectedParams(): Record<string, Record<string, string>> {
  const prepare = paramsAsWritten('params.yaml', 'prepare');
  const threshold = paramsAsWritten('evaluate.yaml', 'evaluate', 'evaluate.yaml:');
  const prepareParams = pick(prepare, ['prepare.rows', 'prepare.val_size', 'prepare.test_size', 'prepare.seed']);
  return {
    'prepare@train': prepareParams,
    'prepare@val': prepareParams,
    'prepare@test': prepareParams,
    featurize: paramsAsWritten('params.yaml', 'featurize'),
    train: { ...paramsAsWritten('params.yaml', 'train'), ...threshold },
    build_evaluator: {},
    'evaluate@val': threshold,
    'evaluate@test': threshold,
  };
}

interface LockFile {
  stages: Record<string, { deps?: LockEntry[]; outs?: LockEntry[] }>;
}
interface LockEntry {
  path: string;
  hash: string;
  [hashName: string]: string | number;
}

/** `dvc.dep.<path>.md5` / `dvc.out.<path>.md5` as dvc.lock has them for the stage. */
function lineageFromLock(lock: LockFile, stage: string): Record<string, string> {
  const entry = lock.stages[stage]!;
  const tags: Record<string, string> = {};
  for (const [kind, entries] of [['dep', entry.deps ?? []], ['out', entry.outs ?? []]] as const) {
    for (const e of entries) tags[`dvc.${kind}.${e.path}.${e.hash}`] = String(e[e.hash]);
  }
  return tags;
}

function lineageTags(run: PyRun): Record<string, string> {
  return Object.fromEntries(Object.entries(run.tags).filter(([key]) => key.startsWith('dvc.dep.') || key.startsWith('dvc.out.')));
}

/** Every file of a declared output (a folder expanded to its files), project-relative → sha256 of the bytes on disk. */
function filesOnDisk(declared: string[]): Record<string, string> {
  const digests: Record<string, string> = {};
  const visit = (relative: string) => {
    const full = path.join(project, relative);
    if (fs.statSync(full).isDirectory()) {
      for (const name of fs.readdirSync(full)) visit(`${relative}/${name}`);
    } else {
      digests[relative] = sha256(fs.readFileSync(full));
    }
  };
  for (const output of declared) visit(output);
  return digests;
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `name=value` pairs of one line, as numbers. */
function pairs(line: string): Record<string, number> {
  return Object.fromEntries([...line.matchAll(/(\w+)=([-\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

function byName(runs: PyRun[]): Record<string, PyRun> {
  return Object.fromEntries(runs.map((r) => [r.info.run_name, r]));
}

function childrenOf(runs: PyRun[], parentId: string): PyRun[] {
  return runs.filter((r) => r.tags['mlflow.parentRunId'] === parentId);
}

/** What the first launch left, for the later steps. */
const first = { parentId: '', parentName: '', children: {} as Record<string, string>, sourceNames: {} as Record<string, string | undefined> };
let knownRunIds = new Set<string>();

function newRuns(runs: PyRun[]): PyRun[] {
  const fresh = runs.filter((r) => !knownRunIds.has(r.info.run_id));
  knownRunIds = new Set(runs.map((r) => r.info.run_id));
  return fresh;
}

before(async () => {
  uri = await sharedServerUri();
  experimentName = `pipeline-acceptance-${process.pid}-${Date.now()}`;
  dvcProject = examplePipeline({ uri, experimentName });
  project = dvcProject.dir;
});

describe('the example pipeline under mlrun pipeline, on a real mlflow server', () => {
  test('dvc repro: one parent, one child per stage with its params, metrics, artifacts and data hashes', async () => {
    const result = await dvcProject.pipeline(['--', 'dvc', 'repro']);
    assert.deepEqual(mlrunLines(result), []);
    assert.deepEqual(stagesRan(result), STAGE_NAMES);
    const lock = readYaml<LockFile>('dvc.lock');
    const params = expectedParams();
    const outputs = stageOutputs(result);
    assert.deepEqual(Object.keys(outputs), STAGE_NAMES);
    assert.equal(outputs.build_evaluator, '', 'the compiler prints nothing');
    const onDisk = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, filesOnDisk(STAGES[stage]!.declared)]));
    const definitions = filesOnDisk(['dvc.yaml', 'params.yaml', 'evaluate.yaml', 'dvc.lock']);

    const experiment = inspectMlflow(uri, { experimentNames: [experimentName] }).experiments[experimentName];
    assert.ok(experiment, `experiment ${experimentName} was not created`);
    experimentId = experiment.experiment_id;
    const runs = inspectMlflow(uri, { experimentIds: [experimentId], withHistory: true, withArtifactDigests: true, withInputs: true }).runs;
    knownRunIds = new Set(runs.map((r) => r.info.run_id));

    const parents = runs.filter((r) => r.tags['mlrun.role'] === 'pipeline');
    assert.equal(parents.length, 1);
    const parent = parents[0]!;
    assert.equal(parent.info.status, 'FINISHED');
    assert.match(parent.info.run_name, /^repro \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(parent.tags['mlflow.parentRunId'], undefined);
    assert.equal(parent.tags['mlrun.command'], 'dvc repro');
    assert.deepEqual(JSON.parse(parent.tags['dvc.skipped_stages']!), {});
    assert.deepEqual(parent.artifact_sha256, definitions);
    assert.equal(parent.tags['mlrun.git.dirty'], undefined);

    const children = childrenOf(runs, parent.info.run_id);
    assert.equal(runs.length, 1 + STAGE_NAMES.length, 'no run beside the parent and its children');
    assert.deepEqual(children.map((r) => r.info.run_name).sort(), [...STAGE_NAMES].sort());
    const child = byName(children);
    for (const stage of STAGE_NAMES) {
      const run = child[stage]!;
      assert.equal(run.info.status, 'FINISHED', stage);
      assert.equal(run.info.experiment_id, experimentId, stage);
      assert.equal(run.tags['dvc.stage'], stage);
      assert.equal(run.tags['mlrun.exit_code'], '0', stage);
      assert.deepEqual(run.params, params[stage], `params of ${stage}`);
      // A stage that printed nothing (the compiler) has no output log.
      const log: Record<string, string> = outputs[stage] === '' ? {} : { 'mlrun/output.log': sha256(outputs[stage]!) };
      assert.deepEqual(
        run.artifact_sha256,
        sorted({ ...onDisk[stage], ...log }),
        `artifacts of ${stage}: its declared outputs and its output log, byte-identical`,
      );
      assert.deepEqual(lineageTags(run), lineageFromLock(lock, stage), `data hashes of ${stage}`);
      assert.equal(run.tags['mlflow.note.content'], STAGES[stage]!.desc, `description of ${stage}`);
      assert.equal(run.tags['mlrun.git.dirty'], undefined, `${stage} ran from a clean work tree`);
      const deps = lock.stages[stage]!.deps ?? [];
      assert.deepEqual(
        (run.inputs ?? []).map((input) => [input.name, input.digest]).sort(),
        deps.filter((dep) => STAGES[stage]!.data.includes(dep.path)).map((dep) => [dep.path, dep.md5]).sort(),
        `datasets of ${stage}: its data deps, not its code`,
      );
    }
    first.parentId = parent.info.run_id;
    first.parentName = parent.info.run_name;
    first.children = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, child[stage]!.info.run_id]));
    first.sourceNames = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, child[stage]!.tags['mlflow.source.name']]));

    // Metrics: the lines each stage printed, and its metrics files.
    const metricKeys = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, Object.keys(child[stage]!.metrics).sort()]));
    assert.deepEqual(metricKeys, {
      'prepare@train': ['positives', 'rows'],
      'prepare@val': ['positives', 'rows'],
      'prepare@test': ['positives', 'rows'],
      featurize: ['clip', 'features', 'test_clipped', 'test_rows', 'train_clipped', 'train_rows', 'val_clipped', 'val_rows'],
      train: ['accuracy', 'loss', 'val_accuracy', 'val_loss'],
      build_evaluator: [],
      'evaluate@val': ['accuracy', 'auc', 'f1', 'fn', 'fp', 'precision', 'recall', 'rows', 'tn', 'tp'],
      'evaluate@test': ['accuracy', 'auc', 'f1', 'fn', 'fp', 'precision', 'recall', 'rows', 'tn', 'tp'],
    });
    for (const split of ['train', 'val', 'test']) {
      const printed = outputs[`prepare@${split}`]!.split('\n').find((line) => line.startsWith('rows='))!;
      assert.deepEqual(child[`prepare@${split}`]!.metrics, pairs(printed), `prepare@${split}`);
    }

    // train: exactly one point per epoch line (the step is the epoch), and metrics/train.json's
    // value as the latest: the file ends the curve rather than adding a point at step 0.
    const trainJson = readYaml<Record<string, number>>('metrics/train.json');
    assert.deepEqual(child.train!.metrics, trainJson);
    const epochs = outputs.train!.split('\n').filter((line) => line.startsWith('epoch '));
    assert.equal(epochs.length, Number(params.train!['train.epochs']));
    for (const key of Object.keys(trainJson)) {
      const streamed = epochs.map((line, i) => ({ step: i + 1, value: Number(new RegExp(`(?:^| )${key}: ([\\d.]+)`).exec(line)![1]) }));
      const history = child.train!.history[key]!.map(({ step, value }) => ({ step, value })).sort((a, b) => a.step - b.step);
      assert.deepEqual(history, streamed, `history of train's ${key}`);
    }

    // evaluate@val: the confusion matrix and scores it printed, and metrics/val.json (which adds `rows`).
    const valJson = readYaml<Record<string, number>>('metrics/val.json');
    const valPrinted = Object.assign({}, ...outputs['evaluate@val']!.trim().split('\n').map(pairs)) as Record<string, number>;
    assert.deepEqual(Object.keys(valPrinted).sort(), ['accuracy', 'auc', 'f1', 'fn', 'fp', 'precision', 'recall', 'tn', 'tp']);
    assert.deepEqual(child['evaluate@val']!.metrics, { ...valPrinted, ...valJson });
    for (const key of Object.keys(valJson)) assert.equal(child['evaluate@val']!.metrics[key], valJson[key], `evaluate@val ${key}`);
    // Printed once and written to the file: one point each, at step 0.
    for (const stage of ['evaluate@val', 'evaluate@test']) {
      const history = child[stage]!.history;
      assert.deepEqual(
        Object.fromEntries(Object.entries(history).map(([key, points]) => [key, points.map((p) => [p.step, p.value])])),
        Object.fromEntries(Object.entries(child[stage]!.metrics).map(([key, value]) => [key, [[0, value]]])),
        `history of ${stage}`,
      );
    }
  });

  test(
    "each child's mlflow.source.name is the script its interpreter runs, else the program",
    () => {
      assert.ok(first.parentId, 'the first launch ran');
      assert.deepEqual(first.sourceNames, {
        'prepare@train': 'src/prepare.py',
        'prepare@val': 'src/prepare.py',
        'prepare@test': 'src/prepare.py',
        featurize: 'src/featurize.sh',
        train: 'src/train.mjs',
        build_evaluator: 'cc',
        'evaluate@val': 'bin/evaluate',
        'evaluate@test': 'bin/evaluate',
      });
    },
  );

  test('after a change to train.lr: a new parent with only the stages DVC re-ran, the others listed as skipped', async () => {
    assert.ok(first.parentId, 'the first launch ran');
    const file = path.join(project, 'params.yaml');
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^ {2}lr: 0\.05$/m);
    fs.writeFileSync(file, text.replace(/^ {2}lr: 0\.05$/m, '  lr: 0.1'));

    const result = await dvcProject.pipeline(['--', 'dvc', 'repro']);
    assert.deepEqual(mlrunLines(result), []);
    assert.deepEqual(stagesRan(result), TRAIN_AND_AFTER);
    const lock = readYaml<LockFile>('dvc.lock');
    // The change is not committed (dvc.lock and the metrics files are not in git yet).
    const diff = dvcProject.run('git', ['diff', 'HEAD', '--no-color']);
    assert.deepEqual(diff.match(/^diff --git .*$/gm), ['diff --git a/params.yaml b/params.yaml']);
    const runs = newRuns(inspectMlflow(uri, { experimentIds: [experimentId], withArtifactDigests: true }).runs);
    for (const run of runs) {
      assert.equal(run.tags['mlrun.git.dirty'], 'true', `${run.info.run_name} ran from a dirty work tree`);
      assert.equal(run.artifact_sha256!['mlrun/git.diff'], sha256(diff), `${run.info.run_name} keeps the diff`);
    }
    const parents = runs.filter((r) => r.tags['mlrun.role'] === 'pipeline');
    assert.equal(parents.length, 1);
    const parent = parents[0]!;
    assert.notEqual(parent.info.run_id, first.parentId);
    assert.equal(parent.info.status, 'FINISHED');
    const children = childrenOf(runs, parent.info.run_id);
    assert.equal(runs.length, 1 + TRAIN_AND_AFTER.length, 'no run beside the parent and its children');
    assert.deepEqual(children.map((r) => r.info.run_name).sort(), [...TRAIN_AND_AFTER].sort());
    for (const run of children) {
      assert.equal(run.info.status, 'FINISHED', run.info.run_name);
      assert.deepEqual(lineageTags(run), lineageFromLock(lock, run.info.run_name), `data hashes of ${run.info.run_name}`);
    }
    assert.equal(byName(children).train!.params['train.lr'], '0.1');
    const skipped = STAGE_NAMES.filter((stage) => !TRAIN_AND_AFTER.includes(stage));
    assert.deepEqual(
      JSON.parse(parent.tags['dvc.skipped_stages']!),
      Object.fromEntries(skipped.map((stage) => [stage, first.children[stage]])),
    );
  });

  test(
    'two queued experiments run in parallel: one parent each, named after it, holding its own stages',
    async () => {
      assert.ok(first.parentId, 'the first launch ran');
      dvcProject.commit('train.lr 0.1');
      dvcProject.run(dvcBinary, ['exp', 'run', '--queue', '--name', 'epochs-3', '-S', 'train.epochs=3']);
      dvcProject.run(dvcBinary, ['exp', 'run', '--queue', '--name', 'epochs-4', '-S', 'train.epochs=4']);
      // `--run-all` starts the queue's workers and waits until every queued experiment is done.
      const result = await dvcProject.pipeline(['--', 'dvc', 'exp', 'run', '--run-all', '-j', '2']);
      const status = dvcProject.run(dvcBinary, ['queue', 'status']);
      for (const name of ['epochs-3', 'epochs-4']) assert.match(status, new RegExp(`\\s${name}\\s+.*\\sSuccess\\s`), status);

      const runs = newRuns(inspectMlflow(uri, { experimentIds: [experimentId] }).runs);
      const parents = runs.filter((r) => r.tags['dvc.exp_name'] !== undefined && r.tags['dvc.stage'] === undefined);
      assert.deepEqual(
        parents.map((r) => [r.info.run_name, r.tags['dvc.exp_name']]).sort(),
        [['epochs-3', 'epochs-3'], ['epochs-4', 'epochs-4']],
        `one parent per experiment; mlrun said: ${mlrunLines(result).join('\n')}`,
      );
      // The first experiment to start claims the pipeline's run; the other gets a run beside it.
      const pipelineRun = parents.find((r) => r.tags['mlrun.role'] === 'pipeline');
      const other = parents.find((r) => r.tags['mlrun.role'] === 'experiment');
      assert.ok(pipelineRun && other, 'one parent is the pipeline run, the other an experiment run');
      assert.equal(other.tags['mlrun.pipeline_run_id'], pipelineRun.info.run_id);
      for (const parent of parents) {
        assert.equal(parent.tags['mlflow.parentRunId'], undefined, `${parent.info.run_name} is a top-level run`);
        assert.equal(parent.info.status, 'FINISHED', parent.info.run_name);
        const epochs = parent.info.run_name.replace('epochs-', '');
        const children = childrenOf(runs, parent.info.run_id);
        assert.deepEqual(children.map((r) => r.info.run_name).sort(), [...TRAIN_AND_AFTER].sort(), `children of ${parent.info.run_name}`);
        for (const child of children) {
          assert.equal(child.tags['dvc.exp_name'], parent.info.run_name);
          assert.equal(child.info.status, 'FINISHED');
        }
        assert.equal(byName(children).train!.params['train.epochs'], epochs);
      }
      assert.equal(runs.length, 2 + 2 * TRAIN_AND_AFTER.length, 'no run missing, stray or under the wrong parent');
      assert.deepEqual(mlrunLines(result), []);
    },
  );

  test('dvc exp run in the workspace: the parent is named after the experiment', async () => {
    assert.ok(first.parentId, 'the first launch ran');
    const result = await dvcProject.pipeline(['--', 'dvc', 'exp', 'run', '--name', 'ws-epochs-5', '-S', 'train.epochs=5']);
    assert.deepEqual(mlrunLines(result), []);
    assert.deepEqual(stagesRan(result), TRAIN_AND_AFTER);
    const runs = newRuns(inspectMlflow(uri, { experimentIds: [experimentId] }).runs);
    const parents = runs.filter((r) => r.tags['mlrun.role'] === 'pipeline');
    assert.equal(parents.length, 1);
    const parent = parents[0]!;
    assert.equal(parent.info.run_name, 'ws-epochs-5');
    assert.equal(parent.tags['mlflow.runName'], 'ws-epochs-5');
    assert.equal(parent.tags['dvc.exp_name'], 'ws-epochs-5');
    assert.equal(parent.info.status, 'FINISHED');
    const children = childrenOf(runs, parent.info.run_id);
    assert.equal(runs.length, 1 + TRAIN_AND_AFTER.length, 'no run beside the parent and its children');
    assert.deepEqual(children.map((r) => r.info.run_name).sort(), [...TRAIN_AND_AFTER].sort());
    assert.equal(byName(children).train!.params['train.epochs'], '5');
  });

  test(
    'the MLflow UI at the address the demo prints: the runs table, the first launch a tree with its eight stages nested under it',
    { skip: fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (Debian package: chromium)`, timeout: 180_000 },
    async () => {
      assert.ok(first.parentId, 'the first launch ran');
      const { chromium } = await import('playwright-core');
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-chromium-'));
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        // Tall enough that the grid renders every row (it only renders the rows in view).
        viewport: { width: 1600, height: 1400 },
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        // The address the demo prints: the runs table ("Model training"), not the GenAI view MLflow
        // 3 opens by default.
        await page.goto(runsListUrl(uri, experimentId));
        const nameCell = (runId: string) => page.locator(`.ag-row[row-id="${runId}"] [col-id="attributes.\`Run Name\`"]`);
        await nameCell(first.parentId).waitFor({ timeout: 90_000 });
        const childIds = Object.values(first.children);
        for (const id of childIds) assert.equal(await nameCell(id).count(), 0, 'children are hidden until the parent is expanded');

        await nameCell(first.parentId).getByRole('button').click();
        await Promise.all(childIds.map((id) => nameCell(id).waitFor({ timeout: 30_000 })));
        await page.screenshot({ path: path.join(repoRoot, 'build', 'ui-tree.png') });

        // Each row of the table in order: its run, its name, and the width of its nesting indent,
        // which the runs table draws as (level + 1) × a fixed unit.
        const rows = await page.$$eval('.ag-row', (elements) =>
          elements.flatMap((row) => {
            const cell = row.querySelector('[col-id="attributes.`Run Name`"]');
            const indent = /width:\s*([\d.]+)px/.exec(cell?.querySelector('div[style*="width"]')?.getAttribute('style') ?? '');
            if (!cell || !indent) return [];
            return [{ id: row.getAttribute('row-id')!, index: Number(row.getAttribute('row-index')), name: cell.querySelector('a')?.textContent ?? '', indent: Number(indent[1]) }];
          }),
        );
        rows.sort((a, b) => a.index - b.index);
        const at = rows.findIndex((row) => row.id === first.parentId);
        const parentRow = rows[at]!;
        assert.equal(parentRow.name, first.parentName);
        const nested = rows.slice(at + 1, at + 1 + STAGE_NAMES.length);
        assert.deepEqual(nested.map((row) => row.id).sort(), [...childIds].sort(), 'the eight children come right after their parent');
        assert.deepEqual(nested.map((row) => row.name).sort(), [...STAGE_NAMES].sort());
        for (const row of nested) assert.equal(row.indent, 2 * parentRow.indent, `${row.name} is one level below its parent`);
        const next = rows[at + 1 + STAGE_NAMES.length];
        if (next) assert.equal(next.indent, parentRow.indent, 'the row after the children is back at the top level');
      } finally {
        await browser.close();
        fs.rmSync(profile, { recursive: true, force: true });
      }
    },
  );
});
