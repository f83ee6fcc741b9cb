import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileMetricConfig, type MetricConfigOptions } from '../../src/metrics/parse/config.ts';
import { PointExtractor } from '../../src/metrics/parse/points.ts';
import type { Metric } from '../../src/tracking/store.ts';

type Point = [key: string, value: number, step: number];

function extractor(options: MetricConfigOptions = {}): { points: Metric[]; feed: (...lines: string[]) => Point[] } {
  const points: Metric[] = [];
  const extract = new PointExtractor(compileMetricConfig(options), (point) => points.push(point));
  return {
    points,
    feed: (...lines) => {
      const before = points.length;
      for (const line of lines) extract.extract(line, 0, line.length, 1_700_000_000_000);
      return points.slice(before).map((point) => [point.key, point.value, point.step]);
    },
  };
}

function pointsOf(lines: string[], options?: MetricConfigOptions): Point[] {
  return extractor(options).feed(...lines);
}

describe('default patterns', () => {
  test('several name=value pairs on a line, with a step word in front', () => {
    assert.deepEqual(pointsOf(['epoch 3: loss=0.21 acc=0.93']), [
      ['loss', 0.21, 3],
      ['acc', 0.93, 3],
    ]);
  });

  test('Keras-style name: value pairs', () => {
    assert.deepEqual(pointsOf(['loss: 0.2950 - accuracy: 0.9156 - val_loss: 0.31']), [
      ['loss', 0.295, 0],
      ['accuracy', 0.9156, 0],
      ['val_loss', 0.31, 0],
    ]);
  });

  test('every usual number spelling', () => {
    assert.deepEqual(pointsOf(['a=-1.5e-3 b=.98 c=1E0 d=nan e=inf f=-inf g=+2 h=1. i=NaN j=Infinity k=-INF l=7 m=1e+3']), [
      ['a', -0.0015, 0],
      ['b', 0.98, 0],
      ['c', 1, 0],
      ['d', NaN, 0],
      ['e', Infinity, 0],
      ['f', -Infinity, 0],
      ['g', 2, 0],
      ['h', 1, 0],
      ['i', NaN, 0],
      ['j', Infinity, 0],
      ['k', -Infinity, 0],
      ['l', 7, 0],
      ['m', 1000, 0],
    ]);
  });

  test('values parse to exactly the double Number() gives', () => {
    const values = ['0.1', '0.2950', '5e-05', '123456789012345', '1234567890123456789', '0.000000000000000000000001', '1.7976931348623157e308', '4.9e-324', '3.141592653589793', '-0.0'];
    const points = pointsOf(values.map((value, k) => `v${k}=${value}`));
    assert.deepEqual(
      points.map(([, value]) => value),
      values.map(Number),
    );
  });

  test('spaces around =, several separators, Python logging prefixes, tqdm postfix', () => {
    assert.deepEqual(pointsOf(['loss = 0.5, acc=0.9; lr=1e-4 | f1=0.7']), [
      ['loss', 0.5, 0],
      ['acc', 0.9, 0],
      ['lr', 0.0001, 0],
      ['f1', 0.7, 0],
    ]);
    assert.deepEqual(pointsOf(['INFO:root:loss=0.5']), [['loss', 0.5, 0]]);
    assert.deepEqual(pointsOf(['100%|██████████| 100/100 [00:02<00:00, 44.21it/s, loss=0.123, v_num=0]']), [
      ['loss', 0.123, 0],
      ['v_num', 0, 0],
    ]);
    assert.deepEqual(pointsOf(['Final loss=0.25.']), [['loss', 0.25, 0]]);
    assert.deepEqual(pointsOf(['train/loss=0.5 eval.acc=0.9 lr-SGD=0.1']), [
      ['train/loss', 0.5, 0],
      ['eval.acc', 0.9, 0],
      ['lr-SGD', 0.1, 0],
    ]);
  });

  test('what the defaults deliberately do not match', () => {
    const lines = [
      '12:30:01 started', // a timestamp
      'time=12:30:01', // a timestamp as a value
      'Started at: 2024-01-05 12:30:01,123', // a date
      'version 1.2.3', // a version
      'version: 1.2.3', // a version as a value
      'x=1.2.3', // not a number
      'ip=10.0.0.1 server: 192.168.1.20', // IP addresses
      'connecting to localhost:8080', // host:port
      ' 45%|████▌     | 45/100 [00:01<00:01, 44.21it/s]', // progress bar percentages and rates
      'acc=93%', // a percentage: 93 or 0.93? neither
      'see https://example.com/train?lr=0.1&epochs=3 or http://host/a=1', // URLs
      'foo=bar=1', // key=value inside a word
      'flag --lr=0.1 and -x=3', // command-line flags
      'took=3s speed=44.21it/s', // units
      'Total params: 1,234,567', // thousands separators
      'a==1 b<=2 c>=3 d!=4', // comparisons
      'ratio=1/10 hex=0x1F', // fractions, hex
      'loss=tensor(0.5)', // wrapped values in plain text
      'name: alice', // not numeric
      'ETA: 0s', // a duration
    ];
    assert.deepEqual(pointsOf(lines), []);
  });

  test('JSON object lines; nested objects flattened with /, lists, strings, booleans and null skipped', () => {
    assert.deepEqual(pointsOf(['{"loss": 0.5, "eval": {"acc": 0.9, "f1": {"macro": 0.8}}, "tags": ["a", 1], "name": "x=1", "ok": true, "none": null, "big": 1e3}']), [
      ['loss', 0.5, 0],
      ['eval/acc', 0.9, 0],
      ['eval/f1/macro', 0.8, 0],
      ['big', 1000, 0],
    ]);
    assert.deepEqual(pointsOf(['{"loss":0.5,"acc":NaN,"lr":-Infinity}']), [
      ['loss', 0.5, 0],
      ['acc', NaN, 0],
      ['lr', -Infinity, 0],
    ]);
  });

  test('Python dict lines as trainers print them', () => {
    assert.deepEqual(pointsOf(["{'loss': 0.51, 'grad_norm': 1.25, 'learning_rate': 5e-05, 'epoch': 0.25}"]), [
      ['loss', 0.51, 0],
      ['grad_norm', 1.25, 0],
      ['learning_rate', 0.00005, 0],
      ['epoch', 0.25, 0],
    ]);
    assert.deepEqual(pointsOf(["{'a': nan, 'b': inf, 'c': -inf, 'd': True, 'e': False, 'f': None, 'g': np.float64(0.5), 'h': (1, 2), 'it\\'s': 3, \"q\": 'x: 1'}"]), [
      ['a', NaN, 0],
      ['b', Infinity, 0],
      ['c', -Infinity, 0],
      ['g', 0.5, 0],
      ['it_s', 3, 0], // `'` is not legal in a key,
    ]);
    // A prefix before the object (a logger) still counts; JavaScript's console.log style too.
    assert.deepEqual(pointsOf(["2024-01-05 12:30:01 INFO step 7 {'loss': 0.4}", '{ loss: 0.3, acc: 0.8 }']), [
      ['loss', 0.4, 7],
      ['loss', 0.3, 8],
      ['acc', 0.8, 0],
    ]);
  });

  test('a line that only looks like an object falls back to the pair scanner', () => {
    assert.deepEqual(pointsOf(["{'loss': tensor(0.5, device='cuda:0'), 'acc': 0.9}"]), [['acc', 0.9, 0]]);
    assert.deepEqual(pointsOf(['{loss=0.5 acc=0.9}']), [
      ['loss', 0.5, 0],
      ['acc', 0.9, 0],
    ]);
  });
});

describe('steps', () => {
  test('implicit: each key counts up from 0 on its own', () => {
    assert.deepEqual(pointsOf(['loss=0.9', 'loss=0.8 acc=0.5', 'acc=0.6', 'loss=0.7']), [
      ['loss', 0.9, 0],
      ['loss', 0.8, 1],
      ['acc', 0.5, 0],
      ['acc', 0.6, 1],
      ['loss', 0.7, 2],
    ]);
  });

  test('explicit: step, epoch, iter, global_step set the step of the others and are not logged themselves', () => {
    assert.deepEqual(pointsOf(['step=10 loss=0.5', 'epoch: 2 - loss: 0.4', "{'iter': 7, 'loss': 0.3}", 'global_step=100 loss=0.2', 'Step 200/500 | loss=0.1', '[Epoch 4] acc=0.9']), [
      ['loss', 0.5, 10],
      ['loss', 0.4, 2],
      ['loss', 0.3, 7],
      ['loss', 0.2, 100],
      ['loss', 0.1, 200],
      ['acc', 0.9, 4],
    ]);
  });

  test('several step keys on a line: the most specific one is the step, the others are metrics', () => {
    assert.deepEqual(pointsOf(['epoch=2 step=1500 loss=0.3', 'epoch=2 global_step=1600 step=5 loss=0.2']), [
      ['epoch', 2, 1500],
      ['loss', 0.3, 1500],
      ['epoch', 2, 1600],
      ['step', 5, 1600],
      ['loss', 0.2, 1600],
    ]);
  });

  test('implicit steps continue after explicit ones', () => {
    assert.deepEqual(pointsOf(['step=5 loss=0.5', 'loss=0.4']), [
      ['loss', 0.5, 5],
      ['loss', 0.4, 6],
    ]);
  });

  test('a fractional epoch (HF Trainer) is logged as a metric and stops being a step for the run', () => {
    const lines = [
      "{'loss': 0.9, 'learning_rate': 5e-05, 'epoch': 0.5}",
      "{'loss': 0.8, 'learning_rate': 4e-05, 'epoch': 1.0}",
      "{'eval_loss': 0.7, 'epoch': 1.0}",
      "{'loss': 0.6, 'learning_rate': 3e-05, 'epoch': 1.5}",
      'epoch 2: acc=0.9', // the bare form of a demoted key is no step either
      'step=40 loss=0.5', // other step keys still work
    ];
    assert.deepEqual(pointsOf(lines), [
      ['loss', 0.9, 0],
      ['learning_rate', 0.00005, 0],
      ['epoch', 0.5, 0],
      ['loss', 0.8, 1],
      ['learning_rate', 0.00004, 1],
      ['epoch', 1, 1],
      ['eval_loss', 0.7, 0],
      ['epoch', 1, 2],
      ['loss', 0.6, 2],
      ['learning_rate', 0.00003, 2],
      ['epoch', 1.5, 3],
      ['acc', 0.9, 0],
      ['loss', 0.5, 40],
    ]);
  });

  test('integer epochs stay steps; negative or non-finite step values are logged as metrics', () => {
    assert.deepEqual(pointsOf(["{'loss': 0.9, 'epoch': 1.0}", "{'loss': 0.8, 'epoch': 2.0}", 'step=-1 loss=0.7', 'step=nan loss=0.6']), [
      ['loss', 0.9, 1],
      ['loss', 0.8, 2],
      ['step', -1, 0],
      ['loss', 0.7, 3],
      ['step', NaN, 1],
      ['loss', 0.6, 4],
    ]);
  });

  test('step keys are configurable, case-insensitive; [] turns them off', () => {
    assert.deepEqual(pointsOf(['Iteration=3 loss=0.5', 'step=9 loss=0.4'], { stepKeys: ['iteration'] }), [
      ['loss', 0.5, 3],
      ['step', 9, 0],
      ['loss', 0.4, 4],
    ]);
    assert.deepEqual(pointsOf(['step=3 loss=0.5', 'epoch 4: loss=0.4'], { stepKeys: [] }), [
      ['step', 3, 0],
      ['loss', 0.5, 0],
      ['loss', 0.4, 1],
    ]);
  });

  test('every point keeps the timestamp it was given', () => {
    const points: Metric[] = [];
    const extract = new PointExtractor(compileMetricConfig(), (point) => points.push(point));
    extract.extract('a=1 b=2', 0, 7, 111);
    extract.extract('xx a=3', 3, 6, 222);
    assert.deepEqual(points, [
      { key: 'a', value: 1, timestamp: 111, step: 0 },
      { key: 'b', value: 2, timestamp: 111, step: 0 },
      { key: 'a', value: 3, timestamp: 222, step: 1 },
    ]);
  });
});

describe('custom patterns', () => {
  test('--metric-pattern with key, value and step groups; Python (?P<name>) spelling accepted', () => {
    const options = { patterns: ['(?P<key>\\w+) is (?P<value>\\S+) at (?<step>\\d+)'], defaults: false };
    assert.deepEqual(pointsOf(['loss is 0.5 at 10, acc is 0.9 at 10', 'loss is oops at 11', 'loss is 0.4 at 12'], options), [
      ['loss', 0.5, 10],
      ['acc', 0.9, 10],
      ['loss', 0.4, 12],
    ]);
  });

  test('--metric-pattern without a step group uses the line step rules', () => {
    const options = { patterns: ['(?<key>[A-Z0-9]+)~(?<value>[\\d.]+)'], defaults: false };
    assert.deepEqual(pointsOf(['F1~0.5', 'F1~0.6 AUC~0.7'], options), [
      ['F1', 0.5, 0],
      ['F1', 0.6, 1],
      ['AUC', 0.7, 0],
    ]);
  });

  test('--metric NAME=REGEX: one capture group, every match', () => {
    const options = { named: ['top1=Top-1 accuracy (\\S+)%', 'wer=WER (?:is )?([\\d.]+)'] };
    assert.deepEqual(pointsOf(['Top-1 accuracy 76.1% (best)', 'WER is 0.12', 'WER 0.11 WER 0.10'], options), [
      ['top1', 76.1, 0],
      ['wer', 0.12, 0],
      ['wer', 0.11, 1],
      ['wer', 0.1, 2],
    ]);
  });

  test('custom patterns and the defaults together: a key a custom pattern logged is not logged twice', () => {
    const options = { patterns: ['(?<key>loss)=(?<value>[\\d.]+)'] };
    assert.deepEqual(pointsOf(['loss=0.5 acc=0.9'], options), [
      ['loss', 0.5, 0],
      ['acc', 0.9, 0],
    ]);
  });

  test('--no-default-patterns with no custom pattern, or --metrics none: the stream matches nothing', () => {
    assert.deepEqual(pointsOf(['loss=0.5'], { defaults: false }), []);
    assert.equal(compileMetricConfig({ enabled: false }).enabled, false);
  });
});
