// The x64 wheel as a user installs it: `pip install <file>` into a fresh venv with the pinned dvc
// and mlflow puts mlrun on the venv's PATH, and the example pipeline runs under
// `mlrun pipeline -- dvc repro`, read back by that venv's MLflow client.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { cleanEnv } from '../../test/support/mlrun.ts';
import type { PyAnswer } from '../../test/support/python.ts';
import { platformNamed, project, repoRoot } from '../project.ts';
import { distFile, elfMachine, releaseFiles, sha256, tempDir, unpack, versionLine } from './release.ts';

const platform = platformNamed('linux-x64');
const wheel = distFile(releaseFiles.wheel(platform));
const STAGES = ['build_evaluator', 'evaluate@test', 'evaluate@val', 'featurize', 'prepare@test', 'prepare@train', 'prepare@val', 'train'];
// Iguazio's MLRun, whose command is mlrun too: what the README says of both in one environment.
const IGUAZIO_MLRUN = 'mlrun==1.12.1';

describe('pip install of the x64 wheel', () => {
  const venv = tempDir('venv');
  const bin = path.join(venv, 'bin');
  const pip = (...args: string[]) => execFileSync(path.join(bin, 'pip'), ['--disable-pip-version-check', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  // The venv first on PATH, as when it is activated; node and cc for the example's stages.
  const env = cleanEnv({ PATH: `${bin}:${process.env.PATH}`, VIRTUAL_ENV: venv });

  before(() => {
    execFileSync('python3', ['-m', 'venv', venv]);
    pip('install', '--quiet', '-r', path.join(repoRoot, 'requirements.txt'), wheel);
  });

  test('mlrun is the executable itself, on the venv\'s PATH', () => {
    assert.equal(execFileSync('sh', ['-c', 'command -v mlrun'], { env, encoding: 'utf8' }), `${bin}/mlrun\n`);
    assert.equal(elfMachine(path.join(bin, 'mlrun')), platform.elfMachine);
    assert.equal(sha256(path.join(bin, 'mlrun')), sha256(path.join(unpack(releaseFiles.archive(platform)), project.command)));
    assert.equal(execFileSync('mlrun', ['--version'], { env, encoding: 'utf8' }), versionLine(platform));
  });

  test('the example pipeline runs under mlrun pipeline -- dvc repro, and MLflow reads it back', () => {
    const example = path.join(tempDir('example'), 'churn');
    fs.cpSync(path.join(repoRoot, 'examples', 'pipeline'), example, { recursive: true });
    const sh = (script: string) => execFileSync('sh', ['-c', script], { cwd: example, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    sh('git init -q -b main && git config user.name release && git config user.email release@mlrun.invalid');
    sh('dvc init -q && git add -A && git commit -qm churn');
    sh('mlrun pipeline --name release -- dvc repro');

    const inspector = path.join(repoRoot, 'test', 'support', 'inspect_mlflow.py');
    const query = JSON.stringify({ experimentIds: ['0'] });
    const { runs } = JSON.parse(execFileSync(path.join(bin, 'python'), [inspector, `sqlite:///${example}/mlflow.db`, query], { encoding: 'utf8' })) as PyAnswer;
    const parents = runs.filter((run) => run.tags['mlrun.role'] === 'pipeline');
    assert.equal(parents.length, 1);
    const parent = parents[0]!;
    assert.deepEqual([parent.info.run_name, parent.info.status], ['release', 'FINISHED']);
    const stages = runs.filter((run) => run !== parent);
    assert.deepEqual(stages.map((run) => run.info.run_name).sort(), STAGES);
    for (const stage of stages) {
      assert.equal(stage.info.status, 'FINISHED', stage.info.run_name);
      assert.equal(stage.tags['mlflow.parentRunId'], parent.info.run_id);
      assert.equal(stage.tags['mlrun.version'], project.version);
    }
    // What examples/pipeline/README.md says evaluate@val prints with the default params.
    const evaluateVal = stages.find((run) => run.info.run_name === 'evaluate@val')!;
    assert.deepEqual([evaluateVal.metrics.accuracy, evaluateVal.metrics.auc], [0.8633, 0.9439]);
  });

  test('with Iguazio\'s mlrun in the same venv, the one installed last is bin/mlrun, and uninstalling it removes the command', () => {
    const installed = spawnSync(path.join(bin, 'pip'), ['--disable-pip-version-check', 'install', '--quiet', '--no-deps', IGUAZIO_MLRUN], { encoding: 'utf8' });
    assert.equal(installed.status, 0, installed.stderr);
    assert.equal(installed.stderr, '', 'pip says nothing of the file it replaces');
    assert.equal(elfMachine(path.join(bin, 'mlrun')), undefined, 'bin/mlrun is still this package\'s');
    assert.match(fs.readFileSync(path.join(bin, 'mlrun'), 'utf8'), /^#!.*python/);
    pip('uninstall', '--quiet', '--yes', 'mlrun');
    assert.equal(fs.existsSync(path.join(bin, 'mlrun')), false);
    pip('install', '--quiet', '--no-deps', '--force-reinstall', wheel);
    assert.equal(execFileSync('mlrun', ['--version'], { env, encoding: 'utf8' }), versionLine(platform));
  });
});
