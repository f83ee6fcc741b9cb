// A Git + DVC project for tests that launch the real `dvc` under `mlrun pipeline` against a
// tracking server: plain commands in it with the PATH its stages get (build/mlrun first),
// commits, launches, and what DVC said it ran.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runMlrun, type MlrunResult } from './mlrun.ts';
import { repoRoot, venvBin } from './paths.ts';

const SEARCH_PATH = [path.join(repoRoot, 'build'), path.join(repoRoot, 'node_modules', '.bin'), venvBin, process.env.PATH].join(path.delimiter);

export const dvcBinary = path.join(venvBin, 'dvc');

export class DvcProject {
  readonly dir: string;
  /** What every command in the project gets: the PATH, the tracking URI and the experiment. */
  readonly env: Record<string, string>;

  constructor(dir: string, tracking: { uri: string; experimentName: string }) {
    this.dir = dir;
    this.env = { PATH: SEARCH_PATH, MLFLOW_TRACKING_URI: tracking.uri, MLFLOW_EXPERIMENT_NAME: tracking.experimentName, DVC_NO_ANALYTICS: '1' };
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

/** The stages DVC ran, in order, from its `Running stage '…':` lines. */
export function stagesRan(result: MlrunResult): string[] {
  return [...result.stdout.toString().matchAll(/^Running stage '([^']+)':$/gm)].map((match) => match[1]!);
}
