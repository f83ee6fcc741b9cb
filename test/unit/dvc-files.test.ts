// What mlrun reads from a stage's files: params values, metrics files, DVCLive history, dvc.lock,
// and the one-line errors for files it cannot read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pyFloat } from '../../src/dvc/data.ts';
import { dvcliveDirsOf, parseMetricTsv, readDvcliveHistory } from '../../src/dvc/dvclive.ts';
import { readLock } from '../../src/dvc/lock.ts';
import { readMetricsFile } from '../../src/dvc/metrics-files.ts';
import { readStageParams } from '../../src/dvc/params.ts';
import { Pipeline } from '../../src/dvc/pipeline.ts';

function dir(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-dvc-files-')));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe('numbers as Python prints them', () => {
  test('float repr', () => {
    const cases: [number, string][] = [
      [0.001, '0.001'], [1e-5, '1e-05'], [1, '1.0'], [3.1, '3.1'], [1e16, '1e+16'], [1.5e20, '1.5e+20'],
      [123456789012345.6, '123456789012345.6'], [0.0001, '0.0001'], [-2.5, '-2.5'], [Number.NaN, 'nan'], [-Infinity, '-inf'],
    ];
    for (const [n, text] of cases) assert.equal(pyFloat(n), text);
  });
});

describe('params values', () => {
  test('listed keys, dict keys flattened with dots, whole files, JSON/TOML, missing keys skipped', () => {
    const root = dir({
      'params.yaml': 'lr: 0.001\nsmall: 1.0e-5\nepochs: 3\nflag: true\nnone: null\ntrain: {opt: {name: adam, mom: 0.9}, layers: [8, {k: 1.0}]}\nempty: {}\n',
      'config.json': '{"a": 1, "b": 1.0, "c": {"d": [1, 2.5, "x"]}, "nan": NaN}',
      'other.toml': 'name = "x"\n[opt]\nk = 3\nrate = 0.5\n',
      'dvc.yaml': `
stages:
  s:
    cmd: x
    params:
      - lr
      - small
      - epochs
      - flag
      - none
      - train
      - empty
      - missing.key
      - config.json:
      - other.toml:
          - opt.k
          - name
      - absent.yaml:
          - x
`,
    });
    const params = readStageParams(new Pipeline(path.join(root, 'dvc.yaml')).stage('s')!);
    assert.deepEqual(params.values, {
      lr: '0.001',
      small: '1e-05',
      epochs: '3',
      flag: 'true',
      none: 'null',
      'train.opt.name': 'adam',
      'train.opt.mom': '0.9',
      'train.layers': '[8, {"k": 1.0}]',
      empty: '{}',
      'config.json:a': '1',
      'config.json:b': '1.0',
      'config.json:c.d': '[1, 2.5, "x"]',
      'config.json:nan': 'nan',
      'other.toml:opt.k': '3',
      'other.toml:name': 'x',
    });
    assert.deepEqual(params.skipped, ["'missing.key' not found in 'params.yaml'"]);
    assert.deepEqual(params.unreadable, [`'${path.join(root, 'absent.yaml')}' does not exist`]);
  });
});

describe('metrics files', () => {
  test('numeric leaves of JSON, YAML and TOML, nested keys joined with /', () => {
    const root = dir({
      'm.json': '{"acc": 0.9, "n": 10, "ok": true, "name": "x", "train": {"loss": 0.1, "inf": Infinity}, "lst": [1], "nan": NaN}',
      'm.yaml': 'test:\n  acc: 0.8\n  nan: .nan\n',
      'm.toml': '[eval]\nf1 = 0.7\n',
    });
    assert.deepEqual(readMetricsFile(path.join(root, 'm.json')), {
      acc: 0.9, n: 10, 'train/loss': 0.1, 'train/inf': Infinity, nan: Number.NaN,
    });
    assert.deepEqual(readMetricsFile(path.join(root, 'm.yaml')), { 'test/acc': 0.8, 'test/nan': Number.NaN });
    assert.deepEqual(readMetricsFile(path.join(root, 'm.toml')), { 'eval/f1': 0.7 });
  });
});

describe('DVCLive history', () => {
  test('tsv rows with and without timestamps, nan/inf, CRLF, string values skipped', () => {
    assert.deepEqual(parseMetricTsv('step\tloss\n0\t0.5\n1\tnan\n2\tinf\n3\t-inf\n'), [
      { step: 0, value: 0.5 }, { step: 1, value: Number.NaN }, { step: 2, value: Infinity }, { step: 3, value: -Infinity },
    ]);
    assert.deepEqual(parseMetricTsv('timestamp\tstep\tacc\r\n1700000000000\t0\t0.1\r\n1700000000500\t1\tgood\r\n'), [
      { step: 0, value: 0.1, timestamp: 1700000000000 },
    ]);
  });

  test('a dvclive folder gives one history per metric path', () => {
    const root = dir({
      'dvclive/metrics.json': '{"train": {"loss": 0.2}, "acc": 0.9, "step": 1}',
      'dvclive/plots/metrics/acc.tsv': 'step\tacc\n0\t0.5\n1\t0.9\n',
      'dvclive/plots/metrics/train/loss.tsv': 'step\tloss\n0\t0.4\n1\t0.2\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: x\n    metrics:\n      - dvclive/metrics.json\n    outs:\n      - model.pkl\n',
    });
    assert.deepEqual(readDvcliveHistory(path.join(root, 'dvclive')), {
      acc: [{ step: 0, value: 0.5 }, { step: 1, value: 0.9 }],
      'train/loss': [{ step: 0, value: 0.4 }, { step: 1, value: 0.2 }],
    });
    assert.deepEqual(dvcliveDirsOf(new Pipeline(path.join(root, 'dvc.yaml')).stage('s')!), [path.join(root, 'dvclive')]);
  });
});

describe('dvc.lock', () => {
  test('entries with md5, etag, directories; params flattened like readStageParams', () => {
    const root = dir({
      'dvc.yaml': 'stages: {}\n',
      'dvc.lock': `schema: '2.0'
stages:
  train@us:
    cmd: python train.py 'us' 10
    deps:
    - path: data/features
      hash: md5
      md5: 153aad06d376b6595932470e459ef42a.dir
      size: 8437363
      nfiles: 2
    - path: s3://bucket/raw.csv
      etag: abc123
    params:
      params.yaml:
        train.epochs: 10
        train.lr: 0.001
        opt:
          name: adam
      cfg.json:
        b: 1.0
    outs:
    - path: model.pkl
      md5: 17b3d1efc339b416c4b5615b1ce1b97e
      size: 1234
  multi:
    cmd:
    - a
    - b
`,
    });
    const lock = readLock(path.join(root, 'dvc.yaml'));
    assert.deepEqual([...lock.keys()], ['train@us', 'multi']);
    const train = lock.get('train@us')!;
    assert.equal(train.cmd, "python train.py 'us' 10");
    assert.deepEqual(train.deps, [
      { path: 'data/features', hashName: 'md5', hash: '153aad06d376b6595932470e459ef42a.dir', algorithm: 'md5', size: 8437363, nfiles: 2, isDir: true },
      { path: 's3://bucket/raw.csv', hashName: 'etag', hash: 'abc123', isDir: false },
    ]);
    assert.deepEqual(train.outs, [{ path: 'model.pkl', hashName: 'md5', hash: '17b3d1efc339b416c4b5615b1ce1b97e', size: 1234, isDir: false }]);
    assert.deepEqual(train.params, { 'train.epochs': '10', 'train.lr': '0.001', 'opt.name': 'adam', 'cfg.json:b': '1.0' });
    assert.deepEqual(lock.get('multi')!.cmd, ['a', 'b']);
    assert.equal(readLock(path.join(dir({}), 'dvc.yaml')).size, 0);
  });
});

describe('errors', () => {
  test('malformed files name the file and line', () => {
    const root = dir({
      'dvc.yaml': 'stages:\n  a:\n    cmd: [x\n',
      'bad.json': '{"a": }',
      'bad.toml': 'a = \n',
      'bad/dvc.yaml': 'stages:\n  a: 1\n',
    });
    const cwd = process.cwd();
    process.chdir(root);
    try {
      assert.throws(() => new Pipeline(path.join(root, 'dvc.yaml')), {
        name: 'DvcError',
        message: /^'dvc\.yaml' is not valid YAML at line \d: .+$/,
      });
      assert.throws(() => readMetricsFile(path.join(root, 'bad.json')), { message: /^'bad\.json' is not valid JSON: / });
      assert.throws(() => readMetricsFile(path.join(root, 'bad.toml')), { message: /^'bad\.toml' is not valid TOML at line 1: / });
      assert.throws(() => readMetricsFile(path.join(root, 'nope.yaml')), { message: "'nope.yaml' does not exist" });
      assert.throws(() => new Pipeline(path.join(root, 'bad', 'dvc.yaml'), { root }), {
        message: `'${path.join('bad', 'dvc.yaml')}': stage 'a' must be a mapping`,
      });
    } finally {
      process.chdir(cwd);
    }
  });
});
