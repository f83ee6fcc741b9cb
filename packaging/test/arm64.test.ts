// The arm64 executable, run on this x64 machine under user-mode emulation (qemu-aarch64-static):
// it names itself and records a stage in the embedded store. Where the machine cannot emulate
// arm64, scripts/release has said so and these checks skip.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { platformNamed, project } from '../project.ts';
import { checkOneStage, release, releaseFiles, unpack, versionLine } from './release.ts';

const platform = platformNamed('linux-arm64');
const skip = release.emulator ? false : 'no qemu-aarch64-static with arm64 C libraries on this machine';

test('the arm64 executable says its version, commit and platform under qemu', { skip }, () => {
  const executable = path.join(unpack(releaseFiles.archive(platform)), project.command);
  assert.equal(execFileSync(release.emulator, [executable, '--version'], { encoding: 'utf8' }), versionLine(platform));
});

test('the arm64 executable records a stage in the embedded store under qemu', { skip }, () => {
  const executable = path.join(unpack(releaseFiles.archive(platform)), project.command);
  checkOneStage([release.emulator, executable]);
});
