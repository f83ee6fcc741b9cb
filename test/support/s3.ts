// An S3-compatible server on loopback (moto's server mode, pinned in requirements-test.txt) and
// what a test reads back from it through the S3 API with boto3 (inspect_s3.py).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { repoRoot, venvBin } from './paths.ts';
import { killWithProcess, stopProcessGroup } from './processes.ts';

/**
 * What an S3 client (mlrun, boto3, the mlflow server) needs to reach the fake store. The keys are
 * made up, and long enough that output showing them would be caught (tracking/secrets.ts).
 */
export interface S3Env extends Record<string, string> {
  MLFLOW_S3_ENDPOINT_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_DEFAULT_REGION: string;
}

export interface S3Server {
  endpoint: string;
  env: S3Env;
  stop(): Promise<void>;
}

export interface S3Object {
  size: number;
  /** without quotes: the MD5 of a single-part upload, `<md5 of the parts' md5s>-<parts>` of a multipart one */
  etag: string;
}

export interface S3Answer {
  objects?: Record<string, S3Object>;
  sha256?: Record<string, string>;
  uploads?: { key: string; upload_id: string }[];
}

const inspector = path.join(repoRoot, 'test', 'support', 'inspect_s3.py');

/** `ownedByProcess`: dies with the test process, which it does not keep alive. */
export async function startS3Server(options: { ownedByProcess?: boolean } = {}): Promise<S3Server> {
  if (!fs.existsSync(path.join(venvBin, 'moto_server'))) {
    throw new Error('no moto_server in .venv: scripts/test installs requirements-test.txt');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-moto-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'moto.log'), 'a');
  const child = spawn(path.join(venvBin, 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], { cwd: dir, stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  if (options.ownedByProcess) killWithProcess(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}:\n${fs.readFileSync(path.join(dir, 'moto.log'), 'utf8')}`);
    if (await fetch(`${endpoint}/moto-api/`).then((response) => response.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`moto_server on ${endpoint} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const env: S3Env = {
    MLFLOW_S3_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIAMLRUNTESTKEY0001',
    AWS_SECRET_ACCESS_KEY: 'mlrun-test-secret-access-key-0001',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  return {
    endpoint,
    env,
    async stop() {
      await stopProcessGroup(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads the bucket with boto3: objects under `prefix`, the SHA-256 of the `sha256` keys' bytes, the unfinished multipart uploads. */
export function inspectS3(
  server: S3Server,
  query: { bucket: string; create?: boolean; prefix?: string; sha256?: string[]; uploads?: boolean },
): S3Answer {
  const out = execFileSync(path.join(venvBin, 'python'), [inspector, server.endpoint, JSON.stringify(query)], {
    env: { ...process.env, ...server.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out) as S3Answer;
}
