import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, compileMetricConfig, DEFAULT_STEP_KEYS } from '../../src/metrics/parse/config.ts';
import { sanitizeKey } from '../../src/metrics/parse/keys.ts';
import { MAX_ENTITY_KEY_LENGTH as MAX_KEY_LENGTH } from '../../src/tracking/limits.ts';

function configError(options: Parameters<typeof compileMetricConfig>[0]): string {
  try {
    compileMetricConfig(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    return error.message;
  }
  assert.fail('no ConfigError');
}

describe('compileMetricConfig', () => {
  test('defaults', () => {
    const config = compileMetricConfig();
    assert.equal(config.enabled, true);
    assert.equal(config.defaults, true);
    assert.deepEqual(config.stepKeys, DEFAULT_STEP_KEYS);
    assert.deepEqual(config.patterns, []);
    assert.deepEqual(config.named, []);
  });

  test('an invalid regex: one line naming the flag, the pattern and the regex error', () => {
    assert.equal(configError({ patterns: ['(?<key>'] }), "invalid --metric-pattern '(?<key>': Unterminated group");
    assert.equal(configError({ patterns: ['(?<key>\\w+)=(?<value>[0-9'] }), "invalid --metric-pattern '(?<key>\\w+)=(?<value>[0-9': Unterminated character class");
    assert.equal(configError({ named: ['acc=acc: (+)'] }), "invalid --metric 'acc: (+)': Nothing to repeat");
  });

  test('missing groups', () => {
    assert.equal(configError({ patterns: ['(\\w+)=(\\d+)'] }), "invalid --metric-pattern '(\\w+)=(\\d+)': needs the named groups 'key' and 'value', as in (?<key>\\w+)=(?<value>\\S+)");
    assert.equal(configError({ patterns: ['(?<key>\\w+)=\\d+'] }), "invalid --metric-pattern '(?<key>\\w+)=\\d+': needs the named groups 'key' and 'value', as in (?<key>\\w+)=(?<value>\\S+)");
    assert.equal(configError({ named: ['acc=accuracy \\S+'] }), "invalid --metric 'acc=accuracy \\S+': needs exactly one capture group (the value), found 0");
    assert.equal(configError({ named: ['acc=(a|b) (\\S+)'] }), "invalid --metric 'acc=(a|b) (\\S+)': needs exactly one capture group (the value), found 2");
    assert.equal(configError({ named: ['accuracy'] }), "invalid --metric 'accuracy': expected NAME=REGEX");
    assert.equal(configError({ named: ['=(\\d+)'] }), "invalid --metric '=(\\d+)': expected NAME=REGEX");
    assert.equal(configError({ patterns: [''] }), "invalid --metric-pattern '': the regex is empty");
    assert.equal(configError({ stepKeys: ['step', ' '] }), 'invalid step key: it is empty');
  });

  test('valid custom patterns compile, the step group is noticed, non-capturing groups do not count', () => {
    const config = compileMetricConfig({ patterns: ['(?<key>\\w+)=(?<value>\\S+)', '(?P<key>\\w+)@(?P<step>\\d+)=(?P<value>\\S+)'], named: ['acc=(?:top1|acc) (\\S+)'] });
    assert.deepEqual(
      config.patterns.map((pattern) => pattern.hasStep),
      [false, true],
    );
    assert.equal(config.named[0]?.name, 'acc');
  });
});

describe('sanitizeKey', () => {
  const cases: [string, string][] = [
    ['loss', 'loss'],
    ['train/loss', 'train/loss'],
    ['val loss', 'val loss'],
    ['lr-SGD.group:0', 'lr-SGD.group:0'],
    ['précision', 'précision'],
    ['top@1 (%)', 'top_1 ___'],
    ['a\tb\nc', 'a_b_c'],
    ['  padded  ', 'padded'],
    ['/abs/path', 'abs/path'],
    ['a//b', 'a/b'],
    ['trailing/', 'trailing'],
    ['a/../b', 'a/b'],
    ['a..b', 'a.b'],
    ['./loss', 'loss'],
    ['a/./b', 'a/b'],
    ['.', '_'],
    ['..', '_'],
    ['/', '_'],
    ['', '_'],
    ['.hidden', '.hidden'],
    ['😀', '_'], // one character, one `_`,
  ];
  for (const [raw, expected] of cases) {
    test(`${JSON.stringify(raw)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(sanitizeKey(raw), expected);
    });
  }

  test('every result is legal for MLflow', () => {
    const legal = /^[/\p{L}\p{N}_.\- :]*$/u;
    for (const raw of [...cases.map(([key]) => key), 'x'.repeat(1000), `${'a/'.repeat(200)}b`, `${'é'.repeat(249)}😀`]) {
      const key = sanitizeKey(raw);
      assert.ok(legal.test(key), key);
      assert.ok(key.length > 0 && key.length <= MAX_KEY_LENGTH, `${key.length}`);
      assert.ok(!key.startsWith('/') && !key.endsWith('/') && !key.includes('//') && !key.includes('..') && key !== '.', key);
      assert.ok(!key.split('/').includes('.'), key);
    }
  });

  test('long keys: cut to 250 deterministically, and two long keys stay two keys', () => {
    const a = sanitizeKey(`${'x'.repeat(300)}a`);
    const b = sanitizeKey(`${'x'.repeat(300)}b`);
    assert.equal(a.length, 250);
    assert.equal(b.length, 250);
    assert.notEqual(a, b);
    assert.equal(a, sanitizeKey(`${'x'.repeat(300)}a`));
    assert.match(a, /^x{241}_[0-9a-f]{8}$/);
  });
});
