// A stage's outputs into S3 (moto) behind a team's mlflow server on PostgreSQL (test/support/team-rig.ts),
// read back through the S3 API with boto3. Proxied: multipart (create, parts PUT to presigned URLs
// with a retry each, complete; abort when a part cannot go). Direct: mlrun writes to the bucket
// itself with the AWS SDK, a missing bucket is one line and the files wait for `mlrun sync`, and no
// credential is in anything mlrun prints or stores. Never an unfinished upload left behind.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertNoSecrets, filesUnder } from '../support/assertions.ts';
import { runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { runIdOf, tempProject } from '../support/project.ts';
import { inspectMlflow } from '../support/python.ts';
import { createParentRun } from '../support/python-setup.ts';
import { inspectS3 } from '../support/s3.ts';
import { startTeamRig, type ArtifactMode, type TeamRig } from '../support/team-rig.ts';

const MIB = 1024 * 1024;
const OFFLINE = '.mlrun/offline/mlflow.db';
const KEPT = `kept in ${OFFLINE}; 'mlrun sync' delivers it later`;
// MLflow's multipart settings, small enough for a quick test: a 30 MiB file goes in 5 parts.
const MULTIPART = { MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: String(10 * MIB), MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: String(6 * MIB) };
const RETRIES = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.1' };

let rig: TeamRig;
/** Removed at the end: each holds tens of MiB. */
const projects: string[] = [];
before(async () => {
  rig = await startTeamRig({ faultyParts: true });
});
after(async () => {
  await rig?.stop();
  for (const project of projects) fs.rmSync(project, { recursive: true, force: true });
});

/** A project whose stage `train` declares `files` (name → bytes, random) as its outputs, already written. */
function stageProject(files: Record<string, number>): string {
  const project = tempProject('s3', {
    'dvc.yaml': `stages:\n  train:\n    cmd: mlrun -- true\n    outs: [${Object.keys(files).join(', ')}]\n`,
  });
  for (const [name, size] of Object.entries(files)) fs.writeFileSync(path.join(project, name), crypto.randomBytes(size));
  projects.push(project);
  return project;
}

/** Direct mode's client writes to S3 itself: it gets the store's endpoint and credentials. */
function clientEnv(mode: ArtifactMode): Record<string, string> {
  return { MLFLOW_TRACKING_URI: rig.servers[mode].server.uri, ...(mode === 'direct' ? rig.s3.env : {}) };
}

function runStage(project: string, mode: ArtifactMode, env: Record<string, string> = {}, args: string[] = []): Promise<MlrunResult> {
  return runMlrun([...args, '--no-output-log', '--', 'sh', '-c', 'echo run=$MLFLOW_RUN_ID'], {
    cwd: project,
    env: { ...clientEnv(mode), DVC_ROOT: project, DVC_STAGE: 'train', ...RETRIES, ...env },
  });
}

/** The bucket's key of a run's artifact; experiment 0, as these runs have no parent. */
function keyOf(mode: ArtifactMode, runId: string, artifactPath: string): string {
  return `${rig.servers[mode].keyPrefix}0/${runId}/artifacts/${artifactPath}`;
}

function md5(file: string): string {
  return crypto.createHash('md5').update(fs.readFileSync(file)).digest('hex');
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
      [small]: { size: 4 * MIB, etag: md5(path.join(project, 'small.bin')) },
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

describe('direct S3: the run\'s artifact location is s3://…', () => {
  test('mlrun writes the files into the bucket itself: a small one in one PUT, one from 8 MiB in 8 MiB parts; MLflow reads them back', async () => {
    const project = stageProject({ 'model.bin': 20 * MIB, 'small.bin': 3000 });
    const result = await runStage(project, 'direct');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    const runId = runIdOf(result);
    assertStoredInParts(project, keyOf('direct', runId, 'model.bin'), 3);
    const small = keyOf('direct', runId, 'small.bin');
    assert.deepEqual(inspectS3(rig.s3, { bucket: rig.bucket, prefix: small }).objects, { [small]: { size: 3000, etag: md5(path.join(project, 'small.bin')) } });
    // MLflow's own client finds them where it looks: the run's artifact_uri, through boto3.
    const [run] = inspectMlflow(rig.servers.direct.server.uri, { runIds: [runId], withArtifactDigests: true }, rig.s3.env).runs;
    assert.equal(run!.info.artifact_uri, `${rig.servers.direct.artifactRoot}/0/${runId}/artifacts`);
    assert.deepEqual(run!.artifact_sha256, { 'model.bin': sha256(path.join(project, 'model.bin')), 'small.bin': sha256(path.join(project, 'small.bin')) });
  });

  test('a missing bucket: one line, exit 0, the file kept for sync, which delivers it once the bucket exists; no credential anywhere', async () => {
    const bucket = 'mlrun-not-yet';
    const parent = createParentRun(rig.servers.direct.server.uri, 'missing-bucket', `s3://${bucket}/runs`);
    const project = stageProject({ 'model.bin': 20 * MIB });
    const result = await runStage(project, 'direct', { MLRUN_PARENT_RUN_ID: parent.runId }, ['--verbose']);
    assert.equal(result.code, 0, result.stderr);
    const runId = runIdOf(result);
    const key = `runs/${runId}/artifacts/model.bin`;
    const failed = `mlrun: cannot upload 'model.bin': S3 upload to s3://${bucket}/${key} at ${rig.s3.endpoint} failed: NoSuchBucket: The specified bucket does not exist: ${KEPT}`;
    assert.deepEqual(result.messages.filter((line) => line.startsWith('mlrun: cannot')), [failed]);
    assert.equal(result.stderr.split('\n').filter((line) => line && !line.startsWith('mlrun:')).length, 0, result.stderr);

    inspectS3(rig.s3, { bucket, create: true });
    const synced = await runMlrun(['sync', '--verbose'], { cwd: project, env: clientEnv('direct') });
    assert.equal(synced.code, 0, synced.stderr);
    const answer = inspectS3(rig.s3, { bucket, prefix: 'runs/', sha256: [key], uploads: true });
    assert.deepEqual(Object.keys(answer.objects!), [key]);
    assert.equal(answer.sha256![key], sha256(path.join(project, 'model.bin')));
    assert.deepEqual(answer.uploads, []);

    const [run] = inspectMlflow(rig.servers.direct.server.uri, { runIds: [runId] }).runs;
    const places: Record<string, string | Buffer> = { 'the stage\'s stderr': result.stderr, 'sync\'s stderr': synced.stderr, 'the run': JSON.stringify(run) };
    for (const file of filesUnder(path.join(project, '.mlrun'))) places[file] = fs.readFileSync(file);
    assertNoSecrets([rig.s3.env.AWS_SECRET_ACCESS_KEY, rig.s3.env.AWS_ACCESS_KEY_ID], places);
  });
});

/**
 * Runs the stage of `project` and SIGKILLs mlrun once a part of model.bin is 2 MiB in (direct:
 * mlrun itself goes through the proxy in front of S3; proxied: the presigned parts do). Returns
 * the run's id, after checking that one unfinished upload was left.
 */
async function killMidUpload(mode: ArtifactMode, project: string): Promise<string> {
  let mlrunPid = 0;
  // Every part that gets that far calls the hook: only the first finds mlrun alive.
  let killed = false;
  const kill = () => {
    if (!killed) process.kill(mlrunPid, 'SIGKILL');
    killed = true;
  };
  const endpoint = mode === 'direct' ? { MLFLOW_S3_ENDPOINT_URL: rig.s3Proxy!.uri } : {};
  rig.s3Proxy!.fault = { kind: 'hook', afterBytes: 2 * MIB, then: kill };
  const result = await runMlrun(['--no-output-log', '--', 'sh', '-c', 'echo run=$MLFLOW_RUN_ID'], {
    cwd: project,
    env: { ...clientEnv(mode), DVC_ROOT: project, DVC_STAGE: 'train', ...RETRIES, ...MULTIPART, ...endpoint },
    onSpawn: (child) => (mlrunPid = child.pid!),
  });
  rig.s3Proxy!.fault = undefined;
  assert.equal(result.signal, 'SIGKILL', result.stderr);
  const runId = runIdOf(result);
  const key = keyOf(mode, runId, 'model.bin');
  assert.deepEqual(inspectS3(rig.s3, { bucket: rig.bucket, prefix: key, uploads: true }).uploads!.map((upload) => upload.key), [key]);
  return runId;
}

function syncProject(project: string, mode: ArtifactMode): Promise<MlrunResult> {
  return runMlrun(['sync'], { cwd: project, env: { ...clientEnv(mode), ...MULTIPART } });
}

describe('an upload killed midway (SIGKILL, as an OOM killer does)', () => {
  for (const mode of ['proxied', 'direct'] as const) {
    test(`${mode}: the multipart upload it left is aborted by mlrun sync, which sends the files again`, async () => {
      const project = stageProject({ 'model.bin': 30 * MIB, 'small.bin': 3000 });
      const runId = await killMidUpload(mode, project);
      const listed = await runMlrun(['sync', '--dry-run'], { cwd: project, env: clientEnv(mode) });
      assert.equal(listed.code, 1, listed.stderr);
      assert.deepEqual(listed.messages, [
        `mlrun: pending upload of run ${runId}, cut off when its mlrun was killed: 2 files`,
        `mlrun: no runs were recorded offline in ${project}`,
      ]);
      const synced = await syncProject(project, mode);
      assert.equal(synced.code, 0, synced.stderr);
      assert.deepEqual(synced.messages, [
        `mlrun: closed train (${runId}) as KILLED: the mlrun that recorded it is gone`,
        `mlrun: finished the upload its killed mlrun left for run ${runId}: 2 files sent`,
        `mlrun: nothing pending: no runs were recorded offline in ${project}`,
      ]);
      assertStoredInParts(project, keyOf(mode, runId, 'model.bin'), mode === 'proxied' ? 5 : 4);
      assert.deepEqual(fs.readdirSync(path.join(project, '.mlrun', 'uploads')), []);
    });
  }

  test('files written anew after the kill are not sent into the killed run, whose bytes they are not; the upload is aborted all the same', async () => {
    const project = stageProject({ 'model.bin': 30 * MIB, 'small.bin': 3000 });
    const runId = await killMidUpload('proxied', project);
    for (const name of ['model.bin', 'small.bin']) fs.writeFileSync(path.join(project, name), crypto.randomBytes(1000));
    const synced = await syncProject(project, 'proxied');
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(synced.messages[1], `mlrun: finished the upload its killed mlrun left for run ${runId}: 0 files sent, 2 files changed or gone since, not sent`);
    const key = keyOf('proxied', runId, 'model.bin');
    assert.deepEqual(inspectS3(rig.s3, { bucket: rig.bucket, prefix: key, uploads: true }), { objects: {}, uploads: [] });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
