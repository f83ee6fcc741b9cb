// Artifact names on both stores: a stage whose outputs have names MLflow's server refuses or would
// store under another name ('h#frag', a newline, '%41', ...) and names it keeps as they are. The
// embedded store and a real mlflow server refuse the same names with the same lines and hold the
// same artifacts, as the Python client lists them. A last test sends the refused names to the
// server raw, past mlrun's check: each is refused or stored under another name.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runMlrun } from '../support/mlrun.ts';
import { inspectMlflow } from '../support/python.ts';
import { createParentRun } from '../support/python-setup.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { tempProject } from '../support/project.ts';

/** Name → the reason MLflow does not keep it, as mlrun says it. */
const REFUSED: Record<string, string> = {
  'out/h#frag': "MLflow's server refuses '#' in an artifact name",
  'out/new\nline': "MLflow's server refuses or renames an artifact name with a control character (U+000A)",
  'out/tab\there': "MLflow's server refuses or renames an artifact name with a control character (U+0009)",
  'out/a%41.txt': "MLflow's server decodes '%41' in an artifact name: it would store the file under another name",
  'out/what?': "MLflow's server drops the '?' an artifact name ends with",
  'out/semi;': "MLflow's server drops the ';' that ends an artifact name",
  'out/.artifact.uploading.x': "MLflow reserves artifact names that start with '.artifact.uploading.' for its own staging files",
  ' lead.txt': "MLflow's server drops the space an artifact name starts with",
  'http:x': "MLflow's server reads an artifact name that starts with 'http:' as a URL: it would store the file under another name",
  'Model:v1': "MLflow's server reads an artifact name that starts with 'Model:' as a URL: it would store the file under another name",
};
const KEPT = ['a:b', 'out/a?b', 'out/back\\slash', 'out/pct%', 'out/q&r=s', 'out/sp ace ', 'out/x;y', 'out/é名'];
const TOP_LEVEL = [...Object.keys(REFUSED), ...KEPT].filter((name) => !name.startsWith('out/'));

function project(): string {
  const root = tempProject('names');
  for (const name of [...Object.keys(REFUSED), ...KEPT]) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), `${name}\n`);
  }
  const outs = ['out', ...TOP_LEVEL].map((name) => JSON.stringify(name)).join(', ');
  fs.writeFileSync(path.join(root, 'dvc.yaml'), `stages:\n  train:\n    cmd: mlrun --no-output-log -- true\n    outs: [${outs}]\n`);
  return root;
}

/** The message for each refused name, in the order mlrun uploads them (code-unit order of the names). */
function expectedLines(): string[] {
  const quoted = (name: string) => `'${name.replace(/\n/g, '\\n').replace(/\t/g, '\\t')}'`;
  return Object.keys(REFUSED)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `mlrun: cannot upload ${quoted(name)}: ${REFUSED[name]}`);
}

describe('artifact names on both stores', () => {
  test('the embedded store and a server refuse the same names with the same lines, and keep the same artifacts', async () => {
    const serverUri = await sharedServerUri();
    const listed: string[][] = [];
    for (const trackingUri of [undefined, serverUri]) {
      const root = project();
      // An experiment of its own: its one run is this stage's.
      const experiment = `artifact-names-${path.basename(root)}`;
      const result = await runMlrun(['--no-output-log', '--experiment', experiment, '--', 'true'], {
        cwd: root,
        env: { MLFLOW_TRACKING_URI: trackingUri, DVC_ROOT: root, DVC_STAGE: 'train' },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.messages, expectedLines(), trackingUri ?? 'embedded');
      const uri = trackingUri ?? `sqlite:///${path.join(root, 'mlflow.db')}`;
      const experimentId = inspectMlflow(uri, { experimentNames: [experiment] }).experiments[experiment]!.experiment_id;
      const runs = inspectMlflow(uri, { experimentIds: [experimentId], withArtifacts: true }).runs;
      assert.equal(runs.length, 1);
      listed.push(runs[0]!.artifacts);
    }
    assert.deepEqual(listed, [[...KEPT].sort(), [...KEPT].sort()]);
  });

  test('sent raw past that check, the server refuses each refused name or stores it under another', async () => {
    const serverUri = await sharedServerUri();
    const { experimentId, runId } = createParentRun(serverUri, 'artifact-names-raw');
    const statuses: Record<string, number> = {};
    for (const name of Object.keys(REFUSED)) {
      const encoded = name.split('/').map(encodeURIComponent).join('/');
      const answer = await fetch(`${serverUri}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${encoded}`, { method: 'PUT', body: 'x' });
      statuses[name] = answer.status;
    }
    const [run] = inspectMlflow(serverUri, { runIds: [runId], withArtifacts: true }).runs;
    const keptAsIs = Object.keys(REFUSED).filter((name) => statuses[name] === 200 && run!.artifacts.includes(name));
    assert.deepEqual(keptAsIs, []);
  });
});
