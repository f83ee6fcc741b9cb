// Runs the built executable, build/mlrun, the way a user or DVC would.
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { mlrunBinary } from './paths.ts';

export interface MlrunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** mlrun's own lines on stderr (those starting with `mlrun:`). */
  messages: string[];
}

export interface MlrunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** A descriptor to give mlrun as its stdout (a file, /dev/full) instead of a pipe the test reads. */
  stdout?: number;
  /** Called once mlrun is running, e.g. to send it a signal. */
  onSpawn?: (child: ChildProcess) => void;
  onStdout?: (chunk: Buffer) => void;
}

/** The environment of a test run: the test's, without any MLflow or DVC settings leaking in. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(MLFLOW_|MLRUN_|DVC_)/.test(key)) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function runMlrun(args: string[], options: MlrunOptions = {}): Promise<MlrunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(mlrunBinary, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'],
    }) as ChildProcessByStdio<Writable, Readable | null, Readable>;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      options.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const text = Buffer.concat(stderr).toString('utf8');
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: text,
        messages: text.split('\n').filter((line) => line.startsWith('mlrun:')),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    options.onSpawn?.(child);
  });
}
