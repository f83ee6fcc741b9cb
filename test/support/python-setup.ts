// Creates what a test starts from (an experiment, a parent run) with the MLflow Python client, so
// the set-up does not depend on the code under test.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { venvBin } from './paths.ts';

/** With `artifactLocation`, a new experiment keeps its runs' artifacts there (e.g. `s3://bucket/path`). */
export function createParentRun(trackingUri: string, experimentName: string, artifactLocation?: string): { experimentId: string; runId: string } {
  const script = `
import json, sys
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
e = c.get_experiment_by_name(sys.argv[2])
eid = e.experiment_id if e else c.create_experiment(sys.argv[2], artifact_location=sys.argv[3] or None)
r = c.create_run(eid, run_name="parent")
print(json.dumps({"experimentId": eid, "runId": r.info.run_id}))
`;
  const out = execFileSync(path.join(venvBin, 'python'), ['-c', script, trackingUri, experimentName, artifactLocation ?? ''], { encoding: 'utf8' });
  return JSON.parse(out) as { experimentId: string; runId: string };
}
