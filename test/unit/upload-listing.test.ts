// The listing of an upload in .mlrun/uploads/ (artifacts/upload-listing.ts): there while the
// upload runs, gone after it whatever happened, and never a reason for the upload to fail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { uploadArtifacts } from '../../src/artifacts/upload.ts';
import { unchanged, uploadListings } from '../../src/artifacts/upload-listing.ts';
import { FAST_RETRIES, fakeServer } from '../support/fake-server.ts';

function project(): { root: string; files: { localPath: string; artifactPath: string }[] } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-listing-'));
  const files = ['a.txt', 'b.txt'].map((name) => {
    fs.writeFileSync(path.join(root, name), name);
    return { localPath: path.join(root, name), artifactPath: name };
  });
  return { root, files };
}

test('an upload to a server is listed while it runs, with its files as they were, and the listing goes when it ends', async () => {
  const { root, files } = project();
  const seenListings: ReturnType<typeof uploadListings>[] = [];
  const server = await fakeServer((_seen, _index, res) => {
    seenListings.push(uploadListings(root));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
  const place = { projectRoot: root, runId: 'r1', server: server.uri };
  const result = await uploadArtifacts({ artifactUri: 'mlflow-artifacts:/1/r1/artifacts', trackingUri: server.uri, env: FAST_RETRIES, files, concurrency: 1, listing: place });
  await server.close();
  assert.equal(result.uploaded, 2);
  const [listing] = seenListings[0]!;
  assert.equal(seenListings[0]!.length, 1);
  assert.deepEqual(
    { runId: listing!.runId, artifactUri: listing!.artifactUri, server: listing!.server, pid: listing!.owner.pid, files: listing!.files.map((file) => file.artifactPath), multipart: listing!.multipart },
    { runId: 'r1', artifactUri: 'mlflow-artifacts:/1/r1/artifacts', server: server.uri, pid: process.pid, files: ['a.txt', 'b.txt'], multipart: [] },
  );
  assert.ok(listing!.files.every(unchanged));
  fs.writeFileSync(files[0]!.localPath, 'written anew');
  assert.deepEqual(listing!.files.map(unchanged), [false, true]);
  assert.deepEqual(uploadListings(root), []);
});

test('a project where the listing cannot be written: the upload goes on, unlisted', async () => {
  const { root, files } = project();
  // `.mlrun` is a file: no folder can be made in it.
  fs.writeFileSync(path.join(root, '.mlrun'), 'not a folder\n');
  const server = await fakeServer((_seen, _index, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
  const result = await uploadArtifacts({
    artifactUri: 'mlflow-artifacts:/1/r1/artifacts', trackingUri: server.uri, env: FAST_RETRIES, files, listing: { projectRoot: root, runId: 'r1', server: server.uri },
  });
  await server.close();
  assert.deepEqual(result, { uploaded: 2, bytes: 10, failures: [], pending: [], pendingFailures: [] });
});

test('a copy into a local folder is not listed: nothing would be left to finish', async () => {
  const { root, files } = project();
  const result = await uploadArtifacts({ artifactUri: path.join(root, 'copies'), trackingUri: undefined, env: {}, files, listing: { projectRoot: root, runId: 'r1', server: 'sqlite:///mlflow.db' } });
  assert.equal(result.uploaded, 2);
  assert.equal(fs.existsSync(path.join(root, '.mlrun')), false);
});
