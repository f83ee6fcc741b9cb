// The HTTP client against in-process servers that play the parts a real MLflow server cannot:
// a proxy answering HTML 502s, a port that accepts and never answers, a closed port, TLS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RestClient } from '../../src/tracking/rest/client.ts';
import { VERSION } from '../../src/version.ts';
import { freePort } from '../support/ports.ts';
import { rejection } from '../support/assertions.ts';
import { FAST_RETRIES as FAST, fakeServer } from '../support/fake-server.ts';

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const badGateway = (res: http.ServerResponse) => {
  res.writeHead(502, { 'Content-Type': 'text/html' });
  res.end('<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n');
};


const clients: RestClient[] = [];
const client = (uri: string, env: NodeJS.ProcessEnv = {}) => {
  const made = new RestClient(uri, { HOME: '/nonexistent', ...env });
  clients.push(made);
  return made;
};
after(() => clients.forEach((c) => c.close()));


test('GET sends fields as query parameters, POST sends JSON; headers are MLflow\'s', async () => {
  const server = await fakeServer((_seen, _i, res) => json(res, 200, { ok: true }));
  const rest = client(`${server.uri}/prefix/`, { MLFLOW_TRACKING_TOKEN: 'tok-123', MLFLOW_WORKSPACE: 'team-a' });
  assert.deepEqual(await rest.get('/api/2.0/mlflow/experiments/get-by-name', { experiment_name: 'a b&c', ids: ['1', '2'], none: undefined }), { ok: true });
  assert.deepEqual(await rest.post('/api/2.0/mlflow/runs/update', { run_id: 'r', end_time: 5 }), { ok: true });
  await server.close();
  const [get, post] = server.seen;
  assert.equal(get!.method, 'GET');
  assert.equal(get!.url, '/prefix/api/2.0/mlflow/experiments/get-by-name?experiment_name=a+b%26c&ids=1&ids=2');
  assert.equal(get!.headers.authorization, 'Bearer tok-123');
  assert.equal(get!.headers['x-mlflow-workspace'], 'team-a');
  assert.equal(get!.headers['user-agent'], `mlrun/${VERSION}`);
  assert.equal(post!.method, 'POST');
  assert.equal(post!.url, '/prefix/api/2.0/mlflow/runs/update');
  assert.equal(post!.headers['content-type'], 'application/json');
  assert.equal(post!.headers.authorization, 'Bearer tok-123');
  assert.equal(post!.body.toString(), '{"run_id":"r","end_time":5}');
});

test('Basic wins over a token, as in MLflow\'s code; URI userinfo is sent as Basic, not in the URL', async () => {
  const server = await fakeServer((_seen, _i, res) => json(res, 200, {}));
  await client(server.uri, { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'pw', MLFLOW_TRACKING_TOKEN: 'tok' }).get('/x', {});
  const withUserinfo = server.uri.replace('http://', 'http://bob:p%40ss@');
  const rest = client(withUserinfo);
  await rest.get('/x', {});
  await server.close();
  assert.equal(server.seen[0]!.headers.authorization, `Basic ${Buffer.from('alice:pw').toString('base64')}`);
  assert.equal(server.seen[1]!.headers.authorization, `Basic ${Buffer.from('bob:p@ss').toString('base64')}`);
  assert.equal(rest.displayUri, server.uri.replace('http://', 'http://***@'));
  assert.equal(rest.baseUrl, server.uri);
});

test('three HTML 502s, then an answer: the call succeeds after retries', async () => {
  const server = await fakeServer((_seen, index, res) => (index < 3 ? badGateway(res) : json(res, 200, { run: { info: { run_id: 'abc' } } })));
  const started = performance.now();
  const answer = await client(server.uri, FAST).post('/api/2.0/mlflow/runs/create', { experiment_id: '0' });
  const elapsed = performance.now() - started;
  await server.close();
  assert.deepEqual(answer, { run: { info: { run_id: 'abc' } } });
  assert.equal(server.seen.length, 4);
  assert.deepEqual(server.seen.map((s) => s.body.toString()), Array(4).fill('{"experiment_id":"0"}'));
  // backoff 0 + 0.1 + 0.2 s
  assert.ok(elapsed >= 280 && elapsed < 3000, `took ${elapsed} ms`);
});

test('always HTML 502: a one-line TrackingError coded from the status, after every retry', async () => {
  const server = await fakeServer((_seen, _i, res) => badGateway(res));
  const error = await rejection(client(server.uri, { ...FAST, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2' }).get('/api/2.0/mlflow/runs/get', { run_id: 'r' }));
  await server.close();
  assert.equal(server.seen.length, 3);
  assert.equal(error.errorCode, 'INTERNAL_ERROR');
  assert.equal(error.httpStatus, 502);
  assert.equal(error.unreachable, true);
  assert.equal(error.message, `GET ${server.uri}/api/2.0/mlflow/runs/get failed with HTTP 502 INTERNAL_ERROR after 3 attempts: Bad Gateway, '502 Bad Gateway'`);
  assert.equal(error.message.includes('\n'), false);
});

test('4xx answers are not retried', async () => {
  const server = await fakeServer((_seen, _i, res) => json(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Run with id=r not found' }));
  const error = await rejection(client(server.uri, FAST).get('/api/2.0/mlflow/runs/get', { run_id: 'r' }));
  await server.close();
  assert.equal(server.seen.length, 1);
  assert.equal(error.errorCode, 'RESOURCE_DOES_NOT_EXIST');
  assert.equal(error.httpStatus, 404);
  assert.equal(error.unreachable, false);
});

test('Retry-After is honoured on a 429', async () => {
  const server = await fakeServer((_seen, index, res) => (index === 0 ? json(res, 429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }, { 'Retry-After': '1' }) : json(res, 200, {})));
  const started = performance.now();
  await client(server.uri, FAST).post('/x', {});
  const elapsed = performance.now() - started;
  await server.close();
  assert.equal(server.seen.length, 2);
  assert.ok(elapsed >= 950, `waited only ${elapsed} ms`);
});

test('a closed port with retries off: unreachable at once', async () => {
  const port = await freePort();
  const started = performance.now();
  const error = await rejection(client(`http://127.0.0.1:${port}`, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' }).get('/api/2.0/mlflow/experiments/get', { experiment_id: '0' }));
  assert.ok(performance.now() - started < 1000);
  assert.equal(error.unreachable, true);
  assert.equal(error.httpStatus, undefined);
  assert.equal(error.message, `GET http://127.0.0.1:${port}/api/2.0/mlflow/experiments/get failed: cannot reach the server (connection refused)`);
});

test('a closed port with default retries: the signal ends the call and its backoff in time', async () => {
  const port = await freePort();
  const started = performance.now();
  const error = await rejection(client(`http://127.0.0.1:${port}`).post('/api/2.0/mlflow/runs/create', {}, AbortSignal.timeout(1000)));
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 950 && elapsed < 1500, `took ${elapsed} ms`);
  assert.equal(error.unreachable, true);
  assert.equal(error.errorCode, 'DEADLINE_EXCEEDED');
  // first try + the immediate first retry, then the 4 s backoff the signal cut short
  assert.equal(error.message, `POST http://127.0.0.1:${port}/api/2.0/mlflow/runs/create was abandoned: no answer in the time allowed after 2 attempts; last failure: connection refused`);
});

test('a port that accepts and never answers: the signal ends the call in time', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  const started = performance.now();
  const error = await rejection(client(`http://127.0.0.1:${port}`).get('/api/2.0/mlflow/runs/get', { run_id: 'r' }, AbortSignal.timeout(1000)));
  const elapsed = performance.now() - started;
  sockets.forEach((s) => s.destroy());
  silent.close();
  assert.ok(elapsed >= 950 && elapsed < 1500, `took ${elapsed} ms`);
  assert.equal(sockets.length, 1);
  assert.equal(error.unreachable, true);
  assert.equal(error.message, `GET http://127.0.0.1:${port}/api/2.0/mlflow/runs/get was abandoned: no answer in the time allowed`);
});

test('MLFLOW_HTTP_REQUEST_TIMEOUT bounds each attempt and a timeout is retried', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  const env = { ...FAST, MLFLOW_HTTP_REQUEST_TIMEOUT: '0.3', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1' };
  const error = await rejection(client(`http://127.0.0.1:${port}`, env).get('/x', {}));
  sockets.forEach((s) => s.destroy());
  silent.close();
  assert.equal(sockets.length, 2);
  assert.equal(error.unreachable, true);
  assert.match(error.message, /failed: cannot reach the server \(timed out waiting for the server \(MLFLOW_HTTP_REQUEST_TIMEOUT\)\) after 2 attempts$/);
});

test('an already aborted signal sends nothing', async () => {
  const server = await fakeServer((_seen, _i, res) => json(res, 200, {}));
  const error = await rejection(client(server.uri).get('/x', {}, AbortSignal.abort()));
  await server.close();
  assert.equal(server.seen.length, 0);
  assert.equal(error.unreachable, true);
});

test('credentials never appear in a message, even when the server echoes them', async () => {
  const server = await fakeServer((seen, _i, res) => { res.writeHead(401); res.end(`bad credentials ${seen.headers.authorization} for alice:hunter2-secret`); });
  const error = await rejection(client(server.uri, { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'hunter2-secret' }).get('/x', {}));
  await server.close();
  assert.equal(error.httpStatus, 401);
  assert.equal(error.errorCode, 'UNAUTHENTICATED');
  assert.equal(error.message, `GET ${server.uri}/x failed with HTTP 401 UNAUTHENTICATED: Unauthorized, 'bad credentials Basic *** for ***'`);
});

test('a tracking URI that is not http(s) is refused', () => {
  assert.throws(() => new RestClient('sqlite:///mlflow.db', {}), { name: 'TrackingError', message: 'not an http(s) tracking URI: sqlite:///mlflow.db' });
});

describe('TLS', () => {
  let dir: string;
  let server: https.Server;
  let uri: string;
  let requests = 0;
  before(async () => {
    // A self-signed certificate for 127.0.0.1, made on the spot.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
      requests += 1;
      json(res, 200, { ok: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    uri = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('an unknown certificate fails at once, unreachable, naming the settings', async () => {
    const error = await rejection(client(uri, FAST).get('/x', {}));
    assert.equal(error.unreachable, true);
    assert.equal(requests, 0);
    assert.equal(error.message, `GET ${uri}/x failed: cannot reach the server (TLS: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT); see MLFLOW_TRACKING_SERVER_CERT_PATH or MLFLOW_TRACKING_INSECURE_TLS)`);
  });

  test('MLFLOW_TRACKING_SERVER_CERT_PATH trusts it, MLFLOW_TRACKING_INSECURE_TLS skips the check', async () => {
    assert.deepEqual(await client(uri, { MLFLOW_TRACKING_SERVER_CERT_PATH: path.join(dir, 'cert.pem') }).get('/x', {}), { ok: true });
    assert.deepEqual(await client(uri, { MLFLOW_TRACKING_INSECURE_TLS: 'true' }).get('/x', {}), { ok: true });
    assert.equal(requests, 2);
  });
});
