import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeKey } from '../../src/tracking/live-runs.ts';

test('a server is named by its URI without credentials, the way sync names servers', () => {
  assert.equal(storeKey({ kind: 'rest', uri: 'https://alice:s3cret@Mlflow.example.com:5000/prefix/' }, '/p'), 'https://***@mlflow.example.com:5000/prefix');
  assert.equal(storeKey({ kind: 'rest', uri: 'http://127.0.0.1:5000?token=abc' }, '/p'), 'http://127.0.0.1:5000?token=***');
});

test("a database inside the project is named relative to the project's root, one outside by its path", () => {
  assert.equal(storeKey({ kind: 'sqlite', dbPath: '/p/.mlrun/offline/mlflow.db' }, '/p'), '.mlrun/offline/mlflow.db');
  assert.equal(storeKey({ kind: 'sqlite', dbPath: '/p/mlflow.db' }, '/p'), 'mlflow.db');
  assert.equal(storeKey({ kind: 'sqlite', dbPath: '/data/mlflow.db' }, '/p'), '/data/mlflow.db');
  assert.equal(storeKey({ kind: 'sqlite', dbPath: '/p2/mlflow.db' }, '/p'), '/p2/mlflow.db');
});
