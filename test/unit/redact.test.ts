import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactSecrets, redactUri, redactUris, uriSecrets } from '../../src/tracking/redact.ts';

test('redactUri replaces userinfo with ***@', () => {
  assert.equal(redactUri('https://alice:s3cret@mlflow.example.com:5000/prefix'), 'https://***@mlflow.example.com:5000/prefix');
  assert.equal(redactUri('http://tokenonly@host/'), 'http://***@host/');
  assert.equal(redactUri('postgresql+psycopg2://u:p@db:5432/mlflow'), 'postgresql+psycopg2://***@db:5432/mlflow');
});

test('redactUri covers an unencoded @ inside the password', () => {
  assert.equal(redactUri('http://u:p@ss@host:5000/a@b'), 'http://***@host:5000/a@b');
});

test('redactUri leaves URIs without secrets unchanged', () => {
  for (const uri of ['http://127.0.0.1:5000', 'sqlite:///mlflow.db', '/tmp/mlruns', 'https://h/p?experiment=1&x=y#frag', 'mlflow-artifacts:/1/abc']) {
    assert.equal(redactUri(uri), uri);
  }
});

test('redactUri masks secret-looking query parameters and keeps the others', () => {
  assert.equal(
    redactUri('https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&partNumber=2'),
    'https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&partNumber=2',
  );
  assert.equal(redactUri('https://h/x?sv=2020&sig=ZZZ&se=1'), 'https://h/x?sv=2020&sig=***&se=1');
  assert.equal(redactUri('https://h/x?access_token=t1&api_key=k&password=p&client_secret=s#top'), 'https://h/x?access_token=***&api_key=***&password=***&client_secret=***#top');
  assert.equal(redactUri('https://u:p@h/x?token=t'), 'https://***@h/x?token=***');
});

test('redactSecrets replaces every known secret, the longest first', () => {
  assert.equal(redactSecrets('auth alice:pw123 then pw123 and pw123', ['pw123', 'alice:pw123']), 'auth *** then *** and ***');
  assert.equal(redactSecrets('no secrets here', ['pw123']), 'no secrets here');
});

test('redactSecrets also replaces the percent-encoded form and ignores empty secrets', () => {
  assert.equal(redactSecrets('http://a:p%40ss%2Fw@h', ['p@ss/w', '']), 'http://a:***@h');
});

test('redactUris redacts each URI inside a text, and uriSecrets names what it took out', () => {
  const text = "--src=https://u:p1@h/a?token=t1&n=1 'ftp://bob@f/x' s3://b/k";
  assert.equal(redactUris(text), "--src=https://***@h/a?token=***&n=1 'ftp://***@f/x' s3://b/k");
  assert.deepEqual(uriSecrets(text), ['u:p1', 't1', 'bob']);
});
