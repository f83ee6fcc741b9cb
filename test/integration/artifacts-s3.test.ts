// A stage's outputs into S3 (moto) behind a team's mlflow server on PostgreSQL (test/support/team-rig.ts),
// read back through the S3 API with boto3: proxied multipart (create, parts PUT to presigned
// URLs with a retry each, complete; abort when a part cannot go), and no upload left unfinished.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { runIdOf, tempProject } from '../support/project.ts';
import { inspectS3 } from '../support/s3.ts';
import { startTeamRig, type ArtifactMode, type TeamRig } from '../support/team-rig.ts';

const MIB = 1024 * 1024;
const OFFLINE = '.mlrun/offline/mlflow.db';
const KEPT = `kept in ${OFFLINE}; 'mlrun sync' delivers it later`;
// MLflow's multipart settings, small enough for a quick test: a 30 MiB file goes in 5 parts.
const MULTIPART = { MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: String(10 * MIB), MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: String(6 * MIB) };
const RETRIES = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.1' };

let rig: TeamRig;
before(async () => {
  rig = await startTeamRig({ faultyParts: true });
});
after(() => rig?.stop());

/** A project whose stage `train` declares `files` (name → bytes, random) as its outputs, already written. */
function stageProject(files: Record<string, number>): string {
  const project = tempProject('s3', {
    'dvc.yaml': `stages:\n  train:\n    cmd: mlrun -- true\n    outs: [${Object.keys(files).join(', ')}]\n`,
  });
  for (const [name, size] of Object.entries(files)) fs.writeFileSync(path.join(project, name), crypto.randomBytes(size));
  return project;
}

function runStage(project: string, mode: ArtifactMode, env: Record<string, string> = {}): Promise<MlrunResult> {
  return runMlrun(['--no-output-log', '--', 'sh', '-c', 'echo run=$MLFLOW_RUN_ID'], {
    cwd: project,
    env: { MLFLOW_TRACKING_URI: rig.servers[mode].server.uri, DVC_ROOT: project, DVC_STAGE: 'train', ...RETRIES, ...env },
  });
}

/** The bucket's key of a run's artifact; experiment 0, as these runs have no parent. */
function keyOf(mode: ArtifactMode, runId: string, artifactPath: string): string {
  return `${rig.servers[mode].keyPrefix}0/${runId}/artifacts/${artifactPath}`;
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The presigned part PUTs that reached the proxy in front of S3, each `<status>`. */
function partPuts(): string[] {
  return rig.s3Proxy!.log.filter((line) => line.startsWith('PUT ') && line.includes('partNumber=')).map((line) => line.split(' ').at(-1)!);
}

/** The object holds the file's bytes, came in `parts` parts, and no multipart upload is left unfinished. */
function assertStoredInParts(project: string, key: string, parts: number): void {
  const answer = inspectS3(rig.s3, { bucket: rig.bucket, prefix: key, sha256: [key], uploads: true });
  assert.equal(answer.objects![key]!.size, fs.statSync(path.join(project, 'model.bin')).size);
  assert.match(answer.objects![key]!.etag, new RegExp(`^[0-9a-f]{32}-${parts}$`));
  assert.equal(answer.sha256![key], sha256(path.join(project, 'model.bin')));
  assert.deepEqual(answer.uploads, []);
}

describe('proxied artifacts with S3 behind the server', () => {
  // The server stores a file it is sent whole with boto3's upload_file, itself multipart above 8 MiB.
  test('a file above the multipart threshold goes in parts of the chunk size, a smaller one in one PUT', async () => {
    const project = stageProject({ 'model.bin': 30 * MIB, 'small.bin': 4 * MIB });
    rig.s3Proxy!.log.length = 0;
    const result = await runStage(project, 'proxied', MULTIPART);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    const runId = runIdOf(result);
    assert.deepEqual(partPuts(), Array(5).fill('200'));
    assertStoredInParts(project, keyOf('proxied', runId, 'model.bin'), 5);
    const small = keyOf('proxied', runId, 'small.bin');
    const answer = inspectS3(rig.s3, { bucket: rig.bucket, prefix: small });
    assert.deepEqual(answer.objects, {
      [small]: { size: 4 * MIB, etag: crypto.createHash('md5').update(fs.readFileSync(path.join(project, 'small.bin'))).digest('hex') },
    });
  });

  test('a part whose connection is reset is sent again on its own; the upload completes', async () => {
    const project = stageProject({ 'model.bin': 30 * MIB });
    rig.s3Proxy!.log.length = 0;
    rig.s3Proxy!.fault = { kind: 'reset', afterBytes: MIB, times: 1 };
    const result = await runStage(project, 'proxied', MULTIPART);
    rig.s3Proxy!.fault = undefined;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    assert.deepEqual(partPuts().sort(), ['200', '200', '200', '200', '200', 'reset']);
    assertStoredInParts(project, keyOf('proxied', runIdOf(result), 'model.bin'), 5);
  });

  test('parts that cannot go: the upload is aborted, one line, exit 0, the file kept for sync, which completes it', async () => {
    const project = stageProject({ 'model.bin': 30 * MIB });
    rig.s3Proxy!.fault = { kind: 'reset', afterBytes: MIB };
    const result = await runStage(project, 'proxied', MULTIPART);
    rig.s3Proxy!.fault = undefined;
    assert.equal(result.code, 0, result.stderr);
    const id = runIdOf(result);
    const key = keyOf('proxied', id, 'model.bin');
    assert.equal(result.messages.length, 1, result.stderr);
    assert.match(
      result.messages[0]!,
      new RegExp(`^mlrun: cannot upload 'model\\.bin': PUT ${rig.s3Proxy!.uri}/${rig.bucket}/${key} failed: cannot reach the server \\(connection reset\\) after 3 attempts: ${escape(KEPT)}$`),
    );
    assert.deepEqual(inspectS3(rig.s3, { bucket: rig.bucket, prefix: key, uploads: true }), { objects: {}, uploads: [] });

    const synced = await runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: rig.servers.proxied.server.uri, ...MULTIPART } });
    assert.equal(synced.code, 0, synced.stderr);
    assertStoredInParts(project, key, 5);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
