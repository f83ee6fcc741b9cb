// Finding the running stage: DVC_STAGE parsing, project and git roots, command matching.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseStageAddress } from '../../src/dvc/address.ts';
import { findRunningStage, locateStage } from '../../src/dvc/locate.ts';
import { Project } from '../../src/dvc/project.ts';
import { findDvcRoot, findGitRoot } from '../../src/dvc/root.ts';
import { lineRunsWrapped, shellCommands } from '../../src/dvc/shell-words.ts';

function project(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-dvc-locate-')));
  fs.mkdirSync(path.join(root, '.dvc'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe('DVC_STAGE', () => {
  test('forms DVC writes', () => {
    assert.deepEqual(parseStageAddress('train'), { name: 'train' });
    assert.deepEqual(parseStageAddress('train@cnn-0.1'), { name: 'train@cnn-0.1' });
    assert.deepEqual(parseStageAddress('sub/dvc.yaml:train@0'), { dvcYaml: 'sub/dvc.yaml', name: 'train@0' });
    assert.deepEqual(parseStageAddress('../dvc.yaml:train'), { dvcYaml: '../dvc.yaml', name: 'train' });
    assert.deepEqual(parseStageAddress('..\\a\\dvc.yaml:train'), { dvcYaml: '../a/dvc.yaml', name: 'train' });
    assert.deepEqual(parseStageAddress('dvc.yaml:train'), { dvcYaml: 'dvc.yaml', name: 'train' });
  });

  test('a generated name holding ":" or "dvc.yaml" text is not split in the wrong place', () => {
    assert.deepEqual(parseStageAddress('t@a:b'), { name: 't@a:b' });
    assert.deepEqual(parseStageAddress('sub/dvc.yaml:t@x/dvc.yaml:y'), { dvcYaml: 'sub/dvc.yaml', name: 't@x/dvc.yaml:y' });
    assert.deepEqual(parseStageAddress('t@mydvc.yaml:x'), { name: 't@mydvc.yaml:x' });
  });
});

describe('roots', () => {
  test('nearest .dvc and .git ancestors; DVC_ROOT wins unless cwd is in an experiment copy', () => {
    const root = project({ 'a/b/file': '', '.dvc/tmp/exps/tmp1/.dvc/config': '', '.dvc/tmp/exps/tmp1/x/file': '' });
    fs.mkdirSync(path.join(root, '.git'));
    const deep = path.join(root, 'a', 'b');
    assert.equal(findDvcRoot(deep, {}), root);
    assert.equal(findGitRoot(deep), root);
    const other = project({});
    assert.equal(findDvcRoot(deep, { DVC_ROOT: root }), root);
    assert.equal(findDvcRoot(deep, { DVC_ROOT: other }), root);
    const copy = path.join(root, '.dvc', 'tmp', 'exps', 'tmp1');
    assert.equal(findDvcRoot(path.join(copy, 'x'), { DVC_ROOT: root }), copy);
    assert.equal(findDvcRoot(os.tmpdir(), {}), undefined);
  });
});

describe('shell words', () => {
  test('quotes, escapes, operators and redirections', () => {
    assert.deepEqual(shellCommands(`a 'b c' "d \\"e\\" \\$f" g\\ h`), [['a', 'b c', 'd "e" $f', 'g h']]);
    assert.deepEqual(shellCommands('a && b || c; d | e & f'), [['a'], ['b'], ['c'], ['d'], ['e'], ['f']]);
    assert.deepEqual(shellCommands('run x > out.txt 2>&1 <in # note'), [['run', 'x']]);
    assert.deepEqual(shellCommands(`x ''`), [['x', '']]);
  });

  test('a line runs the wrapped argv after mlrun [options] --', () => {
    const argv = ['python', 'train.py', '--name', 'my model'];
    assert.equal(lineRunsWrapped(`mlrun -- python train.py --name 'my model'`, argv), true);
    assert.equal(lineRunsWrapped(`FOO=1 ./bin/mlrun --name "x y" -- python train.py --name "my model" && echo done`, argv), true);
    assert.equal(lineRunsWrapped(`mlrun -- python train.py --name my model`, argv), false);
    assert.equal(lineRunsWrapped(`python train.py --name 'my model'`, argv), false);
    assert.equal(lineRunsWrapped(`notmlrun -- python train.py --name 'my model'`, argv), false);
  });
});

describe('locating the stage', () => {
  const files = {
    'dvc.yaml': `
stages:
  prep:
    cmd: mlrun -- python prep.py
  train:
    foreach: [a, b]
    do:
      cmd: mlrun -- python train.py \${item}
  twin1:
    cmd: mlrun -- make
  twin2:
    cmd: mlrun -- make
  inwork:
    wdir: work
    cmd: mlrun -- make
`,
    'sub/dvc.yaml': 'stages:\n  prep:\n    wdir: data\n    cmd:\n      - mlrun -- echo one\n      - mlrun -- echo two\n',
    'work/.keep': '',
    'sub/data/.keep': '',
  };

  test('by DVC_STAGE, bare or with a path relative to where dvc ran', () => {
    const root = project(files);
    const at = (cwd: string, dvcStage: string) => {
      const found = locateStage(new Project(root), { cwd: path.join(root, cwd), dvcStage });
      return 'stage' in found ? [path.relative(root, found.stage.dvcYamlPath), found.stage.name, found.via] : found.reason;
    };
    assert.deepEqual(at('.', 'train@b'), ['dvc.yaml', 'train@b', 'DVC_STAGE']);
    assert.deepEqual(at('.', 'sub/dvc.yaml:prep'), [path.join('sub', 'dvc.yaml'), 'prep', 'DVC_STAGE']);
    // `cd sub && dvc repro`: a bare name, the stage running in sub/data.
    assert.deepEqual(at('sub/data', 'prep'), [path.join('sub', 'dvc.yaml'), 'prep', 'DVC_STAGE']);
    assert.deepEqual(at('.', '../dvc.yaml:prep'), ['dvc.yaml', 'prep', 'DVC_STAGE']);
    assert.deepEqual(at('work', 'inwork'), ['dvc.yaml', 'inwork', 'DVC_STAGE']);
    assert.equal(at('.', 'nope'), `DVC_STAGE 'nope': no such stage in the dvc.yaml files of ${root}`);
  });

  test('the common path reads only the dvc.yaml holding the stage', () => {
    const root = project({ ...files, 'other/dvc.yaml': 'stages: [not, valid' });
    const found = locateStage(new Project(root), { cwd: root, dvcStage: 'prep' });
    assert.ok('stage' in found);
  });

  test('by --stage when DVC_STAGE is absent', () => {
    const root = project(files);
    const found = locateStage(new Project(root), { cwd: root, stageFlag: 'train@a' });
    assert.ok('stage' in found);
    assert.deepEqual([found.stage.name, found.via], ['train@a', '--stage']);
  });

  test('by command: unique, one line of a list cmd, ambiguous, none', () => {
    const root = project(files);
    const find = (argv: string[], cwd = '.') => {
      const found = locateStage(new Project(root), { cwd: path.join(root, cwd), argv });
      return 'stage' in found ? found.stage.name : found.reason;
    };
    assert.equal(find(['python', 'train.py', 'b']), 'train@b');
    assert.equal(find(['echo', 'two'], 'sub/data'), 'prep');
    assert.equal(find(['make']), "command 'make' matches 2 stages (twin1, twin2); set --stage");
    assert.equal(find(['make'], 'work'), 'inwork');
    assert.equal(find(['python', 'other.py']), "no stage runs 'mlrun -- python other.py'");
  });

  test('findRunningStage: root and DVC_STAGE from the environment; a broken dvc.yaml is the reason', () => {
    const root = project(files);
    const found = findRunningStage({ cwd: path.join(root, 'work'), env: { DVC_STAGE: 'inwork' } });
    assert.ok('stage' in found);
    assert.equal(found.stage.name, 'inwork');
    assert.deepEqual(findRunningStage({ cwd: os.tmpdir(), env: {} }), {
      reason: `not in a DVC project (no .dvc folder above ${os.tmpdir()})`,
    });
    const broken = project({ 'dvc.yaml': 'stages:\n  a:\n    cmd: echo ${nope}\n' });
    assert.deepEqual(findRunningStage({ cwd: broken, env: { DVC_STAGE: 'a' } }), {
      reason: "failed to parse 'stages.a.cmd' in 'dvc.yaml': Could not find 'nope'",
    });
  });
});

describe('project files', () => {
  test('every dvc.yaml but those in .dvc, .git, node_modules, virtualenvs, nested repos and .dvcignore', () => {
    const stage = 'stages:\n  s:\n    cmd: x\n';
    const root = project({
      'dvc.yaml': stage,
      'a/dvc.yaml': stage,
      'a/b/c/dvc.yaml': stage,
      '.git/dvc.yaml': stage,
      'node_modules/x/dvc.yaml': stage,
      'venv/pyvenv.cfg': '',
      'venv/lib/dvc.yaml': stage,
      'nested/.dvc/config': '',
      'nested/dvc.yaml': stage,
      'ignored/dvc.yaml': stage,
      'deep/tmp/dvc.yaml': stage,
      '.dvcignore': '# comment\nignored/\ntmp\n',
    });
    const files = new Project(root).pipelineFiles().map((f) => path.relative(root, f)).sort();
    assert.deepEqual(files, ['a/b/c/dvc.yaml', 'a/dvc.yaml', 'dvc.yaml'].map((f) => f.split('/').join(path.sep)));
  });
});
