// Secrets a stage's command line and its git remote carry, through build/mlrun into the embedded
// store: the shell has expanded `--token ${TOKEN}` before mlrun starts, and `.git/config` may
// quote a remote URL with a token in it. What MLflow's client reads back shows `***`, and no byte
// mlrun printed or stored holds a secret.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { assertNoSecrets, filesUnder } from '../support/assertions.ts';
import { runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { tempProject } from '../support/project.ts';

const GIT_TOKEN = 'ghp_GitRemoteToken1234';
const CLI_TOKEN = 'cli-token-5a8f2c';
const PASSWORD = 'pw-9d3e7b1c';
const API_KEY = 'sk-env-4f1a9c2e7b';
const URL_PASSWORD = 'url-pw-7c2b';
const SECRETS = [GIT_TOKEN, CLI_TOKEN, PASSWORD, API_KEY, URL_PASSWORD];

// The command as the shell hands it to mlrun, MY_API_KEY already expanded into `--config`.
const COMMAND = ['true', '--token', CLI_TOKEN, `--password=${PASSWORD}`, `--config=key:${API_KEY}`, '--data', `https://alice:${URL_PASSWORD}@data.example/x.csv`];
const SHOWN = "true --token '***' '--password=***' '--config=key:***' --data 'https://***@data.example/x.csv'";

describe('secrets on the command line and in the git remote', () => {
  const project = tempProject('secrets');
  let stage: MlrunResult;
  let pipeline: MlrunResult;
  let stageRun: PyRun;
  let pipelineRun: PyRun;

  before(async () => {
    execFileSync('git', ['init', '-q', project]);
    // Valid git syntax: a quoted value and a comment after it.
    fs.appendFileSync(path.join(project, '.git', 'config'), `[remote "origin"]\n\turl = "https://bob:${GIT_TOKEN}@host/org/repo.git" ; the CI token\n`);
    const env = { MY_API_KEY: API_KEY, DVC_ROOT: project };
    // --verbose: every message mlrun has for the run, each a place a secret must not be.
    stage = await runMlrun(['--verbose', '--', ...COMMAND], { cwd: project, env });
    pipeline = await runMlrun(['pipeline', '--', 'true', '--token', CLI_TOKEN], { cwd: project, env });
    const { runs } = inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { experimentIds: ['0'] });
    assert.equal(runs.length, 2);
    pipelineRun = runs.find((run) => run.tags['mlrun.role'] === 'pipeline')!;
    stageRun = runs.find((run) => run !== pipelineRun)!;
  });

  test('the remote is git\'s own value for it: the fixture is a real credential', () => {
    const url = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: project, encoding: 'utf8' });
    assert.equal(url, `https://bob:${GIT_TOKEN}@host/org/repo.git\n`);
  });

  test('the runs hold the remote without its userinfo and the command with *** for each secret', () => {
    assert.equal(stage.code, 0, stage.stderr);
    assert.equal(pipeline.code, 0, pipeline.stderr);
    for (const run of [stageRun, pipelineRun]) {
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.tags['mlflow.source.git.repoURL'], 'https://***@host/org/repo.git');
    }
    assert.equal(stageRun.tags['mlrun.command'], SHOWN);
    assert.equal(pipelineRun.tags['mlrun.command'], "true --token '***'");
    assert.match(pipelineRun.info.run_name, /^true \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  test('a message that quotes the command shows *** too', () => {
    assert.equal(
      stage.messages[0],
      "mlrun: DVC stage not found (no stage runs 'mlrun -- true --token *** --password=*** --config=key:*** --data https://***@data.example/x.csv'): the run is tracked without the stage's params, metrics and outputs",
    );
    assert.equal(stage.messages.at(-1), `mlrun: run ${stageRun.info.run_id} in sqlite:///${path.join(project, 'mlflow.db')}: FINISHED`);
  });

  test('no secret in any byte mlrun printed or stored', () => {
    const places: Record<string, Buffer | string> = {
      'stage stdout': stage.stdout,
      'stage stderr': stage.stderr,
      'pipeline stdout': pipeline.stdout,
      'pipeline stderr': pipeline.stderr,
    };
    const stored = filesUnder(project).filter((file) => !file.startsWith(path.join(project, '.git') + path.sep));
    assert.ok(stored.includes(path.join(project, 'mlflow.db')));
    for (const file of stored) places[file] = fs.readFileSync(file);
    assertNoSecrets(SECRETS, places);
  });
});
