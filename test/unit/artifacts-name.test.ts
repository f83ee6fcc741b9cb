// The artifact names MLflow keeps as they are, rule by rule (artifact-name.ts); the names
// themselves go to a real server and a local store in test/integration/artifact-names.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactNameProblem, quoteName } from '../../src/artifacts/artifact-name.ts';

test('names MLflow keeps as they are: no problem', () => {
  const kept = ['model.bin', 'out/a:b', 'a:b', 'model.v2:final', 'a?b', 'a?b?', 'x;y', 'x;;', 'a;/b', 'pct%', '100%zz', 'sp ace ', 'é名/x', 'back\\slash', '~x', 'a..b', '...'];
  assert.deepEqual(kept.filter((name) => artifactNameProblem(name) !== undefined), []);
});

test('each rule, with its message', () => {
  const refused: [string, string][] = [
    ['../up', 'not a relative /-separated path inside the run'],
    ['a//b', 'not a relative /-separated path inside the run'],
    ['/abs', 'not a relative /-separated path inside the run'],
    ['new\nline', "MLflow's server refuses or renames an artifact name with a control character (U+000A)"],
    ['del\u007f', "MLflow's server refuses or renames an artifact name with a control character (U+007F)"],
    ['h#frag', "MLflow's server refuses '#' in an artifact name"],
    ['a%41.txt', "MLflow's server decodes '%41' in an artifact name: it would store the file under another name"],
    [' lead', "MLflow's server drops the space an artifact name starts with"],
    ['http:x', "MLflow's server reads an artifact name that starts with 'http:' as a URL: it would store the file under another name"],
    ['Model:v1', "MLflow's server reads an artifact name that starts with 'Model:' as a URL: it would store the file under another name"],
    ['what?', "MLflow's server drops the '?' an artifact name ends with"],
    ['semi;', "MLflow's server drops the ';' that ends an artifact name"],
    ['dir/semi;?q', "MLflow's server drops the ';' that ends an artifact name"],
    ['out/.artifact.uploading.x', "MLflow reserves artifact names that start with '.artifact.uploading.' for its own staging files"],
  ];
  assert.deepEqual(refused.map(([name]) => [name, artifactNameProblem(name)]), refused);
});

test('a name in a message: quoted, control characters as escapes, on one line', () => {
  assert.equal(quoteName('out/new\nline\t\u0001'), "'out/new\\nline\\t\\u0001'");
  assert.equal(quoteName('é名 #'), "'é名 #'");
});
