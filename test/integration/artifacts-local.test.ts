// Runs whose artifact location is a local folder (the embedded store's case), given as a plain path
// and as a file:// URI: the files are copied byte-identical under their paths, and the MLflow
// Python client lists exactly them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectOutputs } from '../../src/artifacts/collect.ts';
import { uploadArtifacts } from '../../src/artifacts/upload.ts';
import { cleanEnv } from '../support/mlrun.ts';
import { mlrunBinary, venvBin } from '../support/paths.ts';
import { inspectMlflow } from '../support/python.ts';

/**
 * Two runs in a fresh SQLite store, made by the Python client from inside `dir` (where its default
 * artifact root, ./mlruns, lands): one with that default (a plain path), one in an experiment whose
 * location is a file:// URI.
 */
function createRuns(dir: string): { trackingUri: string; plain: string; fileUri: string } {
  const script = `
import json, sys
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
plain = c.create_run(c.create_experiment("plain")).info.run_id
uri = c.create_run(c.create_experiment("uri", artifact_location=sys.argv[2])).info.run_id
print(json.dumps({"plain": plain, "fileUri": uri}))
`;
  const trackingUri = `sqlite:///${path.join(dir, 'mlflow.db')}`;
  const out = execFileSync(path.join(venvBin, 'python'), ['-c', script, trackingUri, pathToFileURL(path.join(dir, 'store dir')).href], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { trackingUri, ...(JSON.parse(out) as { plain: string; fileUri: string }) };
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

test('local artifact locations, as a path and as file://: byte-identical copies under the project-relative paths', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-local-')));
  const { trackingUri, plain, fileUri } = createRuns(dir);
  const runs = inspectMlflow(trackingUri, { runIds: [plain, fileUri] }).runs;
  const plainUri = runs[0]!.info.artifact_uri;
  const fileUriUri = runs[1]!.info.artifact_uri;
  assert.equal(plainUri, path.join(dir, 'mlruns', runs[0]!.info.experiment_id, plain, 'artifacts'));
  assert.match(fileUriUri, /^file:\/\/\/.*store%20dir\/[0-9a-f]{32}\/artifacts$/);

  const root = path.join(dir, 'project');
  const expected = ['out/model.bin', 'out/nested/deeper/weights ü.npy', 'out/nested/notes.txt', 'metrics.json'];
  for (const [i, name] of expected.entries()) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), crypto.randomBytes(1000 * (i + 1) ** 3));
  }
  const { files, warnings } = await collectOutputs(root, path.join(root, 'out'), ['.', '../metrics.json']);
  assert.deepEqual(warnings, []);

  for (const artifactUri of [plainUri, fileUriUri]) {
    const result = await uploadArtifacts({ artifactUri, trackingUri: undefined, env: {}, files });
    assert.deepEqual(result, { uploaded: 4, bytes: 1000 + 8000 + 27000 + 64000, failures: [], pending: [], pendingFailures: [] });
    const folder = artifactUri.startsWith('file:') ? fileURLToPath(artifactUri) : artifactUri;
    for (const name of expected) assert.equal(sha256(path.join(folder, name)), sha256(path.join(root, name)), name);
    // Nothing else, not even a staging file, is left in the run's folder.
    const left = fs.readdirSync(folder, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    assert.equal(left.length, 4);
  }

  const listed = inspectMlflow(trackingUri, { runIds: [plain, fileUri], withArtifacts: true }).runs.map((run) => run.artifacts);
  assert.deepEqual(listed, [[...expected].sort(), [...expected].sort()]);
});

test('in a terminal, an upload over within a second draws no progress line: the output is the command\'s alone', () => {
  const project = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-tty-')));
  fs.mkdirSync(path.join(project, '.dvc'));
  // script(1) gives mlrun a terminal for stdin, stdout and stderr alike.
  const line = 'a line of output of 37 bytes, or so.';
  const seen = execFileSync('script', ['-qec', `${mlrunBinary} -- echo '${line}'`, '/dev/null'], { cwd: project, env: cleanEnv(), encoding: 'utf8' });
  assert.equal(seen, `${line}\r\n`);
  const [run] = inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { experimentIds: ['0'], withArtifacts: true }).runs;
  assert.deepEqual(run!.artifacts, ['mlrun/output.log']);
});
