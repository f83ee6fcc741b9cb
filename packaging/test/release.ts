// What the checks of a release know: where scripts/release put it (MLRUN_RELEASE_* variables),
// the names of its files, and how to run one of its executables as a user would.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv } from '../../test/support/mlrun.ts';
import { inspectMlflow, type PyRun } from '../../test/support/python.ts';
import { tempProject } from '../../test/support/project.ts';
import { npmPlatformPackage, platformNamed, project, type Platform } from '../project.ts';
import { wheelName } from '../wheel.ts';

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set: these checks are run by scripts/release`);
  return value;
}

export const release = {
  dist: path.resolve(setting('MLRUN_RELEASE_DIST')),
  tools: path.resolve(setting('MLRUN_RELEASE_TOOLS')),
  platforms: setting('MLRUN_RELEASE_PLATFORMS').split(' ').map(platformNamed),
  /** qemu-aarch64-static, or '' where this machine cannot run arm64. */
  emulator: setting('MLRUN_RELEASE_EMULATOR'),
  commit: setting('MLRUN_RELEASE_COMMIT'),
};

export const releaseFiles = {
  archive: (platform: Platform) => `mlrun-${project.version}-${platform.name}.tar.gz`,
  wheel: (platform: Platform) => `${wheelName}-${project.version}-py3-none-${platform.wheelPlatform}.whl`,
  npmPlatform: (platform: Platform) => `${npmPlatformPackage(platform)}-${project.version}.tgz`,
  npmMain: `${project.distribution}-${project.version}.tgz`,
};

export function distFile(name: string): string {
  return path.join(release.dist, name);
}

export function versionLine(platform: Platform): string {
  return `mlrun ${project.version} (commit ${release.commit}, ${platform.name})\n`;
}

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new temp folder, removed when the process ends. */
export function tempDir(label: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `mlrun-release-${label}-`)));
  tempDirs.push(dir);
  return dir;
}

/** Unpacks a .tar.gz (an archive or an npm package) of the release into a temp folder. */
export function unpack(file: string): string {
  const dir = tempDir('unpack');
  execFileSync('tar', ['-xzf', distFile(file), '-C', dir]);
  return dir;
}

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** e_machine of an ELF file, or undefined when it is not one. */
export function elfMachine(file: string): number | undefined {
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 20, 0);
  fs.closeSync(fd);
  return head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ? head.readUInt16LE(18) : undefined;
}

/**
 * Runs `COMMAND -- sh -c 'echo loss=0.5; echo loss=0.25'` (COMMAND an mlrun, maybe under an
 * emulator) in a new project with the embedded store, and checks what MLflow's client reads back.
 */
export function checkOneStage(command: string[], env: Record<string, string> = {}): PyRun {
  const dir = tempProject('release');
  const result = spawnSync(command[0]!, [...command.slice(1), '--name', 'one', '--', 'sh', '-c', 'echo loss=0.5; echo loss=0.25'], {
    cwd: dir,
    env: cleanEnv(env),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'loss=0.5\nloss=0.25\n');
  assert.equal(result.stderr, '');
  const { runs } = inspectMlflow(`sqlite:///${dir}/mlflow.db`, { experimentIds: ['0'], withHistory: true });
  assert.equal(runs.length, 1);
  const run = runs[0]!;
  assert.equal(run.info.run_name, 'one');
  assert.equal(run.info.status, 'FINISHED');
  assert.deepEqual(run.history.loss!.map((point) => [point.step, point.value]), [[0, 0.5], [1, 0.25]]);
  assert.equal(run.tags['mlrun.version'], project.version);
  return run;
}
