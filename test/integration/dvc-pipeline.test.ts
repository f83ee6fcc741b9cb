// mlrun's native dvc.yaml reading against what real DVC does: a fixture project (foreach, matrix,
// vars files and inline vars, params.yaml, JSON/TOML params, wdir, a nested sub/dvc.yaml) is
// reproduced with the real `dvc repro`, each stage wrapped in a stand-in `mlrun` that records the
// DVC_STAGE, cwd and argv it got. Every stage DVC locked must resolve, and be found, the same way.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { locateStage } from '../../src/dvc/locate.ts';
import { readLock } from '../../src/dvc/lock.ts';
import { readStageParams } from '../../src/dvc/params.ts';
import { Project } from '../../src/dvc/project.ts';
import { findDvcRoot } from '../../src/dvc/root.ts';
import { TrackedData } from '../../src/dvc/tracked-data.ts';
import { repoRoot, venvBin } from '../support/paths.ts';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'dvc');
const dvc = path.join(venvBin, 'dvc');

interface Record {
  dvcStage: string;
  dvcRoot: string;
  cwd: string;
  argv: string[];
  resolved?: { name: string; dvcYamlPath: string; params: { [key: string]: string } } | { reason: string };
}

let root = '';
const records: { ranIn: string; record: Record }[] = [];
let experimentRecords: Record[] = [];

function dvcRun(cwd: string, args: string[], extraEnv: { [key: string]: string } = {}): Record[] {
  const log = path.join(root, 'log.jsonl');
  fs.rmSync(log, { force: true });
  execFileSync(dvc, args, {
    cwd,
    stdio: 'pipe',
    env: {
      ...process.env,
      ...extraEnv,
      PATH: `${path.join(root, 'bin')}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH']}`,
      MLRUN_TEST_LOG: log,
      SHELL: '/bin/sh',
      DVC_NO_ANALYTICS: '1',
    },
  });
  return fs.readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record);
}

function repro(cwd: string, args: string[]): void {
  for (const record of dvcRun(cwd, ['repro', ...args])) records.push({ ranIn: cwd, record });
}

function stageRecords(ranIn: string): Record[] {
  return records.filter((r) => r.ranIn === ranIn).map((r) => r.record);
}

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-dvc-')));
  fs.cpSync(path.join(fixtures, 'pipeline'), root, { recursive: true });
  fs.mkdirSync(path.join(root, 'bin'));
  fs.writeFileSync(
    path.join(root, 'bin', 'mlrun'),
    `#!/bin/sh\nexec "${process.execPath}" "${path.join(fixtures, 'fake-mlrun.mjs')}" "$@"\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(root, '.gitignore'), 'bin/\nlog.jsonl\n');
  execFileSync('git', ['init', '-q'], { cwd: root });
  execFileSync(dvc, ['init', '-q'], { cwd: root, env: { ...process.env, DVC_NO_ANALYTICS: '1' } });
  repro(root, ['--all-pipelines']);
  // From a subdirectory DVC_STAGE becomes a bare name for sub/dvc.yaml, `../dvc.yaml:x` for the root one.
  repro(path.join(root, 'sub'), ['--force']);
  repro(path.join(root, 'sub'), ['--force', '--single-item', '../dvc.yaml:report', '../dvc.yaml:evaluate']);
  const git = ['-c', 'user.name=mlrun test', '-c', 'user.email=test@example.com'];
  execFileSync('git', ['add', '-A'], { cwd: root });
  execFileSync('git', [...git, 'commit', '-q', '-m', 'pipeline'], { cwd: root });
  // A temporary experiment: the stages run in a copy under .dvc/tmp/exps with the modified params,
  // while DVC_ROOT still names the main repo.
  experimentRecords = dvcRun(root, ['exp', 'run', '--temp', '-S', 'lr=0.5'], { MLRUN_TEST_RESOLVE: '1' });
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('dvc.yaml read natively, compared with real DVC', () => {
  test('every locked stage resolves to the locked name, cmd, outs and params', () => {
    const project = new Project(root);
    const files = project.pipelineFiles().map((f) => path.relative(root, f)).sort();
    assert.deepEqual(files, ['dvc.yaml', path.join('sub', 'dvc.yaml')]);
    let compared = 0;
    for (const file of project.pipelineFiles()) {
      const pipeline = project.pipeline(file)!;
      const lock = readLock(file);
      assert.deepEqual(pipeline.stageNames().sort(), [...lock.keys()].sort(), `stage names of ${file}`);
      for (const [name, locked] of lock) {
        const stage = pipeline.stage(name);
        assert.ok(stage, `${name} not found`);
        assert.deepEqual(stage.cmd, locked.cmd, `cmd of ${name}`);
        const outs = [...stage.outs, ...stage.metrics, ...stage.plots].map((o) => o.path).sort();
        assert.deepEqual(outs, locked.outs.map((o) => o.path), `outs of ${name}`);
        assert.deepEqual(stage.deps.slice().sort(), locked.deps.map((d) => d.path), `deps of ${name}`);
        const params = readStageParams(stage);
        assert.deepEqual(params.skipped, [], `params of ${name}`);
        assert.deepEqual(params.unreadable, [], `params of ${name}`);
        assert.deepEqual(params.values, locked.params, `params of ${name}`);
        compared++;
      }
    }
    assert.equal(compared, 18);
  });

  test('the stage found from each recorded DVC_STAGE and cwd is the one DVC ran', () => {
    assert.equal(records.length, 16 + 3 + 3 + 4);
    for (const { ranIn, record } of records) {
      const [file, name] = record.dvcStage.includes('dvc.yaml:')
        ? [path.resolve(ranIn, record.dvcStage.split(':')[0]!), record.dvcStage.split(':')[1]!]
        : [path.join(ranIn, 'dvc.yaml'), record.dvcStage];
      assert.equal(findDvcRoot(record.cwd, { DVC_ROOT: record.dvcRoot }), root);
      const found = locateStage(new Project(root), { cwd: record.cwd, dvcStage: record.dvcStage });
      assert.ok('stage' in found, `${record.dvcStage}: ${'reason' in found ? found.reason : ''}`);
      assert.equal(found.stage.name, name);
      assert.equal(found.stage.dvcYamlPath, file);
      assert.equal(found.stage.wdir, record.cwd, `wdir of ${record.dvcStage}`);
      assert.equal(found.via, 'DVC_STAGE');
    }
  });

  test('DVC_STAGE values are bare from the dvc.yaml folder, relative paths elsewhere', () => {
    assert.deepEqual(
      stageRecords(root).map((r) => r.dvcStage).filter((s) => s.includes(':')).sort(),
      ['sub/dvc.yaml:s1', 'sub/dvc.yaml:s2@x', 'sub/dvc.yaml:s2@y'],
    );
    // DVC runs independent stages in no fixed order.
    assert.deepEqual(stageRecords(path.join(root, 'sub')).map((r) => r.dvcStage).sort(), [
      '../dvc.yaml:evaluate@a',
      '../dvc.yaml:evaluate@b',
      '../dvc.yaml:report',
      '../dvc.yaml:report',
      's1',
      's2@x',
      's2@y',
    ]);
  });

  test('without DVC_STAGE, the stage is found by matching its wrapped command', () => {
    for (const { ranIn, record } of records) {
      const expected = record.dvcStage.includes(':') ? record.dvcStage.split(':')[1] : record.dvcStage;
      const found = locateStage(new Project(root), { cwd: record.cwd, argv: record.argv });
      assert.ok('stage' in found, `${record.dvcStage} from ${ranIn}: ${'reason' in found ? found.reason : ''}`);
      assert.equal(found.stage.name, expected);
      assert.equal(found.via, 'command');
    }
  });

  test('dvc.lock hashes: files by md5, a directory out with its .dir hash', () => {
    const s1 = readLock(path.join(root, 'sub', 'dvc.yaml')).get('s1')!;
    assert.deepEqual(
      s1.outs.map((o) => [o.path, o.hashName, o.algorithm, o.isDir, o.nfiles]),
      [['out', 'md5', 'md5', true, 1]],
    );
    assert.match(s1.outs[0]!.hash!, /^[0-9a-f]{32}\.dir$/);
    assert.deepEqual(s1.deps.map((d) => [d.path, d.hashName, d.isDir, d.size]), [['input.txt', 'md5', false, 6]]);
  });

  test('deps that are data to DVC: a stage output, a path `dvc add` tracks, a URL; not the code beside them', () => {
    fs.mkdirSync(path.join(root, 'raw'));
    fs.writeFileSync(path.join(root, 'raw', 'a.csv'), 'x\n1\n');
    execFileSync(dvc, ['add', '-q', 'raw'], { cwd: root, env: { ...process.env, DVC_NO_ANALYTICS: '1' } });
    const data = new TrackedData(new Project(root));
    const evaluateWdir = path.relative(root, new Project(root).pipeline(path.join(root, 'dvc.yaml'))!.stage('evaluate@a')!.wdir);
    assert.notEqual(evaluateWdir, '', 'evaluate@a runs in a wdir of its own');
    const verdicts = (stage: string, deps: string[]) => deps.map((dep) => [dep, data.isData('dvc.yaml', stage, dep)]);
    assert.deepEqual(verdicts('report', ['prep_train.txt', 'raw', 'raw/a.csv', 's3://bucket/x.csv', 'params.yaml', 'vars.yaml', 'sub']), [
      ['prep_train.txt', true],
      ['raw', true],
      ['raw/a.csv', true],
      ['s3://bucket/x.csv', true],
      ['params.yaml', false],
      ['vars.yaml', false],
      ['sub', true], // holds sub/dvc.yaml's outputs
    ]);
    // Relative to the stage's wdir, as dvc.yaml writes them.
    assert.deepEqual(verdicts('evaluate@a', ['eval_a.json', '../prep_train.txt', 'prep_train.txt']), [
      ['eval_a.json', true],
      ['../prep_train.txt', true],
      ['prep_train.txt', false],
    ]);
  });

  test('in `dvc exp run --temp`, the stage and its -S modified params are read from the temporary copy', () => {
    // lr feeds train@* (via params) and report (via ${lr}); evaluate@* track ../params.yaml:lr.
    const ran = experimentRecords.map((r) => r.dvcStage).sort();
    assert.deepEqual(ran, ['evaluate@a', 'evaluate@b', 'report', 'report', 'train@cnn-0.1', 'train@cnn-1.0', 'train@rnn-0.1', 'train@rnn-1.0']);
    for (const record of experimentRecords) {
      assert.equal(record.dvcRoot, root);
      assert.match(record.cwd, new RegExp(`^${root}/\\.dvc/tmp/exps/`));
      const resolved = record.resolved!;
      assert.ok('name' in resolved, `${record.dvcStage}: ${'reason' in resolved ? resolved.reason : ''}`);
      assert.equal(resolved.name, record.dvcStage);
      assert.ok(resolved.dvcYamlPath.startsWith(path.join(root, '.dvc', 'tmp', 'exps')));
      if (record.dvcStage.startsWith('train@')) assert.equal(resolved.params['lr'], '0.5');
      if (record.dvcStage.startsWith('evaluate@')) assert.equal(resolved.params['../params.yaml:lr'], '0.5');
    }
    assert.deepEqual(experimentRecords.filter((r) => r.dvcStage === 'report').map((r) => r.argv[2]).sort(), [
      'echo 0.5 > r2.txt',
      'echo hello 1e-05 1e+20 > r1.txt',
    ]);
  });
});
