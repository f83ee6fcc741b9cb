// A Git + DVC project for tests that launch the real `dvc`, under `mlrun pipeline` or alone,
// against a tracking server or the embedded store: plain commands in it with the PATH its stages
// get (build/mlrun first), commits, launches, and what DVC said it ran.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, runMlrun, type MlrunResult } from './mlrun.ts';
import { repoRoot, venvBin } from './paths.ts';

const SEARCH_PATH = [path.join(repoRoot, 'build'), path.join(repoRoot, 'node_modules', '.bin'), venvBin, process.env.PATH].join(path.delimiter);

export const dvcBinary = path.join(venvBin, 'dvc');

export class DvcProject {
  readonly dir: string;
  /** What every command in the project gets: the PATH, the tracking URI and the experiment. */
  readonly env: Record<string, string>;

  /** Without a tracking URI, runs go to the embedded store, mlflow.db in the project. */
  constructor(dir: string, tracking: { uri?: string; experimentName: string }) {
    this.dir = dir;
    this.env = {
      PATH: SEARCH_PATH,
      ...(tracking.uri ? { MLFLOW_TRACKING_URI: tracking.uri } : {}),
      MLFLOW_EXPERIMENT_NAME: tracking.experimentName,
      DVC_NO_ANALYTICS: '1',
    };
  }

  /** A plain command in the project (git, dvc), with the same PATH the stages get. */
  run(file: string, args: string[]): string {
    return execFileSync(file, args, { cwd: this.dir, env: { ...process.env, ...this.env }, encoding: 'utf8', stdio: 'pipe' });
  }

  commit(message: string): void {
    this.run('git', ['add', '-A']);
    this.run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', message]);
  }

  /** `mlrun pipeline ARGS` in the project, which must exit with `expectedCode`. */
  async pipeline(args: string[], expectedCode = 0): Promise<MlrunResult> {
    const result = await runMlrun(['pipeline', ...args], { cwd: this.dir, env: this.env });
    assert.equal(result.code, expectedCode, `${result.stdout.toString()}\n${result.stderr}`);
    return result;
  }
}

export interface Launched {
  /** dvc, in a process group of its own (a terminal's Ctrl-C reaches the group: `process.kill(-pid, 'SIGINT')`). */
  pid: number;
  /** Once dvc exited and its output pipes closed (as a shell or CI job waits for them). */
  done: Promise<MlrunResult & { endedAt: number }>;
}

/** Starts plain `dvc ARGS` in the project, not waiting for it. */
export function launchDvc(project: DvcProject, args: string[]): Launched {
  const child = spawn(dvcBinary, args, { cwd: project.dir, env: cleanEnv(project.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const done = new Promise<MlrunResult & { endedAt: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const text = Buffer.concat(stderr).toString('utf8');
      const messages = `${Buffer.concat(stdout).toString('utf8')}\n${text}`.split('\n').filter((line) => line.startsWith('mlrun:'));
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr: text, messages, endedAt: Date.now() });
    });
  });
  return { pid: child.pid!, done };
}

/** Files a run of the example pipeline leaves in its folder: none of them belongs in a fresh copy. */
const EXAMPLE_LEFTOVERS = new Set(['data', 'model', 'metrics', 'plots', 'dvc.lock', 'mlflow.db', 'mlruns', '.mlrun', '.dvc', '.git']);

/** A fresh Git + DVC copy of the README's example pipeline (examples/pipeline), as committed. */
export function examplePipeline(tracking: { uri?: string; experimentName: string }): DvcProject {
  const example = path.join(repoRoot, 'examples', 'pipeline');
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-pipeline-')));
  fs.cpSync(example, dir, { recursive: true, filter: (source) => !EXAMPLE_LEFTOVERS.has(path.relative(example, source).split(path.sep)[0]!) });
  const project = new DvcProject(dir, tracking);
  project.run('git', ['init', '-q']);
  project.commit('example pipeline');
  project.run(dvcBinary, ['init', '-q']);
  project.commit('dvc init');
  return project;
}

/** The stages DVC ran, in order, from its `Running stage '…':` lines. */
export function stagesRan(result: MlrunResult): string[] {
  return [...result.stdout.toString().matchAll(/^Running stage '([^']+)':$/gm)].map((match) => match[1]!);
}
