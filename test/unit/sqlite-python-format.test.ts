// The Python formatting the embedded store's error messages are made of; every expected value
// here is what Python 3.11 prints for the same input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pyFloat, pyJsonString, pyLength, pyNormpath, pyRepr, pyReprList, pySlice } from '../../src/tracking/sqlite/python-format.ts';

test('repr() of a str picks the quote Python picks and escapes as Python does', () => {
  assert.equal(pyRepr("it's"), `"it's"`);
  assert.equal(pyRepr('say "hi"'), `'say "hi"'`);
  assert.equal(pyRepr(`both ' and "`), `'both \\' and "'`);
  assert.equal(pyRepr('tab\there\nnl'), `'tab\\there\\nnl'`);
  assert.equal(pyRepr('back\\slash'), `'back\\\\slash'`);
  assert.equal(pyRepr('é'), `'é'`);
  assert.equal(pyRepr('\x01'), `'\\x01'`);
});

test('json.dumps() of a str escapes everything beyond ASCII', () => {
  assert.equal(pyJsonString('é'), '"\\u00e9"');
  assert.equal(pyJsonString('a\u2028b'), '"a\\u2028b"');
  assert.equal(pyJsonString('\x7f'), '"\\u007f"');
  assert.equal(pyJsonString('😀'), '"\\ud83d\\ude00"');
  assert.equal(pyJsonString('ok'), '"ok"');
});

test('str() of a float', () => {
  const cases: [number, string][] = [
    [1, '1.0'], [0.5, '0.5'], [1e-5, '1e-05'], [0.0001, '0.0001'], [1e16, '1e+16'], [1.5e16, '1.5e+16'],
    [123456789012345, '123456789012345.0'], [-0, '-0.0'], [1 / 3, '0.3333333333333333'], [2.5e-7, '2.5e-07'],
    [1e300, '1e+300'], [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'],
  ];
  for (const [value, expected] of cases) assert.equal(pyFloat(value), expected, String(value));
});

test('posixpath.normpath()', () => {
  const cases: [string, string][] = [
    ['', '.'], ['a/', 'a'], ['//a', '//a'], ['///a', '/a'], ['a/../..//b', '../b'], ['../a', '../a'], ['a/./b', 'a/b'], ['/x/../..', '/'],
  ];
  for (const [path, expected] of cases) assert.equal(pyNormpath(path), expected, path);
});

test('len() and slicing count code points', () => {
  assert.equal(pyLength('a😀b'), 3);
  assert.equal(pySlice('a😀b😀', 2), 'a😀');
  assert.equal(pySlice('abc', 5), 'abc');
});

test('str() of a list of dicts', () => {
  assert.equal(pyReprList([{ key: "it's", old_value: 'a', new_value: 'b' }]), `[{'key': "it's", 'old_value': 'a', 'new_value': 'b'}]`);
});
