// Starts a real `mlflow server` (the pinned release in .venv) on a free loopback port, by default
// with a SQLite backend and served artifacts in a fresh temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { venvBin } from './paths.ts';
import { killWithProcess, stopProcessGroup } from './processes.ts';

// MLflow 3's job runner starts four huey worker processes the tests never use: on two cores they
// slow every other test down.
const SERVER_ENV = { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' };

export interface MlflowServer {
  uri: string;
  dir: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL) and leaves its folder. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash or an OOM kill would, in the middle of what it does. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder, after `stop`. */
  restart(): Promise<void>;
}

export interface ServerOptions {
  /** Extra arguments for `mlflow server`, e.g. ['--app-name', 'basic-auth']. */
  args?: string[];
  /** `--backend-store-uri`; default `mlflow.db` in the server's folder. */
  backendStoreUri?: string;
  /** Where artifacts go; default `--artifacts-destination` a folder in the server's folder. */
  artifactArgs?: string[];
  env?: Record<string, string>;
  dir?: string;
  /** Let the test process exit while the server runs, and kill the server when it does. */
  ownedByProcess?: boolean;
  /** The address it listens on (default loopback), e.g. a bridge that network namespaces reach. */
  host?: string;
}

export async function startMlflowServer(options: ServerOptions = {}): Promise<MlflowServer> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-server-'));
  const port = await freePort();
  const host = options.host ?? '127.0.0.1';
  const uri = `http://${host}:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const log = fs.openSync(path.join(dir, 'server.log'), 'a');
    child = spawn(
      path.join(venvBin, 'mlflow'),
      [
        'server',
        '--host', host,
        '--port', String(port),
        '--backend-store-uri', options.backendStoreUri ?? `sqlite:///${path.join(dir, 'mlflow.db')}`,
        ...(options.artifactArgs ?? ['--artifacts-destination', path.join(dir, 'mlartifacts')]),
        '--workers', '1',
        ...(options.args ?? []),
      ],
      { cwd: dir, stdio: ['ignore', log, log], env: { ...process.env, ...SERVER_ENV, ...options.env }, detached: true },
    );
    fs.closeSync(log);
    if (options.ownedByProcess) killWithProcess(child);
    await waitUntilHealthy(uri, child, path.join(dir, 'server.log'));
  };

  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (running) await stopProcessGroup(running, signal);
  };

  await start();
  return { uri, dir, port, stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), restart: start };
}

async function waitUntilHealthy(uri: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`mlflow server exited with ${child.exitCode}:\n${fs.readFileSync(logPath, 'utf8').slice(-3000)}`);
    }
    try {
      const response = await fetch(`${uri}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`mlflow server at ${uri} did not become healthy:\n${fs.readFileSync(logPath, 'utf8').slice(-3000)}`);
}
