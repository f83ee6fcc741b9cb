// Where the embedded store puts artifacts, and the URI it hands to wrapped commands.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendToUriPath, defaultArtifactRoot, sqliteUri } from '../../src/tracking/sqlite/location.ts';

test('artifacts live in mlruns beside the database, whatever the cwd', () => {
  assert.equal(defaultArtifactRoot('/work/project/mlflow.db'), '/work/project/mlruns');
  assert.equal(appendToUriPath('/work/project/mlruns', '3', 'abc', 'artifacts'), '/work/project/mlruns/3/abc/artifacts');
  assert.equal(appendToUriPath('mlflow-artifacts:/', '0'), 'mlflow-artifacts:/0');
  assert.equal(appendToUriPath('s3://bucket/root/', '7'), 's3://bucket/root/7');
});

test('the tracking URI is percent-encoded as MLflow encodes a path into a sqlite URI', () => {
  assert.equal(sqliteUri('/tmp/a b/mlflow.db'), 'sqlite:////tmp/a%20b/mlflow.db');
  assert.equal(sqliteUri('/tmp/x#y?z/é.db'), 'sqlite:////tmp/x%23y%3Fz/%C3%A9.db');
  assert.equal(sqliteUri('/tmp/ok_-.~/mlflow.db'), 'sqlite:////tmp/ok_-.~/mlflow.db');
});
