import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { TrackingError } from '../../src/tracking/errors.ts';
import { readClientConfig } from '../../src/http/config.ts';

const URI = 'http://127.0.0.1:5000';
// A HOME without ~/.mlflow/credentials, so the developer's own file never leaks into a test.
const emptyHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-home-'));
const read = (env: NodeJS.ProcessEnv, uri = URI) => readClientConfig(uri, { HOME: emptyHome, ...env });
const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;

test('defaults are MLflow\'s', () => {
  const config = read({});
  assert.deepEqual(config.retry, { maxRetries: 7, backoffFactor: 2, backoffJitter: 1, respectRetryAfter: true });
  assert.equal(config.timeoutMs, 120_000);
  assert.equal(config.authorization, undefined);
  assert.deepEqual(config.secrets, []);
  assert.equal(config.workspace, undefined);
  assert.deepEqual(config.tls, { rejectUnauthorized: true, ca: undefined, clientPem: undefined });
});

test('username and password give Basic, and win over a token', () => {
  const both = read({ MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'pw:1', MLFLOW_TRACKING_TOKEN: 'tok' });
  assert.equal(both.authorization, basic('alice:pw:1'));
  assert.deepEqual(both.secrets.sort(), ['alice:pw:1', 'pw:1', Buffer.from('alice:pw:1').toString('base64')].sort());
  assert.equal(read({ MLFLOW_TRACKING_TOKEN: 'tok' }).authorization, 'Bearer tok');
  assert.deepEqual(read({ MLFLOW_TRACKING_TOKEN: 'tok' }).secrets, ['tok']);
  // A username without a password is not Basic.
  assert.equal(read({ MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_TOKEN: 'tok' }).authorization, 'Bearer tok');
});

test('userinfo in the URI wins, decoded', () => {
  const config = read({ MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'x' }, 'http://bob:p%40ss@127.0.0.1:5000/');
  assert.equal(config.authorization, basic('bob:p@ss'));
});

test('~/.mlflow/credentials fills what the environment leaves unset', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-home-'));
  fs.mkdirSync(path.join(home, '.mlflow'));
  fs.writeFileSync(path.join(home, '.mlflow', 'credentials'), '[other]\nmlflow_tracking_password = no\n\n[mlflow]\n# comment\nmlflow_tracking_username = carol\nMLFLOW_TRACKING_PASSWORD: filepw\n');
  assert.equal(readClientConfig(URI, { HOME: home }).authorization, basic('carol:filepw'));
  assert.equal(readClientConfig(URI, { HOME: home, MLFLOW_TRACKING_PASSWORD: 'envpw' }).authorization, basic('carol:envpw'));
});

test('workspace, retries, timeout and booleans are read from the environment', () => {
  const config = read({
    MLFLOW_WORKSPACE: 'team-a',
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.5',
    MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0',
    MLFLOW_HTTP_REQUEST_TIMEOUT: '3',
    MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: 'False',
    MLFLOW_TRACKING_INSECURE_TLS: '1',
  });
  assert.equal(config.workspace, 'team-a');
  assert.deepEqual(config.retry, { maxRetries: 0, backoffFactor: 0.5, backoffJitter: 0, respectRetryAfter: false });
  assert.equal(config.timeoutMs, 3000);
  assert.equal(config.tls.rejectUnauthorized, false);
});

test('wrong settings are clear errors naming the variable', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '11' }, /^MLFLOW_HTTP_REQUEST_MAX_RETRIES=11 is above MLflow's limit of 10$/],
    [{ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2.5' }, /^MLFLOW_HTTP_REQUEST_MAX_RETRIES=2.5 is not a whole number/],
    [{ MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '121' }, /^MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=121 is above MLflow's limit of 120$/],
    [{ MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '-1' }, /BACKOFF_FACTOR=-1 is not a number/],
    [{ MLFLOW_TRACKING_INSECURE_TLS: 'yes' }, /^MLFLOW_TRACKING_INSECURE_TLS=yes is not a boolean: use true, false, 1 or 0$/],
    [{ MLFLOW_TRACKING_INSECURE_TLS: 'true', MLFLOW_TRACKING_SERVER_CERT_PATH: '/etc/ca.pem' }, /^MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set/],
    [{ MLFLOW_TRACKING_SERVER_CERT_PATH: '/nonexistent/ca.pem' }, /^MLFLOW_TRACKING_SERVER_CERT_PATH=\/nonexistent\/ca.pem cannot be read \(ENOENT\)$/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => read(env), (error: unknown) => {
      assert.ok(error instanceof TrackingError);
      assert.equal(error.errorCode, 'INVALID_PARAMETER_VALUE');
      assert.match(error.message, message);
      return true;
    });
  }
});

test('an insecure flag set to false goes with a CA bundle', () => {
  const ca = path.join(emptyHome, 'ca.pem');
  fs.writeFileSync(ca, 'PEM');
  const config = read({ MLFLOW_TRACKING_INSECURE_TLS: 'false', MLFLOW_TRACKING_SERVER_CERT_PATH: ca, MLFLOW_TRACKING_CLIENT_CERT_PATH: ca });
  assert.equal(config.tls.rejectUnauthorized, true);
  assert.equal(config.tls.ca?.toString(), 'PEM');
  assert.equal(config.tls.clientPem?.toString(), 'PEM');
});
