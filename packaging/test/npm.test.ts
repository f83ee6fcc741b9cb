// `npm i -g` of the release's files into a temp prefix, as a user installs: the command mlrun is
// the executable itself, so it starts as fast as the executable does; where install scripts do
// not run, it is the package's Node script, which works too, one Node process slower.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanEnv } from '../../test/support/mlrun.ts';
import { tempProject } from '../../test/support/project.ts';
import { platformNamed, project } from '../project.ts';
import { checkOneStage, distFile, elfMachine, releaseFiles, sha256, tempDir, unpack, versionLine } from './release.ts';

const platform = platformNamed('linux-x64');
const executable = path.join(unpack(releaseFiles.archive(platform)), project.command);

/** `npm i -g FILES` into a new prefix; the installed command. */
function npmInstall(...flags: string[]): string {
  const prefix = tempDir('npm');
  execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', ...flags,
    distFile(releaseFiles.npmPlatform(platform)), distFile(releaseFiles.npmMain)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return path.join(prefix, 'bin', project.command);
}

test('npm i -g: mlrun is the executable itself, and it runs a stage', () => {
  const command = npmInstall();
  assert.equal(elfMachine(fs.realpathSync(command)), platform.elfMachine);
  assert.equal(sha256(fs.realpathSync(command)), sha256(executable));
  assert.equal(execFileSync(command, ['--version'], { encoding: 'utf8' }), versionLine(platform));
  checkOneStage([command]);

  // Alternating rounds of `--version`: the installed command against the release's executable,
  // and against the same package installed without its install script (a Node process first).
  const shim = npmInstall('--ignore-scripts');
  const contenders = { executable, installed: command, 'node script': shim };
  const wall: Record<string, number[]> = { executable: [], installed: [], 'node script': [] };
  const cpu: Record<string, number[]> = { executable: [], installed: [], 'node script': [] };
  for (let round = 0; round < 10; round++) {
    for (const [name, file] of Object.entries(contenders)) {
      const [ms, cpuMs] = timeRun(file, '--version');
      wall[name]!.push(ms);
      cpu[name]!.push(cpuMs);
    }
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const name of Object.keys(contenders)) {
    console.log(`mlrun --version, ${name}: median of 10 alternating rounds ${median(wall[name]!).toFixed(1)} ms wall, ${median(cpu[name]!).toFixed(1)} ms CPU`);
  }
  // CPU time, which other work on the machine disturbs less than wall time. The same file: any
  // difference is noise, and far smaller than what a Node process adds.
  const [reference, installed, script] = [median(cpu.executable!), median(cpu.installed!), median(cpu['node script']!)];
  assert.ok(Math.abs(installed - reference) < (script - reference) / 2, `installed ${installed} ms, executable ${reference} ms, Node script ${script} ms`);
});

test('npm i -g --ignore-scripts: mlrun is a Node script that runs the executable and ends as it does', () => {
  const command = npmInstall('--ignore-scripts');
  assert.equal(elfMachine(fs.realpathSync(command)), undefined);
  assert.equal(execFileSync(command, ['--version'], { encoding: 'utf8' }), versionLine(platform));
  const result = spawnSync(command, ['--', 'sh', '-c', 'echo loss=1; exit 3'], { cwd: tempProject('release-shim'), env: cleanEnv(), encoding: 'utf8' });
  assert.equal(result.status, 3, result.stderr);
  assert.equal(result.stdout, 'loss=1\n');
  // A command a signal ended: mlrun exits 128+N, the shim with it.
  const killed = spawnSync(command, ['--', 'sh', '-c', 'kill -TERM $$'], { cwd: tempProject('release-shim'), env: cleanEnv(), encoding: 'utf8' });
  assert.equal(killed.status, 143, killed.stderr);
});

/** Wall and CPU (user + system, of the process and its children) milliseconds of one run. */
function timeRun(...command: string[]): [number, number] {
  const script = 'import resource, subprocess, sys, time\nstart = time.perf_counter()\n'
    + 'subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\nwall = time.perf_counter() - start\n'
    + 'usage = resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000)';
  const [wall, cpu] = execFileSync('python3', ['-c', script, ...command], { encoding: 'utf8' }).split(' ').map(Number);
  return [wall!, cpu!];
}
