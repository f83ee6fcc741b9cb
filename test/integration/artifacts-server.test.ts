// Uploads to a real `mlflow server` serving artifacts from a local destination, read back with the
// MLflow Python client: exact artifact paths, identical bytes, bounded memory for a big file, and
// the fallback from multipart (501 from a local store) to one streamed PUT.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { collectOutputs, type ArtifactFile } from '../../src/artifacts/collect.ts';
import { uploadArtifacts, type UploadResult } from '../../src/artifacts/upload.ts';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { cleanEnv } from '../support/mlrun.ts';
import { repoRoot, venvBin } from '../support/paths.ts';
import { inspectMlflow } from '../support/python.ts';
import { createParentRun } from '../support/python-setup.ts';
import { sharedServerUri } from '../support/shared-server.ts';

const MB = 1024 * 1024;

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function writeRandom(file: string, size: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  for (let left = size; left > 0; left -= MB) fs.writeSync(fd, crypto.randomBytes(Math.min(MB, left)));
  fs.closeSync(fd);
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The run's artifact_uri as the server gives it. */
async function artifactUriOf(uri: string, runId: string): Promise<string> {
  const answer = (await (await fetch(`${uri}/api/2.0/mlflow/runs/get?run_id=${runId}`)).json()) as { run: { info: { artifact_uri: string } } };
  return answer.run.info.artifact_uri;
}

/** Every artifact of the run, downloaded by the Python client into a fresh folder. */
function downloadWithPython(uri: string, runId: string): string {
  const dst = tempDir('mlrun-download-');
  const script = 'import sys, mlflow; mlflow.artifacts.download_artifacts(run_id=sys.argv[2], tracking_uri=sys.argv[1], dst_path=sys.argv[3])';
  execFileSync(path.join(venvBin, 'python'), ['-c', script, uri, runId, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dst;
}

interface Measured {
  result: UploadResult;
  /** RSS right before the upload, bytes */
  rssBefore: number;
  /** highest RSS sampled during the upload, bytes */
  rssPeak: number;
  ms: number;
}

// The upload in a Node process of its own, so its memory is the upload's alone. With
// MEASURE_LIVE the sampler collects garbage before each sample: what is left is the memory the
// upload holds, which must not grow with the file; without it, RSS includes read buffers already
// sent that V8 has not collected yet (bounded by its external-memory trigger, not by file size).
const MEASURE = `
const { uploadArtifacts } = await import(process.env.UPLOAD_MODULE);
await import(process.env.CLIENT_MODULE);
const request = JSON.parse(process.env.UPLOAD_REQUEST);
const live = process.env.MEASURE_LIVE === '1';
if (live) globalThis.gc();
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sample = () => {
  if (live) globalThis.gc();
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
};
const sampler = setInterval(sample, live ? 20 : 5);
const started = performance.now();
const result = await uploadArtifacts({ ...request, env: process.env });
const ms = performance.now() - started;
clearInterval(sampler);
sample();
console.log(JSON.stringify({ result, rssBefore, rssPeak, ms }));
`;

async function uploadInChild(request: { artifactUri: string; trackingUri: string; files: ArtifactFile[] }, live: boolean): Promise<Measured> {
  const child = spawn(process.execPath, [...(live ? ['--expose-gc'] : []), '--input-type=module', '-e', MEASURE], {
    env: cleanEnv({
      UPLOAD_MODULE: path.join(repoRoot, 'src/artifacts/upload.ts'),
      CLIENT_MODULE: path.join(repoRoot, 'src/tracking/rest/client.ts'),
      UPLOAD_REQUEST: JSON.stringify(request),
      MEASURE_LIVE: live ? '1' : '0',
    }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, out);
  return JSON.parse(out) as Measured;
}

describe('artifacts to a real mlflow server (served artifacts, local destination)', () => {
  test('200 small files, a 50 MB file and a unicode name with spaces: exact paths, identical bytes, small memory', async (t) => {
    const uri = await sharedServerUri();
    const { runId } = createParentRun(uri, 'artifacts-upload');
    const artifactUri = await artifactUriOf(uri, runId);
    assert.match(artifactUri, /^mlflow-artifacts:\//);

    const root = tempDir('mlrun-project-');
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const name = `data/shard-${i % 7}/${i % 3 ? 'deep/' : ''}row-${String(i).padStart(3, '0')}.json`;
      fs.mkdirSync(path.join(root, path.dirname(name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), JSON.stringify({ i, text: 'x'.repeat(i) }));
      expected.push(name);
    }
    const unicode = 'reports/résumé final ü 数据.txt';
    fs.mkdirSync(path.join(root, 'reports'));
    fs.writeFileSync(path.join(root, unicode), 'ünïcödé\n');
    expected.push(unicode);
    writeRandom(path.join(root, 'models/model.bin'), 50 * MB);
    expected.push('models/model.bin');

    const collected = await collectOutputs(root, path.join(root, 'data'), ['.', `../${unicode}`, '../models/model.bin']);
    assert.deepEqual(collected.warnings, []);
    assert.equal(collected.files.length, 202);
    const big = collected.files.filter((file) => file.artifactPath === 'models/model.bin');
    const small = collected.files.filter((file) => file.artifactPath !== 'models/model.bin');

    const result = await uploadArtifacts({ artifactUri, trackingUri: uri, env: cleanEnv(), files: small });
    assert.deepEqual(result.failures, []);
    assert.equal(result.uploaded, 201);
    assert.equal(result.bytes, small.reduce((sum, file) => sum + fs.statSync(file.localPath).size, 0));

    // Twice, to the same artifact path: the second upload replaces the first.
    const natural = await uploadInChild({ artifactUri, trackingUri: uri, files: big }, false);
    const live = await uploadInChild({ artifactUri, trackingUri: uri, files: big }, true);
    for (const measured of [natural, live]) assert.deepEqual(measured.result, { uploaded: 1, bytes: 50 * MB, failures: [], pending: [], pendingFailures: [] });
    const growth = (measured: Measured) => (measured.rssPeak - measured.rssBefore) / MB;
    t.diagnostic(
      `50 MB upload: ${natural.ms.toFixed(0)} ms (${(50 / (natural.ms / 1000)).toFixed(1)} MB/s); peak RSS growth ${growth(natural).toFixed(1)} MB, ` +
        `${growth(live).toFixed(1)} MB of it live (garbage collected before each sample)`,
    );
    // Holding the file would keep 50 MB live.
    assert.ok(growth(live) < 16, `the upload held ${growth(live).toFixed(1)} MB`);

    const [run] = inspectMlflow(uri, { runIds: [runId], withArtifacts: true }).runs;
    assert.deepEqual(run!.artifacts, [...expected].sort());

    const downloaded = downloadWithPython(uri, runId);
    for (const name of expected) {
      assert.equal(sha256(path.join(downloaded, name)), sha256(path.join(root, name)), name);
    }
  });

  test('multipart forced by a low threshold: create answers 501 on a local store, one streamed PUT follows', async () => {
    const server = await startMlflowServer();
    try {
      const { experimentId, runId } = createParentRun(server.uri, 'artifacts-multipart');
      const artifactUri = await artifactUriOf(server.uri, runId);
      const root = tempDir('mlrun-project-');
      writeRandom(path.join(root, 'models/big.bin'), 3 * MB);
      const { files } = await collectOutputs(root, root, ['models']);

      const result = await uploadArtifacts({
        artifactUri,
        trackingUri: server.uri,
        env: cleanEnv({ MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: String(MB), MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: String(MB) }),
        files,
      });
      assert.deepEqual(result, { uploaded: 1, bytes: 3 * MB, failures: [], pending: [], pendingFailures: [] });

      const requests = fs
        .readFileSync(path.join(server.dir, 'server.log'), 'utf8')
        .split('\n')
        .map((line) => /"((?:POST|PUT) \/api\/2\.0\/mlflow-artifacts\/\S+) HTTP\/1\.1" (\d+)/.exec(line))
        .filter((match) => match !== null)
        .map((match) => `${match[1]} ${match[2]}`);
      const runPath = `${experimentId}/${runId}/artifacts`;
      assert.deepEqual(requests, [
        `POST /api/2.0/mlflow-artifacts/mpu/create/${runPath}/models 501`,
        `PUT /api/2.0/mlflow-artifacts/artifacts/${runPath}/models/big.bin 200`,
      ]);

      const [run] = inspectMlflow(server.uri, { runIds: [runId], withArtifacts: true }).runs;
      assert.deepEqual(run!.artifacts, ['models/big.bin']);
      const stored = path.join(server.dir, 'mlartifacts', runPath, 'models/big.bin');
      assert.equal(sha256(stored), sha256(path.join(root, 'models/big.bin')));
    } finally {
      await server.stop();
    }
  });
});
