// dvc.yaml templating, each form checked against what DVC 3.67 resolves for the same input
// (expected values taken from DVC's own DataResolver).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Pipeline } from '../../src/dvc/pipeline.ts';
import { Project } from '../../src/dvc/project.ts';

/** A throwaway DVC project holding the given files. */
function project(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-dvc-unit-')));
  fs.mkdirSync(path.join(root, '.dvc'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

function pipeline(files: Record<string, string>): Pipeline {
  const root = project(files);
  return new Project(root).pipeline(path.join(root, 'dvc.yaml'))!;
}

function cmds(p: Pipeline): Record<string, string | string[]> {
  return Object.fromEntries(p.stages().map((s) => [s.name, s.cmd]));
}

describe('foreach', () => {
  test('a list of scalars names members by value', () => {
    const p = pipeline({
      'dvc.yaml': `
stages:
  cleanups:
    foreach: [raw1, labels1]
    do:
      cmd: clean.py "\${item}"
      outs: ["\${item}.cln"]
`,
    });
    assert.deepEqual(cmds(p), { 'cleanups@raw1': 'clean.py "raw1"', 'cleanups@labels1': 'clean.py "labels1"' });
    assert.deepEqual(p.stage('cleanups@raw1')!.outs.map((o) => o.path), ['raw1.cln']);
  });

  test('values from params keep Python spellings: floats as repr, True/None from the context', () => {
    const p = pipeline({
      'params.yaml': 'flt: [0.5, 1.0, 1e-5, true, null]\n',
      'dvc.yaml': 'stages:\n  b:\n    foreach: ${flt}\n    do:\n      cmd: echo ${item}\n',
    });
    assert.deepEqual(cmds(p), {
      'b@0.5': 'echo 0.5',
      'b@1.0': 'echo 1.0',
      'b@1e-05': 'echo 1e-05',
      'b@True': 'echo true',
      'b@None': 'echo None',
    });
    const inline = pipeline({ 'dvc.yaml': 'stages:\n  b:\n    foreach: [true, 2]\n    do:\n      cmd: echo ${item}\n' });
    assert.deepEqual(inline.stageNames(), ['b@true', 'b@2']);
  });

  test('a list of dicts is keyed by index', () => {
    const p = pipeline({
      'dvc.yaml': `
stages:
  train:
    foreach: [{epochs: 3, thresh: 10}, {epochs: 10, thresh: 15}]
    do:
      cmd: python train.py \${item.epochs} \${item.thresh}
`,
    });
    assert.deepEqual(cmds(p), { 'train@0': 'python train.py 3 10', 'train@1': 'python train.py 10 15' });
  });

  test('a dict from params gives key and item', () => {
    const p = pipeline({
      'params.yaml': 'myobject:\n  uk: {epochs: 3}\n  us: {epochs: 10}\n',
      'dvc.yaml': `
stages:
  build:
    foreach: \${myobject}
    do:
      cmd: python train.py '\${key}' \${item.epochs}
`,
    });
    assert.deepEqual(cmds(p), { 'build@uk': "python train.py 'uk' 3", 'build@us': "python train.py 'us' 10" });
    assert.equal(p.has('build'), false);
    assert.equal(p.has('build@fr'), false);
    assert.equal(p.stage('build@fr'), undefined);
  });
});

describe('matrix', () => {
  test('names join values with -, dicts and lists as <var><index>; 3.10 is the float 3.1', () => {
    const p = pipeline({
      'dvc.yaml': `
stages:
  build:
    matrix:
      os: [win, linux]
      pyv: [3.7, 3.10]
      dict: [{arg1: 1}, {arg2: 2}]
      list: [[1], [2, 3]]
    cmd: echo \${item.os} \${item.pyv} \${item.dict} \${key}
`,
    });
    const names = p.stageNames();
    assert.equal(names.length, 16);
    assert.deepEqual(names.slice(0, 5), [
      'build@win-3.7-dict0-list0',
      'build@win-3.7-dict0-list1',
      'build@win-3.7-dict1-list0',
      'build@win-3.7-dict1-list1',
      'build@win-3.1-dict0-list0',
    ]);
    assert.equal(p.stage('build@linux-3.1-dict1-list0')!.cmd, 'echo linux 3.1 --arg2 2 linux-3.1-dict1-list0');
  });

  test('a matrix value from params', () => {
    const p = pipeline({
      'params.yaml': 'models: [cnn, rnn]\n',
      'dvc.yaml': 'stages:\n  t:\n    matrix:\n      m: ${models}\n      lr: [0.1, 1.0]\n    cmd: train ${item.m} ${item.lr}\n',
    });
    assert.deepEqual(p.stageNames(), ['t@cnn-0.1', 't@cnn-1.0', 't@rnn-0.1', 't@rnn-1.0']);
    assert.equal(p.stage('t@rnn-1.0')!.cmd, 'train rnn 1.0');
  });
});

describe('vars', () => {
  test('params.yaml first, then vars files with key selection, then inline dicts', () => {
    const p = pipeline({
      'params.yaml': 'lr: 0.001\n',
      'vars.yaml': 'seed: 42\nextra: {x: 1}\nunused: 0\n',
      'dvc.yaml': `
vars:
  - vars.yaml:seed,extra
  - inline: hello
stages:
  s:
    cmd: run \${lr} \${seed} \${extra.x} \${inline}
  bad:
    cmd: run \${unused}
`,
    });
    assert.equal(p.stage('s')!.cmd, 'run 0.001 42 1 hello');
    assert.throws(() => p.stage('bad'), { message: "failed to parse 'stages.bad.cmd' in 'dvc.yaml': Could not find 'unused'" });
  });

  test('stage vars are relative to the (interpolated) wdir and do not leak to other stages', () => {
    const p = pipeline({
      'params.yaml': 'dir: work\n',
      'work/local.yaml': 'from_local: yes\n',
      'dvc.yaml': `
stages:
  s:
    wdir: \${dir}
    vars:
      - local.yaml
      - n: 7
    cmd: run \${from_local} \${n}
  t:
    cmd: run \${n}
`,
    });
    const s = p.stage('s')!;
    assert.equal(s.cmd, 'run yes 7');
    assert.equal(s.wdir, path.join(path.dirname(p.path), 'work'));
    assert.throws(() => p.stage('t'), /Could not find 'n'/);
  });

  test('nested dicts merge key by key; a redefined key is an error naming both sources', () => {
    const merged = pipeline({
      'params.yaml': 'd: {a: 1, b: {c: x}}\n',
      'dvc.yaml': 'vars:\n  - d: {b: {z: 1}}\nstages:\n  g:\n    cmd: echo ${d.b.z} ${d.b.c}\n',
    });
    assert.equal(merged.stage('g')!.cmd, 'echo 1 x');
    const conflict = pipeline({
      'params.yaml': 'lr: 0.1\n',
      'dvc.yaml': 'vars:\n  - lr: 2\nstages:\n  f:\n    cmd: echo\n',
    });
    assert.throws(() => conflict.stage('f'), {
      message: "failed to parse 'vars' in 'dvc.yaml': cannot redefine 'lr' from 'vars[0]' as it already exists in 'params.yaml'",
    });
  });

  test('item and key are reserved inside foreach', () => {
    const p = pipeline({ 'dvc.yaml': 'stages:\n  h:\n    foreach: [a]\n    do:\n      vars: [{item: 1}]\n      cmd: echo ${item}\n' });
    assert.throws(() => p.stage('h@a'), { message: "failed to parse stage 'h@a' in 'dvc.yaml': attempted to modify reserved key item" });
  });

  test('a missing vars file and interpolation inside vars are errors', () => {
    const missing = pipeline({ 'dvc.yaml': 'vars: [nope.yaml]\nstages:\n  s:\n    cmd: echo\n' });
    assert.throws(() => missing.stage('s'), { message: "failed to parse 'vars' in 'dvc.yaml': 'nope.yaml' does not exist" });
    const interpolated = pipeline({ 'dvc.yaml': 'vars: ["${x}.yaml"]\nstages:\n  s:\n    cmd: echo\n' });
    assert.throws(() => interpolated.stage('s'), { message: "failed to parse 'vars' in 'dvc.yaml': interpolating is not allowed" });
  });
});

describe('substitution', () => {
  test('a value that is exactly ${x} keeps its type; embedded ones become text', () => {
    const p = pipeline({
      'params.yaml': 'n: 3\nflag: true\nlr: 1.0\n',
      'dvc.yaml': `
stages:
  s:
    cmd: run \${flag} \${lr}
    frozen: \${flag}
    meta:
      n: \${n}
      text: n=\${n}
`,
    });
    const s = p.stage('s')!;
    assert.equal(s.cmd, 'run true 1.0');
    assert.equal(s.frozen, true);
    assert.deepEqual(s.meta, { n: 3, text: 'n=3' });
  });

  test('list indexing, negative indices, spaces inside ${ }, and escaped \\${', () => {
    const p = pipeline({
      'params.yaml': 'lst: [1, 2, 3]\nlr: 0.1\n',
      'dvc.yaml': 'stages:\n  a:\n    cmd: echo ${lst[-1]} ${lst.0} ${lst[1]} ${ lr } \\${x} $HOME\n',
    });
    assert.equal(p.stage('a')!.cmd, 'echo 3 1 2 0.1 ${x} $HOME');
  });

  test('dicts unpack into cmd as flags (store_true, nargs); lists elsewhere are refused', () => {
    const files = {
      'params.yaml':
        'flags: {verbose: true, quiet: false, depth: 2, name: my model, layers: [8, 0.5, x y, true], opt: {mom: 0.9, e: {}}, empty: []}\nlst: [1]\n',
      'dvc.yaml': 'stages:\n  u:\n    cmd: python t.py ${flags}\n  i:\n    cmd: echo ${lst}\n  m:\n    cmd: echo\n    outs: ["${lst}"]\n',
    };
    const p = pipeline(files);
    assert.equal(p.stage('u')!.cmd, "python t.py --verbose --depth 2 --name 'my model' --layers 8 0.5 'x y' True --opt.mom 0.9");
    assert.throws(() => p.stage('i'), { message: "failed to parse 'stages.i.cmd' in 'dvc.yaml': Cannot interpolate data of type 'list'" });
    assert.throws(() => p.stage('m'), { message: "failed to parse 'stages.m.outs' in 'dvc.yaml': Cannot interpolate data of type 'list'" });
  });

  test('dvc config parsing.bool=boolean_optional and parsing.list=append', () => {
    const root = project({
      '.dvc/config': '[core]\n    remote = x\n[parsing]\n    bool = boolean_optional\n    list = append\n',
      'params.yaml': 'flags: {verbose: true, quiet: false, layers: [8, x y]}\n',
      'dvc.yaml': 'stages:\n  u:\n    cmd: python t.py ${flags}\n',
    });
    const p = new Project(root).pipeline(path.join(root, 'dvc.yaml'))!;
    assert.equal(p.stage('u')!.cmd, "python t.py --verbose --no-quiet --layers 8 --layers 'x y'");
  });

  test('a malformed expression is reported against its key', () => {
    const p = pipeline({ 'params.yaml': 'a: 1\n', 'dvc.yaml': 'stages:\n  j:\n    cmd: echo ${a..b}\n' });
    assert.throws(() => p.stage('j'), { message: "failed to parse 'stages.j.cmd' in 'dvc.yaml': invalid expression '${a..b}'" });
  });

  test('foreach over a list has no ${key}', () => {
    const p = pipeline({ 'dvc.yaml': 'stages:\n  l:\n    foreach: [a]\n    do:\n      cmd: echo ${key}\n' });
    assert.throws(() => p.stage('l@a'), { message: "failed to parse 'stages.l@a.cmd' in 'dvc.yaml': Could not find 'key'" });
  });
});

describe('stage model', () => {
  test('wdir, deps, the three params forms, outs flags, list cmd', () => {
    const p = pipeline({
      'dvc.yaml': `
stages:
  s:
    wdir: sub
    cmd:
      - prep
      - train
    deps: [data.csv]
    params:
      - lr
      - nn.batch_size
      - config.json:
          - epochs
      - other.toml:
      - whole.yaml: []
    outs:
      - model.pkl
      - cache_off:
          cache: false
          persist: true
          desc: a folder
    metrics:
      - metrics.json:
          cache: false
    plots:
      - loss.tsv:
          x: step
    meta:
      mlrun: {pattern: x}
`,
    });
    const s = p.stage('s')!;
    assert.equal(s.wdir, path.join(path.dirname(p.path), 'sub'));
    assert.equal(s.dvcYamlPath, p.path);
    assert.deepEqual(s.cmd, ['prep', 'train']);
    assert.deepEqual(s.deps, ['data.csv']);
    assert.deepEqual(s.params, [
      { file: 'params.yaml', keys: ['lr', 'nn.batch_size'] },
      { file: 'config.json', keys: ['epochs'] },
      { file: 'other.toml', keys: 'all' },
      { file: 'whole.yaml', keys: 'all' },
    ]);
    assert.deepEqual(s.outs, [
      { path: 'model.pkl', cache: true, persist: false, push: true, extra: {} },
      { path: 'cache_off', cache: false, persist: true, push: true, extra: { desc: 'a folder' } },
    ]);
    assert.deepEqual(s.metrics.map((m) => [m.path, m.cache]), [['metrics.json', false]]);
    assert.deepEqual(s.plots, [{ path: 'loss.tsv', cache: true, persist: false, push: true, extra: { x: 'step' } }]);
    assert.deepEqual(s.meta, { mlrun: { pattern: 'x' } });
  });

  test('a whole-file params entry wins over keys of the same file', () => {
    const p = pipeline({ 'dvc.yaml': 'stages:\n  s:\n    cmd: x\n    params:\n      - lr\n      - params.yaml:\n' });
    assert.deepEqual(p.stage('s')!.params, [{ file: 'params.yaml', keys: 'all' }]);
  });
});
