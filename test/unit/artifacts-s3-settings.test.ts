// How mlrun reads MLflow's S3 variables (s3_artifact_repo.py `_get_s3_client`), without the SDK.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readS3Settings } from '../../src/artifacts/s3-settings.ts';

test('AWS itself: virtual-hosted buckets, the region left to the shared profile, TLS checked', () => {
  assert.deepEqual(readS3Settings({}), {
    settings: { endpoint: undefined, forcePathStyle: false, region: undefined, verifyTls: true, extraParams: {} },
    problems: [],
  });
  assert.equal(readS3Settings({ AWS_DEFAULT_REGION: 'eu-west-1' }).settings.region, 'eu-west-1');
  assert.equal(readS3Settings({ AWS_DEFAULT_REGION: 'eu-west-1', AWS_REGION: 'us-west-2' }).settings.region, 'us-west-2');
});

test('an S3-compatible endpoint: the bucket in the path as botocore\'s "auto" puts it, us-east-1 when no region is set', () => {
  const { settings } = readS3Settings({ MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' });
  assert.deepEqual(settings, { endpoint: 'http://minio:9000', forcePathStyle: true, region: 'us-east-1', verifyTls: true, extraParams: {} });
  assert.equal(readS3Settings({ MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000', MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE: 'virtual' }).settings.forcePathStyle, false);
  assert.equal(readS3Settings({ MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE: 'path' }).settings.forcePathStyle, true);
  assert.equal(readS3Settings({ MLFLOW_S3_IGNORE_TLS: 'true' }).settings.verifyTls, false);
});

test('extra upload parameters and the expected bucket owner go with every object; a bad value is one line', () => {
  const { settings } = readS3Settings({ MLFLOW_S3_UPLOAD_EXTRA_ARGS: '{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k1"}', MLFLOW_S3_EXPECTED_BUCKET_OWNER: '123456789012' });
  assert.deepEqual(settings.extraParams, { ExpectedBucketOwner: '123456789012', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'k1' });
  assert.deepEqual(readS3Settings({ MLFLOW_S3_UPLOAD_EXTRA_ARGS: '[1]', MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE: 'dns' }).problems, [
    'MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE=dns is not auto, path or virtual: using auto',
    'MLFLOW_S3_UPLOAD_EXTRA_ARGS is not a JSON object of strings: ignored',
  ]);
});
