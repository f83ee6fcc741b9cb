import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactDestination, artifactEndpoint, multipartEndpoint } from '../../src/artifacts/destination.ts';

const RUN = '1/0123456789abcdef0123456789abcdef/artifacts';

test('mlflow-artifacts:/ resolves against the tracking server, path prefix and credentials kept', () => {
  assert.deepEqual(artifactDestination(`mlflow-artifacts:/${RUN}`, 'http://127.0.0.1:5000', '/'), {
    kind: 'http',
    serviceUri: 'http://127.0.0.1:5000',
    runPath: RUN,
  });
  assert.deepEqual(artifactDestination(`mlflow-artifacts:/${RUN}/`, 'https://u:p%40ss@mlflow.example.com/prefix/', '/'), {
    kind: 'http',
    serviceUri: 'https://u:p%40ss@mlflow.example.com/prefix',
    runPath: RUN,
  });
});

test('mlflow-artifacts://host:port/ names a separate artifacts server, with the tracking scheme and no tracking userinfo', () => {
  assert.deepEqual(artifactDestination(`mlflow-artifacts://artifacts.internal:5001/${RUN}`, 'https://u:p@tracking:5000/ml', '/'), {
    kind: 'http',
    serviceUri: 'https://artifacts.internal:5001/ml',
    runPath: RUN,
  });
});

test('mlflow-artifacts: without an http tracking URI is unsupported, with the reason', () => {
  const destination = artifactDestination(`mlflow-artifacts:/${RUN}`, undefined, '/');
  assert.equal(destination.kind, 'unsupported');
  assert.match((destination as { reason: string }).reason, /served by an MLflow server, but the tracking URI \(none\) is not one/);
});

test('an http(s) MLflow artifacts URL is used directly', () => {
  assert.deepEqual(artifactDestination(`http://h:5000/p/api/2.0/mlflow-artifacts/artifacts/${RUN}`, undefined, '/'), {
    kind: 'http',
    serviceUri: 'http://h:5000/p',
    runPath: RUN,
  });
});

test('file:// and plain paths are local folders; a relative path resolves from cwd', () => {
  assert.deepEqual(artifactDestination('file:///tmp/ml%20runs/1/abc/artifacts', undefined, '/'), { kind: 'local', dir: '/tmp/ml runs/1/abc/artifacts' });
  assert.deepEqual(artifactDestination('/srv/mlruns/1/abc/artifacts', undefined, '/'), { kind: 'local', dir: '/srv/mlruns/1/abc/artifacts' });
  assert.deepEqual(artifactDestination('mlruns/1/abc/artifacts', undefined, '/work/p'), { kind: 'local', dir: '/work/p/mlruns/1/abc/artifacts' });
});

test('s3:// names the bucket and the run\'s folder in it, as MLflow parses it', () => {
  assert.deepEqual(artifactDestination('s3://bucket/mlflow/1/abc/artifacts', 'http://h', '/'), { kind: 's3', bucket: 'bucket', prefix: 'mlflow/1/abc/artifacts' });
  assert.deepEqual(artifactDestination('s3://bucket/', 'http://h', '/'), { kind: 's3', bucket: 'bucket', prefix: '' });
  assert.equal(artifactDestination('s3:///no-bucket', 'http://h', '/').kind, 'unsupported');
});

test('GCS and Azure are unsupported with one line that names the workaround, credentials redacted', () => {
  assert.deepEqual(artifactDestination('gs://bucket/1/abc/artifacts', 'http://h', '/'), {
    kind: 'unsupported',
    reason:
      "the run's artifact location gs://bucket/1/abc/artifacts is in Google Cloud Storage, which mlrun does not write to yet; let the MLflow server proxy artifacts instead (mlflow server --artifacts-destination gs://…)",
  });
  const azure = artifactDestination('wasbs://user:key@container/1/abc', 'http://h', '/');
  assert.deepEqual(azure, {
    kind: 'unsupported',
    reason:
      "the run's artifact location wasbs://***@container/1/abc is in Azure Blob Storage, which mlrun does not write to yet; let the MLflow server proxy artifacts instead (mlflow server --artifacts-destination wasbs://…)",
  });
  assert.equal(artifactDestination('abfss://c@acct.dfs.core.windows.net/x', 'http://h', '/').kind, 'unsupported');
  assert.match((artifactDestination('hdfs://nn/x', 'http://h', '/') as { reason: string }).reason, /in 'hdfs:' storage, which mlrun cannot write to directly/);
});

test('endpoints percent-encode each segment of the artifact path, and multipart takes its folder', () => {
  assert.equal(
    artifactEndpoint(RUN, 'data/a b/é#1?.csv'),
    `/api/2.0/mlflow-artifacts/artifacts/${RUN}/data/a%20b/%C3%A9%231%3F.csv`,
  );
  assert.equal(multipartEndpoint('create', RUN, 'data/a b/big.bin'), `/api/2.0/mlflow-artifacts/mpu/create/${RUN}/data/a%20b`);
  assert.equal(multipartEndpoint('abort', RUN, 'big.bin'), `/api/2.0/mlflow-artifacts/mpu/abort/${RUN}`);
  assert.equal(artifactEndpoint('', 'x.txt'), '/api/2.0/mlflow-artifacts/artifacts/x.txt');
});
