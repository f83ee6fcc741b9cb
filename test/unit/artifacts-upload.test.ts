import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeProgress, progressLine, SHOW_AFTER_MS, type UploadProgress } from '../../src/artifacts/progress.ts';
import { uploadArtifacts } from '../../src/artifacts/upload.ts';
import { FAST_RETRIES, fakeServer } from '../support/fake-server.ts';
import { freePort } from '../support/ports.ts';

function fakeStream(isTTY: boolean, columns = 200): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY, columns, text: '', write(chunk: string) { stream.text += chunk; return true; } };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

const HALF: UploadProgress = { filesDone: 1, filesTotal: 2, bytesDone: 1_500_000, bytesTotal: 3_000_000 };
const DONE: UploadProgress = { filesDone: 2, filesTotal: 2, bytesDone: 3_000_000, bytesTotal: 3_000_000 };

test('not a TTY: nothing at all is written', () => {
  const stream = fakeStream(false);
  const line = progressLine(stream);
  line.update(HALF);
  line.update(DONE);
  line.end();
  assert.equal(stream.text, '');
});

test('a TTY: nothing for the first second; then one line redrawn with \\r, at most every 100 ms but always the last state, then erased', () => {
  const stream = fakeStream(true);
  let now = 1000;
  const line = progressLine(stream, () => now);
  now += 999;
  line.update({ ...HALF, filesDone: 0, bytesDone: 10 }); // the upload is younger than a second
  now += 1;
  line.update({ ...HALF, filesDone: 0, bytesDone: 0 });
  now += 50;
  line.update({ ...HALF, bytesDone: 10 }); // too soon: skipped
  now += 950;
  line.update(HALF);
  line.update(DONE);
  line.end();
  assert.equal(
    stream.text,
    '\rmlrun: uploading artifacts 0/2 files, 0 B of 3.0 MB, 0 B/s\x1b[K' +
      '\rmlrun: uploading artifacts 1/2 files, 1.5 MB of 3.0 MB, 750.0 KB/s\x1b[K' +
      '\rmlrun: uploading artifacts 2/2 files, 3.0 MB of 3.0 MB, 1.5 MB/s\x1b[K' +
      '\r\x1b[K',
  );
});

test('a TTY: an upload over within a second draws nothing, not even its final state, and erases nothing', () => {
  const stream = fakeStream(true);
  let now = 0;
  const line = progressLine(stream, () => now);
  for (const progress of [{ ...HALF, filesDone: 0, bytesDone: 0 }, HALF, DONE]) {
    now += 300;
    line.update(progress);
  }
  line.end();
  assert.equal(stream.text, '');
});

test('a narrow terminal gets the line cut, never wrapped', () => {
  const stream = fakeStream(true, 30);
  let now = 0;
  const line = progressLine(stream, () => now);
  now = SHOW_AFTER_MS;
  line.update(DONE);
  assert.equal(stream.text, `\r${describeProgress(DONE, SHOW_AFTER_MS).slice(0, 29)}\x1b[K`);
});

test('a cloud store mlrun does not write to: one line for all files, nothing read', async () => {
  const result = await uploadArtifacts({
    artifactUri: 'gs://bucket/1/abc/artifacts',
    trackingUri: 'http://127.0.0.1:1',
    env: {},
    files: [{ localPath: '/nonexistent/a', artifactPath: 'a' }, { localPath: '/nonexistent/b', artifactPath: 'b' }],
  });
  assert.deepEqual(result, {
    uploaded: 0,
    bytes: 0,
    failures: [
      "the run's artifact location gs://bucket/1/abc/artifacts is in Google Cloud Storage, which mlrun does not write to yet; let the MLflow server proxy artifacts instead (mlflow server --artifacts-destination gs://…): 2 files not uploaded",
    ],
    pending: [],
    pendingFailures: [],
  });
});

test('no files: nothing to do, whatever the location', async () => {
  assert.deepEqual(await uploadArtifacts({ artifactUri: 's3://b/x', trackingUri: undefined, env: {}, files: [] }), { uploaded: 0, bytes: 0, failures: [], pending: [], pendingFailures: [] });
});

test('a bad MLflow client setting is one line and nothing is sent', async () => {
  const result = await uploadArtifacts({
    artifactUri: 'mlflow-artifacts:/1/abc/artifacts',
    trackingUri: 'http://127.0.0.1:1',
    env: { MLFLOW_TRACKING_INSECURE_TLS: 'maybe' },
    files: [{ localPath: '/nonexistent/a', artifactPath: 'a' }],
  });
  assert.deepEqual(result.failures, [
    'cannot upload artifacts: MLFLOW_TRACKING_INSECURE_TLS=maybe is not a boolean: use true, false, 1 or 0: 1 file not uploaded',
  ]);
});

test('local folder: a failing file is reported and the others still copied; no path climbs out', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-upload-'));
  const source = path.join(dir, 'src.txt');
  fs.writeFileSync(source, 'payload');
  const dest = path.join(dir, 'artifacts');
  const seen: UploadProgress[] = [];
  const result = await uploadArtifacts({
    artifactUri: dest,
    trackingUri: undefined,
    env: {},
    files: [
      { localPath: path.join(dir, 'missing.txt'), artifactPath: 'missing.txt' },
      { localPath: source, artifactPath: '../escaped.txt' },
      { localPath: source, artifactPath: 'ok/src.txt' },
    ],
    onProgress: (progress) => seen.push(progress),
  });
  assert.equal(result.uploaded, 1);
  assert.equal(result.bytes, 7);
  assert.equal(result.failures.length, 2);
  assert.match(result.failures[0]!, /^cannot upload 'missing\.txt': ENOENT/);
  assert.equal(result.failures[1], "cannot upload '../escaped.txt': not a relative /-separated path inside the run");
  assert.equal(fs.readFileSync(path.join(dest, 'ok/src.txt'), 'utf8'), 'payload');
  assert.ok(!fs.existsSync(path.join(dir, 'escaped.txt')));
  assert.deepEqual(seen.at(-1), { filesDone: 3, filesTotal: 3, bytesDone: 7, bytesTotal: 14 });
});

test('an aborted upload starts no more files and says how many were left', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-upload-'));
  const source = path.join(dir, 'src.txt');
  fs.writeFileSync(source, 'x');
  const result = await uploadArtifacts({
    artifactUri: path.join(dir, 'artifacts'),
    trackingUri: undefined,
    env: {},
    files: [1, 2, 3].map((n) => ({ localPath: source, artifactPath: `f${n}.txt` })),
    signal: AbortSignal.abort(),
  });
  const files = [1, 2, 3].map((n) => ({ localPath: source, artifactPath: `f${n}.txt` }));
  // Not started, so worth sending elsewhere (the offline record, when the server is gone).
  assert.deepEqual(result, { uploaded: 0, bytes: 0, failures: [], pending: files, pendingFailures: ['upload abandoned: 3 more files not started'] });
});

test('a store-wide failure (nothing listening) stops new files: the ones in flight are reported, the rest counted', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-upload-'));
  const source = path.join(dir, 'src.txt');
  fs.writeFileSync(source, 'x');
  const port = await freePort();
  const result = await uploadArtifacts({
    artifactUri: 'mlflow-artifacts:/1/abc/artifacts',
    trackingUri: `http://127.0.0.1:${port}`,
    env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' },
    files: [1, 2, 3, 4, 5].map((n) => ({ localPath: source, artifactPath: `f${n}.txt` })),
    concurrency: 2,
  });
  assert.equal(result.uploaded, 0);
  assert.deepEqual(result.failures, []);
  // Worth keeping for later, all five: the store failed, not the files.
  assert.deepEqual(result.pending.map((file) => file.artifactPath), ['f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt']);
  assert.deepEqual(result.pendingFailures, [
    `cannot upload 'f1.txt': PUT http://127.0.0.1:${port}/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/f1.txt failed: cannot reach the server (connection refused)`,
    `cannot upload 'f2.txt': PUT http://127.0.0.1:${port}/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/f2.txt failed: cannot reach the server (connection refused)`,
    'the artifact store failed as a whole (above): 3 more files not started',
  ]);
});

test('local folder: a second upload replaces every file, small (copied in place) and big (staged), leaving no staging file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-upload-'));
  const dest = path.join(dir, 'artifacts');
  const small = path.join(dir, 'small.txt');
  const big = path.join(dir, 'big.bin');
  const files = [
    { localPath: small, artifactPath: 'out/small.txt' },
    { localPath: big, artifactPath: 'out/big.bin' },
  ];
  for (const content of ['a', 'b']) {
    fs.writeFileSync(small, content);
    fs.writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, content));
    const result = await uploadArtifacts({ artifactUri: dest, trackingUri: undefined, env: {}, files });
    assert.deepEqual(result, { uploaded: 2, bytes: 1 + 2 * 1024 * 1024, failures: [], pending: [], pendingFailures: [] });
    assert.equal(fs.readFileSync(path.join(dest, 'out/small.txt'), 'utf8'), content);
    assert.deepEqual(fs.readFileSync(path.join(dest, 'out/big.bin')), fs.readFileSync(big));
  }
  assert.deepEqual(fs.readdirSync(path.join(dest, 'out')).sort(), ['big.bin', 'small.txt']);
});

test('a file refused for its size (413) or a server failure is pending, one refused for good is not; the others still go', async () => {
  const server = await fakeServer((seen, _index, res) => {
    const status = seen.url.endsWith('/big.bin') ? 413 : seen.url.endsWith('/bad.txt') ? 400 : seen.url.endsWith('/flaky.txt') ? 500 : 200;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(status === 400 ? JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: 'no' }) : '{}');
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-upload-'));
  const files = ['bad.txt', 'big.bin', 'flaky.txt', 'ok.txt'].map((name) => {
    fs.writeFileSync(path.join(dir, name), name);
    return { localPath: path.join(dir, name), artifactPath: name };
  });
  const result = await uploadArtifacts({
    artifactUri: 'mlflow-artifacts:/1/abc/artifacts',
    trackingUri: server.uri,
    env: { ...FAST_RETRIES, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1' },
    files,
  });
  await server.close();
  const put = (name: string) => `PUT ${server.uri}/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/${name}`;
  assert.deepEqual(result, {
    uploaded: 1,
    bytes: 6,
    failures: [`cannot upload 'bad.txt': ${put('bad.txt')} failed with HTTP 400 INVALID_PARAMETER_VALUE: no`],
    pending: [files[1], files[2]],
    pendingFailures: [
      `cannot upload 'big.bin': ${put('big.bin')} failed with HTTP 413 Payload Too Large: the server or a proxy in front of it refuses a body of 7 bytes as too large`,
      `cannot upload 'flaky.txt': ${put('flaky.txt')} failed with HTTP 500 INTERNAL_ERROR after 2 attempts: Internal Server Error, '{}'`,
    ],
  });
  // 413 is not retried; 500 is, once here.
  assert.deepEqual(server.seen.map((seen) => seen.url.split('/').at(-1)).sort(), ['bad.txt', 'big.bin', 'flaky.txt', 'flaky.txt', 'ok.txt']);
});
