// The multipart protocol against an in-process fake of the server and a presigning store: a real
// MLflow server only offers multipart with S3/GCS/Azure behind it (see the integration test for
// its 501 fallback).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ArtifactHttp } from '../../src/artifacts/http-client.ts';
import { uploadOverHttp, type MultipartSettings } from '../../src/artifacts/http-upload.ts';
import { partLayout } from '../../src/artifacts/multipart.ts';
import { TrackingError } from '../../src/tracking/errors.ts';

const RUN = '1/abc/artifacts';

interface Call {
  method: 'POST' | 'PUT';
  target: string;
  body?: unknown;
  bytes?: Buffer;
  headers?: Record<string, string>;
}

function fakeServer(options: { createFails?: TrackingError; failPart?: number } = {}): { http: ArtifactHttp; calls: Call[] } {
  const calls: Call[] = [];
  const http: ArtifactHttp = {
    async post(endpoint, body) {
      calls.push({ method: 'POST', target: endpoint, body });
      if (endpoint.includes('/mpu/create/')) {
        if (options.createFails) throw options.createFails;
        const parts = (body as { num_parts: number }).num_parts;
        return {
          upload_id: 'up-1',
          credentials: Array.from({ length: parts }, (_, i) => ({
            url: `https://bucket.example/big.bin?partNumber=${i + 1}`,
            part_number: i + 1,
            headers: { 'x-part': String(i + 1) },
          })),
        };
      }
      return {};
    },
    async putFile({ target, localPath, range, headers: extraHeaders, onBytes }) {
      const whole = fs.readFileSync(localPath);
      const bytes = range ? whole.subarray(range.offset, range.offset + range.length) : whole;
      onBytes(bytes.length);
      calls.push({ method: 'PUT', target, bytes, headers: extraHeaders ?? {} });
      const part = /partNumber=(\d+)/.exec(target)?.[1];
      if (part && Number(part) === options.failPart) {
        throw new TrackingError('PUT https://bucket.example/big.bin failed with HTTP 403', 'PERMISSION_DENIED', { httpStatus: 403 });
      }
      const headers: Record<string, string> = part ? { etag: `"etag-${part}"` } : {};
      return { bytes: bytes.length, headers };
    },
  };
  return { http, calls };
}

function bigFile(size: number): { localPath: string; content: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-mpu-'));
  const content = crypto.randomBytes(size);
  const localPath = path.join(dir, 'big.bin');
  fs.writeFileSync(localPath, content);
  return { localPath, content };
}

const SETTINGS: MultipartSettings = { enabled: true, minimumSize: 1000, chunkSize: 1000 };

test('a big file goes in parts to the presigned URLs, then complete lists every part with its ETag', async () => {
  const { localPath, content } = bigFile(2500);
  const { http, calls } = fakeServer();
  let sent = 0;
  await uploadOverHttp({
    http, runPath: RUN, multipart: SETTINGS, size: 2500, signal: undefined,
    file: { localPath, artifactPath: 'models/big.bin' },
    onBytes: (delta) => { sent += delta; },
  });
  assert.equal(sent, 2500);
  assert.deepEqual(calls[0], { method: 'POST', target: `/api/2.0/mlflow-artifacts/mpu/create/${RUN}/models`, body: { path: 'big.bin', num_parts: 3 } });
  const puts = calls.filter((call) => call.method === 'PUT').sort((a, b) => a.target.localeCompare(b.target));
  assert.deepEqual(puts.map((put) => put.target), [1, 2, 3].map((n) => `https://bucket.example/big.bin?partNumber=${n}`));
  assert.deepEqual(puts.map((put) => put.headers), [1, 2, 3].map((n) => ({ 'x-part': String(n) })));
  assert.deepEqual(Buffer.concat(puts.map((put) => put.bytes!)), content);
  assert.deepEqual(calls.at(-1), {
    method: 'POST',
    target: `/api/2.0/mlflow-artifacts/mpu/complete/${RUN}/models`,
    body: {
      path: 'big.bin',
      upload_id: 'up-1',
      parts: [1, 2, 3].map((n) => ({ part_number: n, etag: `"etag-${n}"`, url: `https://bucket.example/big.bin?partNumber=${n}` })),
    },
  });
});

test('a failed part aborts the upload and the error reaches the caller; no fallback PUT', async () => {
  const { localPath } = bigFile(2500);
  const { http, calls } = fakeServer({ failPart: 2 });
  await assert.rejects(
    uploadOverHttp({ http, runPath: RUN, multipart: SETTINGS, size: 2500, signal: undefined, file: { localPath, artifactPath: 'big.bin' }, onBytes: () => undefined }),
    /HTTP 403/,
  );
  assert.deepEqual(calls.at(-1), { method: 'POST', target: `/api/2.0/mlflow-artifacts/mpu/abort/${RUN}`, body: { path: 'big.bin', upload_id: 'up-1' } });
  assert.ok(!calls.some((call) => call.target.includes('/mlflow-artifacts/artifacts/')));
});

for (const [what, error] of [
  ['501 NOT_IMPLEMENTED', new TrackingError('Multipart upload is not supported', 'NOT_IMPLEMENTED', { httpStatus: 501 })],
  ['a 404 page (a server older than multipart)', new TrackingError('not found', 'ENDPOINT_NOT_FOUND', { httpStatus: 404 })],
] as const) {
  test(`create answered ${what}: one streamed PUT of the whole file instead`, async () => {
    const { localPath, content } = bigFile(2500);
    const { http, calls } = fakeServer({ createFails: error });
    await uploadOverHttp({ http, runPath: RUN, multipart: SETTINGS, size: 2500, signal: undefined, file: { localPath, artifactPath: 'a b/big.bin' }, onBytes: () => undefined });
    assert.equal(calls.length, 2);
    assert.equal(calls[1]!.target, `/api/2.0/mlflow-artifacts/artifacts/${RUN}/a%20b/big.bin`);
    assert.deepEqual(calls[1]!.bytes, content);
  });
}

test('any other create failure is the file\'s failure', async () => {
  const { localPath } = bigFile(2500);
  const { http, calls } = fakeServer({ createFails: new TrackingError('denied', 'PERMISSION_DENIED', { httpStatus: 403 }) });
  await assert.rejects(
    uploadOverHttp({ http, runPath: RUN, multipart: SETTINGS, size: 2500, signal: undefined, file: { localPath, artifactPath: 'big.bin' }, onBytes: () => undefined }),
    /denied/,
  );
  assert.equal(calls.length, 1);
});

test('below the threshold, or with multipart switched off, a single PUT', async () => {
  const { localPath } = bigFile(2500);
  for (const multipart of [{ ...SETTINGS, minimumSize: 2501 }, { ...SETTINGS, enabled: false }]) {
    const { http, calls } = fakeServer();
    await uploadOverHttp({ http, runPath: RUN, multipart, size: 2500, signal: undefined, file: { localPath, artifactPath: 'big.bin' }, onBytes: () => undefined });
    assert.deepEqual(calls.map((call) => `${call.method} ${call.target}`), [`PUT /api/2.0/mlflow-artifacts/artifacts/${RUN}/big.bin`]);
  }
});

test('more parts than S3 allows: the chunk grows to fit 10,000 parts', () => {
  assert.deepEqual(partLayout(25 * 1024 * 1024, 10 * 1024 * 1024), { chunkSize: 10 * 1024 * 1024, parts: 3 });
  assert.deepEqual(partLayout(20_001, 1), { chunkSize: 3, parts: 6667 });
  assert.deepEqual(partLayout(200 * 1024 ** 3, 10 * 1024 * 1024), { chunkSize: 21474837, parts: 10_000 });
});
