// What the stage's surroundings do to it, through build/mlrun on the embedded store read back by the
// MLflow Python client: where its output goes (a full disk, a closed descriptor), a process it
// leaves behind, a working folder deleted under it, a TMPDIR that is gone, a kill of mlrun, and
// the git work tree the embedded store is created in.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { cleanEnv, runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { mlrunBinary, repoRoot } from '../support/paths.ts';
import { runIdOf, tempProject } from '../support/project.ts';
import { inspectMlflow, type PyAnswer, type PyRun } from '../support/python.ts';

const PRINT_RUN_ID = 'echo "run=$MLFLOW_RUN_ID" >&2';
const ticker = path.join(repoRoot, 'test', 'fixtures', 'reliability', 'ticker.mjs');

/** Runs `script` in a shell whose "$@" is `build/mlrun -- sh -c stage`, the way a user's shell line would. */
function throughShell(cwd: string, script: string, stage: string, env: Record<string, string> = {}): MlrunResult {
  const ran = spawnSync('sh', ['-c', script, 'sh', mlrunBinary, '--', 'sh', '-c', stage], { cwd, env: cleanEnv(env) });
  const stderr = ran.stderr.toString();
  return { code: ran.status, signal: ran.signal, stdout: ran.stdout, stderr, messages: stderr.split('\n').filter((line) => line.startsWith('mlrun:')) };
}

function runIn(answer: PyAnswer, id: string): PyRun {
  const run = answer.runs.find((r) => r.info.run_id === id);
  assert.ok(run, `run ${id} not found`);
  return run;
}

describe("the command's output cannot be written", () => {
  const project = tempProject('surroundings-output');
  const results: Record<'seq' | 'python' | 'closed' | 'devNull', MlrunResult> = {} as never;
  let answer: PyAnswer;

  before(async () => {
    const full = fs.openSync('/dev/full', 'w');
    try {
      results.seq = await runMlrun(['--', 'sh', '-c', `${PRINT_RUN_ID}; seq 1 100000`], { cwd: project, stdout: full });
      // Python writes its 100 bytes into mlrun's pipe and exits 0: only mlrun sees the full disk.
      results.python = await runMlrun(['--', 'sh', '-c', `${PRINT_RUN_ID}; exec python3 -c "print('x' * 100)"`], { cwd: project, stdout: full });
    } finally {
      fs.closeSync(full);
    }
    results.closed = throughShell(project, 'exec "$@" >&-', `${PRINT_RUN_ID}; seq 1 3`);
    // As Python's subprocess.DEVNULL opens it: read-write.
    const devNull = fs.openSync('/dev/null', 'r+');
    try {
      results.devNull = await runMlrun(['--', 'sh', '-c', `${PRINT_RUN_ID}; echo loss=0.5; seq 1 3`], { cwd: project, stdout: devNull });
    } finally {
      fs.closeSync(devNull);
    }
    answer = inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { runIds: Object.values(results).map(runIdOf) });
  });

  for (const name of ['seq', 'python'] as const) {
    test(`stdout on a full disk (${name}): one line naming the error, exit 1, the run FAILED`, () => {
      const result = results[name];
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(result.messages, ["mlrun: cannot write the command's stdout (ENOSPC: no space left on device): the stage fails"]);
      const run = runIn(answer, runIdOf(result));
      assert.equal(run.info.status, 'FAILED');
      assert.equal(run.tags['mlrun.exit_code'], '1');
      assert.equal(run.tags['mlrun.output_error'], 'stdout: ENOSPC');
    });
  }

  test('stdout /dev/null opened read-write (subprocess.DEVNULL): the command writes into it, exit 0, metrics kept', () => {
    const { devNull } = results;
    assert.equal(devNull.code, 0, devNull.stderr);
    assert.deepEqual(devNull.messages, []);
    const run = runIn(answer, runIdOf(devNull));
    assert.equal(run.info.status, 'FINISHED');
    assert.deepEqual(run.metrics, { loss: 0.5 });
  });

  test('stdout closed (>&-): Node has put /dev/null in its place, which the command writes into', () => {
    const { closed } = results;
    assert.equal(closed.code, 0, closed.stderr);
    assert.deepEqual(closed.messages, []);
    const run = runIn(answer, runIdOf(closed));
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(run.tags['mlrun.exit_code'], '0');
  });
});

test('a background job the command leaves behind lives on, and its output still reaches the reader', async () => {
  const project = tempProject('surroundings-background');
  const late = path.join(project, 'late.txt');
  const child = spawn(mlrunBinary, ['--', 'sh', '-c', `${PRINT_RUN_ID}; (sleep 2; echo late > late.txt; echo late-out; echo late-err >&2) & echo done`], {
    cwd: project,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  // The pipes close once the job, which holds them through the relay, is done.
  const closed = new Promise((resolve) => child.once('close', resolve));
  const exited = await new Promise<{ code: number | null; lateExisted: boolean }>((resolve) =>
    child.once('exit', (code) => resolve({ code, lateExisted: fs.existsSync(late) })),
  );
  await closed;

  assert.deepEqual(exited, { code: 0, lateExisted: false }, 'mlrun exits with the command, before the job is done');
  assert.equal(fs.readFileSync(late, 'utf8'), 'late\n');
  assert.equal(Buffer.concat(stdout).toString(), 'done\nlate-out\n');
  const errors = Buffer.concat(stderr).toString();
  assert.deepEqual(errors.split('\n').filter((line) => !line.startsWith('run=')), ['late-err', '']);
  const runId = runIdOf({ stdout: Buffer.alloc(0), stderr: errors });
  assert.equal(runIn(inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { runIds: [runId] }), runId).info.status, 'FINISHED');
});

describe('the working folder and TMPDIR', () => {
  const project = tempProject('surroundings-folders');
  fs.mkdirSync(path.join(project, 'work'));
  const stage = `${PRINT_RUN_ID}; echo loss=0.5`;
  let deleted: MlrunResult;
  let noTmp: MlrunResult;
  let answer: PyAnswer;

  before(async () => {
    deleted = throughShell(project, 'cd work && rmdir "$PWD" && exec "$@"', stage);
    noTmp = await runMlrun(['--', 'sh', '-c', stage], { cwd: project, env: { TMPDIR: path.join(project, 'no-such-folder') } });
    answer = inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { runIds: [runIdOf(deleted), runIdOf(noTmp)], withHistory: true, withArtifacts: true });
  });

  for (const [label, result] of [['a working folder deleted before mlrun started', () => deleted], ['TMPDIR naming a folder that does not exist', () => noTmp]] as const) {
    test(`${label}: the command runs, and its metrics and output log are recorded`, () => {
      assert.equal(result().code, 0, result().stderr);
      assert.equal(result().stdout.toString(), 'loss=0.5\n');
      assert.deepEqual(result().messages, []);
      const run = runIn(answer, runIdOf(result()));
      assert.equal(run.info.status, 'FINISHED');
      assert.deepEqual(run.history.loss?.map((point) => [point.step, point.value]), [[0, 0.5]]);
      assert.deepEqual(run.artifacts, ['mlrun/output.log']);
    });
  }
});

test('no temp file outlives mlrun, not even a SIGKILL of it', async () => {
  const project = tempProject('surroundings-kill');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-tmpdir-'));
  const seen: string[][] = [];
  let pid = 0;
  await runMlrun(['--', process.execPath, ticker, '20000'], {
    cwd: project,
    env: { TMPDIR: tmp },
    onSpawn: (child) => (pid = child.pid!),
    onStdout: (chunk) => {
      // Output, the output log and the metric hand-off are under way: look, then kill.
      if (seen.length > 0 || !chunk.toString().includes('value=')) return;
      seen.push(fs.readdirSync(tmp));
      process.kill(pid, 'SIGKILL');
    },
  });
  seen.push(fs.readdirSync(tmp));
  assert.deepEqual(seen, [[], []]);
});

describe('a git work tree: the embedded store never shows in git status', () => {
  const IGNORED = '/mlflow.db\n/mlflow.db-wal\n/mlflow.db-shm\n/mlflow.db-journal\n';
  // The stage looks while mlrun holds the database open, when SQLite's side files exist.
  const LOOK = 'ls mlflow.db mlflow.db-wal mlflow.db-shm >/dev/null && git status --porcelain --untracked-files=all';

  /** A new git repository with `files` committed, as the project root. */
  function gitProject(label: string, files: Record<string, string>): string {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `mlrun-git-${label}-`)));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir });
    git('init', '-q');
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', 'project');
    return dir;
  }

  function gitStatus(dir: string): string {
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: dir, encoding: 'utf8' });
  }

  test('a new .gitignore with the database and its side files; a second run and a new database add nothing', async () => {
    const project = gitProject('new', { 'train.py': 'print(1)\n' });
    const first = await runMlrun(['--', 'sh', '-c', LOOK], { cwd: project });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.toString(), '?? .gitignore\n', 'while the database is open');
    assert.equal(gitStatus(project), '?? .gitignore\n');
    assert.equal(fs.readFileSync(path.join(project, '.gitignore'), 'utf8'), IGNORED);

    assert.equal((await runMlrun(['--', 'true'], { cwd: project })).code, 0);
    fs.rmSync(path.join(project, 'mlflow.db'));
    assert.equal((await runMlrun(['--', 'true'], { cwd: project })).code, 0);
    assert.equal(fs.readFileSync(path.join(project, '.gitignore'), 'utf8'), IGNORED, 'each line once');
    assert.equal(gitStatus(project), '?? .gitignore\n');
  });

  test("the project's own .gitignore: appended on a line of its own, without what it ignores already", async () => {
    const project = gitProject('own', { '.gitignore': '*.db' });
    const result = await runMlrun(['--', 'sh', '-c', LOOK], { cwd: project });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), ' M .gitignore\n');
    assert.equal(fs.readFileSync(path.join(project, '.gitignore'), 'utf8'), '*.db\n/mlflow.db-wal\n/mlflow.db-shm\n/mlflow.db-journal\n');
    assert.equal(gitStatus(project), ' M .gitignore\n');
    // mlrun's own lines in a tracked .gitignore do not make the run one of uncommitted changes.
    const [run] = inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { experimentIds: ['0'] }).runs;
    assert.equal(run!.tags['mlrun.git.dirty'], undefined);
    assert.ok(run!.tags['mlflow.source.git.commit']);
  });

  test('outside a git work tree, and for a database named by MLFLOW_TRACKING_URI: no .gitignore is written', async () => {
    const project = tempProject('no-git');
    const named = gitProject('named', {});
    assert.equal((await runMlrun(['--', 'true'], { cwd: project })).code, 0);
    assert.equal((await runMlrun(['--', 'true'], { cwd: named, env: { MLFLOW_TRACKING_URI: `sqlite:///${path.join(named, 'runs.db')}` } })).code, 0);
    assert.ok(fs.existsSync(path.join(project, 'mlflow.db')) && fs.existsSync(path.join(named, 'runs.db')));
    assert.equal(fs.existsSync(path.join(project, '.gitignore')), false);
    assert.equal(fs.existsSync(path.join(named, '.gitignore')), false);
    assert.equal(gitStatus(named), '?? runs.db\n');
  });
});
