// The local `mlflow server` every server benchmark talks to (the pinned release, loopback, a free
// port, SQLite backend, proxied artifacts), and the few REST calls the harness makes itself.
import path from 'node:path';
import { startMlflowServer, type MlflowServer } from '../test/support/mlflow-server.ts';

export type { MlflowServer };

export interface BenchServer extends MlflowServer {
  /** the server's SQLite database, for counting what reached it */
  dbPath: string;
  /** where the server keeps proxied artifacts */
  artifactsDir: string;
}

export async function startServer(): Promise<BenchServer> {
  // ownedByProcess: killed (with its process group) when the harness exits, however it exits.
  const server = await startMlflowServer({ ownedByProcess: true });
  return { ...server, dbPath: path.join(server.dir, 'mlflow.db'), artifactsDir: path.join(server.dir, 'mlartifacts') };
}

async function call(uri: string, endpoint: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${uri}/api/2.0/mlflow/${endpoint}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${endpoint}: HTTP ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function createExperiment(uri: string, name: string): Promise<string> {
  const answer = await call(uri, 'experiments/create', { name: `${name}-${Date.now().toString(36)}` });
  return String(answer.experiment_id);
}

export interface CreatedRun {
  runId: string;
  experimentId: string;
}

export async function createRun(uri: string, experimentId: string, name = 'bench'): Promise<CreatedRun> {
  const answer = (await call(uri, 'runs/create', { experiment_id: experimentId, run_name: name, start_time: Date.now() })) as {
    run: { info: { run_id: string; experiment_id: string } };
  };
  return { runId: answer.run.info.run_id, experimentId: answer.run.info.experiment_id };
}

export async function finishRun(uri: string, runId: string): Promise<void> {
  await call(uri, 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
}
