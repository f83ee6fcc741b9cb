// putFile against in-process servers: what reaches the server (length, credentials, the
// bytes of a range), retries that re-send the file and take back the progress they reported, and
// the errors the upload's store-wide logic reads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { putFile } from '../../src/artifacts/file-put.ts';
import { HttpClient } from '../../src/http/client.ts';
import { VERSION } from '../../src/version.ts';
import { rejection } from '../support/assertions.ts';
import { FAST_RETRIES as FAST, fakeServer } from '../support/fake-server.ts';
import { freePort } from '../support/ports.ts';


function fileOf(content: Buffer): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-put-')), 'data.bin');
  fs.writeFileSync(file, content);
  return file;
}

test('a file bigger than a chunk, retried after a 502: sent whole each time with its length, credentials and workspace; progress counts it once', async () => {
  const server = await fakeServer((_seen, index, res) => {
    res.writeHead(index === 0 ? 502 : 200, { ETag: '"e1"' });
    res.end();
  });
  const content = Buffer.alloc(2.5 * 1024 * 1024);
  for (let i = 0; i < content.length; i += 4) content.writeUInt32LE(i, i);
  const uploader = new HttpClient(`${server.uri}/prefix/`, { ...FAST, MLFLOW_TRACKING_TOKEN: 't', MLFLOW_WORKSPACE: 'team-a' });
  let progress = 0;
  const result = await putFile(uploader, {
    target: '/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a%20b.bin',
    localPath: fileOf(content),
    signal: undefined,
    onBytes: (delta) => { progress += delta; },
  });
  uploader.close();
  await server.close();
  assert.equal(result.bytes, content.length);
  assert.equal(result.headers.etag, '"e1"');
  assert.equal(progress, content.length);
  assert.equal(server.seen.length, 2);
  for (const seen of server.seen) {
    assert.equal(seen.url, '/prefix/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a%20b.bin');
    assert.equal(seen.headers['content-length'], String(content.length));
    assert.equal(seen.headers.authorization, 'Bearer t');
    assert.equal(seen.headers['x-mlflow-workspace'], 'team-a');
    assert.equal(seen.headers['user-agent'], `mlrun/${VERSION}`);
    assert.deepEqual(seen.body, content);
  }
});

test('a range to another origin (a presigned URL): only those bytes, its headers, no credentials', async () => {
  const storage = await fakeServer((_seen, _index, res) => { res.writeHead(200, { ETag: '"p2"' }); res.end(); });
  const uploader = new HttpClient(`http://127.0.0.1:${await freePort()}`, { MLFLOW_TRACKING_TOKEN: 'secret-token', MLFLOW_WORKSPACE: 'w' });
  const result = await putFile(uploader, {
    target: `${storage.uri}/bucket/key?X-Amz-Signature=abc`,
    localPath: fileOf(Buffer.from('0123456789')),
    range: { offset: 3, length: 4 },
    headers: { 'x-amz-meta': 'm' },
    signal: undefined,
    onBytes: () => undefined,
  });
  uploader.close();
  await storage.close();
  assert.equal(result.bytes, 4);
  assert.equal(result.headers.etag, '"p2"');
  const [seen] = storage.seen;
  assert.equal(seen!.url, '/bucket/key?X-Amz-Signature=abc');
  assert.equal(seen!.headers.authorization, undefined);
  assert.equal(seen!.headers['x-mlflow-workspace'], undefined);
  assert.equal(seen!.headers['x-amz-meta'], 'm');
  assert.equal(seen!.body.toString(), '3456');
});

test('a presigned part answered 429 or 503 with Retry-After waits as told, then is sent again whole, on a kept-alive connection', async () => {
  const storage = await fakeServer((_seen, index, res) => {
    if (index < 2) res.writeHead(index === 0 ? 429 : 503, { 'Retry-After': '1' });
    else res.writeHead(200, { ETag: '"p1"' });
    res.end();
  });
  const uploader = new HttpClient(`http://127.0.0.1:${await freePort()}`, { MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0', MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' });
  const started = Date.now();
  const result = await putFile(uploader, {
    target: `${storage.uri}/bucket/key?partNumber=1&X-Amz-Signature=abc`,
    localPath: fileOf(Buffer.from('0123456789')),
    range: { offset: 0, length: 6 },
    signal: undefined,
    onBytes: () => undefined,
  });
  const waited = Date.now() - started;
  uploader.close();
  await storage.close();
  assert.equal(result.headers.etag, '"p1"');
  assert.deepEqual(storage.seen.map((seen) => seen.body.toString()), ['012345', '012345', '012345']);
  assert.ok(waited >= 2000, `waited ${waited} ms for two Retry-After: 1`);
  assert.deepEqual(storage.seen.map((seen) => seen.headers.connection), ['keep-alive', 'keep-alive', 'keep-alive']);
});

test('an empty file is a PUT of zero bytes', async () => {
  const server = await fakeServer((_seen, _index, res) => { res.writeHead(200); res.end(); });
  const uploader = new HttpClient(server.uri, {});
  const result = await putFile(uploader, { target: '/up', localPath: fileOf(Buffer.alloc(0)), signal: undefined, onBytes: () => undefined });
  uploader.close();
  await server.close();
  assert.equal(result.bytes, 0);
  assert.equal(server.seen[0]!.headers['content-length'], '0');
});

test('refused credentials are a 401 TrackingError without the secret; a closed port is unreachable; a missing file fails before any request', async () => {
  const server = await fakeServer((_seen, _index, res) => { res.writeHead(401); res.end('no access for alice:hunter2-secret'); });
  const uploader = new HttpClient(server.uri, { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'hunter2-secret' });
  const file = fileOf(Buffer.from('x'));
  const refused = await rejection(putFile(uploader, { target: '/up', localPath: file, signal: undefined, onBytes: () => undefined }));
  assert.equal(refused.httpStatus, 401);
  assert.equal(refused.message, `PUT ${server.uri}/up failed with HTTP 401 UNAUTHENTICATED: Unauthorized, 'no access for ***'`);
  await assert.rejects(putFile(uploader, { target: '/up', localPath: `${file}.missing`, signal: undefined, onBytes: () => undefined }), { code: 'ENOENT' });
  uploader.close();
  await server.close();
  assert.equal(server.seen.length, 1);

  const port = await freePort();
  const closed = new HttpClient(`http://127.0.0.1:${port}`, { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
  const unreachable = await rejection(putFile(closed, { target: '/up', localPath: file, signal: undefined, onBytes: () => undefined }));
  closed.close();
  assert.equal(unreachable.unreachable, true);
  assert.equal(unreachable.message, `PUT http://127.0.0.1:${port}/up failed: cannot reach the server (connection refused)`);
});

test('a file that ends before its length is a body failure: not unreachable, not retried', async () => {
  const server = await fakeServer((_seen, _index, res) => { res.writeHead(200); res.end(); });
  const uploader = new HttpClient(server.uri, FAST);
  const error = await rejection(putFile(uploader, {
    target: '/up',
    localPath: fileOf(Buffer.from('0123456789')),
    range: { offset: 0, length: 20 },
    signal: undefined,
    onBytes: () => undefined,
  }));
  uploader.close();
  await server.close();
  assert.equal(error.unreachable, false);
  assert.equal(error.message, `PUT ${server.uri}/up failed: cannot read the body to send (the file ended 10 bytes early: it changed while being sent)`);
  assert.equal(server.seen.length, 0);
});

/** A server that reads `readBytes` of each request's body, then calls `act` and drops the rest. */
async function cuttingServer(readBytes: number, act: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ uri: string; requests: number; close(): Promise<void> }> {
  const state = { uri: '', requests: 0, close: async (): Promise<void> => undefined };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    let read = 0;
    let acted = false;
    req.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (!acted && read >= readBytes) {
        acted = true;
        act(req, res);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.uri = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return state;
}

// Several chunks, so that a write fails while the next chunk is being read: the case that once
// ended the process through an unhandled rejection (node:test fails a test that leaves one).
const BIG = Buffer.alloc(6 * 1024 * 1024, 7);

test('an answer before the whole body (413 from a proxy) ends the upload with that answer: one request, the size in the message', async () => {
  const server = await cuttingServer(1024 * 1024, (_req, res) => {
    res.writeHead(413, 'Request Entity Too Large', { 'Content-Type': 'text/html' });
    res.end('<html><head><title>413 Request Entity Too Large</title></head></html>');
  });
  const uploader = new HttpClient(server.uri, FAST);
  const error = await rejection(putFile(uploader, { target: '/up', localPath: fileOf(BIG), signal: undefined, onBytes: () => undefined }));
  uploader.close();
  await server.close();
  assert.equal(server.requests, 1);
  assert.equal(error.httpStatus, 413);
  assert.equal(error.message, `PUT ${server.uri}/up failed with HTTP 413 Request Entity Too Large: the server or a proxy in front of it refuses a body of 6.3 MB (6291456 bytes) as too large`);
});

test('a connection reset mid-body is a network failure, retried, then unreachable', async () => {
  const server = await cuttingServer(2 * 1024 * 1024, (req) => req.socket.resetAndDestroy());
  const uploader = new HttpClient(server.uri, { ...FAST, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2' });
  const error = await rejection(putFile(uploader, { target: '/up', localPath: fileOf(BIG), signal: undefined, onBytes: () => undefined }));
  uploader.close();
  await server.close();
  assert.equal(server.requests, 3);
  assert.equal(error.unreachable, true);
  assert.equal(error.message, `PUT ${server.uri}/up failed: cannot reach the server (connection reset) after 3 attempts`);
});
