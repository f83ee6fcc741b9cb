// Asks the real MLflow Python client (in .venv) what a tracking store holds. Each call is one
// Python process (~2 s of imports), so a test gathers what it needs in as few calls as it can.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, venvBin } from './paths.ts';

const inspector = path.join(repoRoot, 'test', 'support', 'inspect_mlflow.py');

export interface PyRun {
  info: {
    run_id: string;
    run_name: string;
    experiment_id: string;
    status: string;
    start_time: number;
    end_time: number | null;
    artifact_uri: string;
    lifecycle_stage: string;
    user_id: string;
  };
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Record<string, number | string>;
  /** Every point of every metric, in the order MLflow returns them. */
  history: Record<string, { value: number | string; step: number; timestamp: number }[]>;
  artifacts: string[];
  /** With `withArtifactDigests`: every artifact as the client downloads it, path → sha256 (hex). */
  artifact_sha256?: Record<string, string>;
  /** With `withInputs`: `run.inputs.dataset_inputs`, in the order MLflow returns them. */
  inputs?: PyDatasetInput[];
  /**
   * The `system/...` metrics (src/system/), which every stage's run ends with: kept apart from
   * `metrics` and `history`, so that what a test reads there is what the command printed or logged.
   */
  system: Pick<PyRun, 'metrics' | 'history'>;
}

export interface PyDatasetInput {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  /** The input's tags, e.g. `mlflow.data.context`. */
  tags: Record<string, string>;
}

export interface PyQuery {
  /** Runs whose ids are listed. */
  runIds?: string[];
  /** All runs in these experiments (ids), newest first. */
  experimentIds?: string[];
  /** Experiments by name, with their ids. */
  experimentNames?: string[];
  withHistory?: boolean;
  withArtifacts?: boolean;
  /** Download every artifact of each run and return its sha256 (`artifact_sha256`). */
  withArtifactDigests?: boolean;
  withInputs?: boolean;
}

export interface PyAnswer {
  runs: PyRun[];
  experiments: Record<string, { experiment_id: string; artifact_location: string; lifecycle_stage: string } | null>;
}

export function inspectMlflow(trackingUri: string, query: PyQuery, env: Record<string, string> = {}): PyAnswer {
  const out = execFileSync(path.join(venvBin, 'python'), [inspector, trackingUri, JSON.stringify(query)], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  const answer = JSON.parse(out) as PyAnswer;
  for (const run of answer.runs) {
    run.system = { metrics: takeSystem(run.metrics), history: takeSystem(run.history ?? {}) };
  }
  return answer;
}

function takeSystem<T>(record: Record<string, T>): Record<string, T> {
  const system: Record<string, T> = {};
  for (const key of Object.keys(record).filter((name) => name.startsWith('system/'))) {
    system[key] = record[key]!;
    delete record[key];
  }
  return system;
}

/** Deletes a run as a user does, with the MLflow Python client (soft: its lifecycle stage becomes `deleted`). */
export function deleteRun(trackingUri: string, runId: string): void {
  const script = 'import sys\nfrom mlflow.tracking import MlflowClient\nMlflowClient(sys.argv[1]).delete_run(sys.argv[2])';
  execFileSync(path.join(venvBin, 'python'), ['-c', script, trackingUri, runId], { stdio: ['ignore', 'ignore', 'pipe'] });
}
