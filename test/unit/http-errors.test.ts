import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abortedError, errorCodeForStatus, httpError, networkError } from '../../src/http/errors.ts';

const at = (attempts = 1) => ({ request: 'POST http://h:5000/api/2.0/mlflow/runs/create', attempts, scrub: (t: string) => t.replaceAll('s3cret', '***') });

test('status codes map to error codes as HTTP_STATUS_TO_ERROR_CODE does', () => {
  const statuses = [400, 401, 403, 404, 409, 429, 499, 500, 501, 502, 503, 504, 418];
  assert.deepEqual(statuses.map(errorCodeForStatus), [
    'BAD_REQUEST', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'ENDPOINT_NOT_FOUND', 'ALREADY_EXISTS', 'RESOURCE_EXHAUSTED',
    'CANCELLED', 'INTERNAL_ERROR', 'NOT_IMPLEMENTED', 'INTERNAL_ERROR', 'TEMPORARILY_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL_ERROR',
  ]);
});

test('an MLflow JSON error keeps its code and message, on one line', () => {
  const error = httpError(400, 'Bad Request', JSON.stringify({ error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Experiment(name=x)\nalready exists.' }), at());
  assert.equal(error.errorCode, 'RESOURCE_ALREADY_EXISTS');
  assert.equal(error.httpStatus, 400);
  assert.equal(error.unreachable, false);
  assert.equal(error.message, 'POST http://h:5000/api/2.0/mlflow/runs/create failed with HTTP 400 RESOURCE_ALREADY_EXISTS: Experiment(name=x) already exists.');
});

test('an HTML page maps by status, shows its title, and a gateway error counts as unreachable', () => {
  const html = '<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center></body></html>';
  const error = httpError(502, 'Bad Gateway', html, at(8));
  assert.equal(error.errorCode, 'INTERNAL_ERROR');
  assert.equal(error.httpStatus, 502);
  assert.equal(error.unreachable, true);
  assert.equal(error.message, "POST http://h:5000/api/2.0/mlflow/runs/create failed with HTTP 502 INTERNAL_ERROR after 8 attempts: Bad Gateway, '502 Bad Gateway'");
});

test('plain text maps by status and is scrubbed of secrets; a 503 from MLflow is an answer', () => {
  const error = httpError(503, 'Service Unavailable', 'artifacts off; token s3cret', at());
  assert.equal(error.errorCode, 'TEMPORARILY_UNAVAILABLE');
  assert.equal(error.unreachable, false);
  assert.equal(error.message, "POST http://h:5000/api/2.0/mlflow/runs/create failed with HTTP 503 TEMPORARILY_UNAVAILABLE: Service Unavailable, 'artifacts off; token ***'");
  assert.equal(httpError(401, 'Unauthorized', '', at()).message, 'POST http://h:5000/api/2.0/mlflow/runs/create failed with HTTP 401 UNAUTHENTICATED: Unauthorized, no MLflow error in the body');
});

test('413 says the size of the body refused, and by whom it may be, instead of an error code', () => {
  const put = { request: 'PUT http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin', attempts: 1, scrub: (t: string) => t, bodyBytes: 314_572_800 };
  const html = '<html><head><title>413 Request Entity Too Large</title></head></html>';
  const error = httpError(413, 'Request Entity Too Large', html, put);
  assert.equal(error.httpStatus, 413);
  assert.equal(error.unreachable, false);
  assert.equal(
    error.message,
    'PUT http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin failed with HTTP 413 Request Entity Too Large: the server or a proxy in front of it refuses a body of 314.6 MB (314572800 bytes) as too large',
  );
  assert.equal(httpError(413, '', '', { ...at(), bodyBytes: 37 }).message, 'POST http://h:5000/api/2.0/mlflow/runs/create failed with HTTP 413: the server or a proxy in front of it refuses a body of 37 bytes as too large');
});

test('long messages are cut to 1000 characters', () => {
  const error = httpError(400, '', JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: 'x'.repeat(5000) }), at());
  assert.equal(error.message.length, 1000);
  assert.ok(error.message.endsWith('…'));
});

test('network failures and aborts are unreachable', () => {
  const refused = networkError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), at(3));
  assert.equal(refused.unreachable, true);
  assert.equal(refused.httpStatus, undefined);
  assert.equal(refused.message, 'POST http://h:5000/api/2.0/mlflow/runs/create failed: cannot reach the server (connection refused) after 3 attempts');
  const aborted = abortedError('connection refused', at(2), new Error('t'));
  assert.equal(aborted.unreachable, true);
  assert.equal(aborted.errorCode, 'DEADLINE_EXCEEDED');
  assert.equal(aborted.message, 'POST http://h:5000/api/2.0/mlflow/runs/create was abandoned: no answer in the time allowed after 2 attempts; last failure: connection refused');
});
