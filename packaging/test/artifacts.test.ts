// What the release's files hold: the same executable of each platform in its archive, its wheel
// and its npm package, with the metadata and notices each needs, and checksums that match.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { npmPlatformPackage, platforms as allPlatforms, project } from '../project.ts';
import { wheelName } from '../wheel.ts';
import { distFile, elfMachine, release, releaseFiles, sha256, unpack } from './release.ts';

test('SHA256SUMS lists every other file of the release, and each matches', () => {
  const listed = fs.readFileSync(distFile('SHA256SUMS'), 'utf8').trim().split('\n').map((line) => line.split(/ +/)[1]);
  const expected = [releaseFiles.npmMain, ...release.platforms.flatMap((p) => [releaseFiles.archive(p), releaseFiles.wheel(p), releaseFiles.npmPlatform(p)])];
  assert.deepEqual(listed.sort(), expected.sort());
  assert.deepEqual(fs.readdirSync(release.dist).sort(), [...expected, 'SHA256SUMS'].sort());
  execFileSync('sha256sum', ['--check', '--quiet', 'SHA256SUMS'], { cwd: release.dist });
});

for (const platform of release.platforms) {
  describe(platform.name, () => {
    const archive = unpack(releaseFiles.archive(platform));
    const executable = path.join(archive, project.command);
    const digest = sha256(executable);

    test('the archive holds the executable of this platform and the notices', () => {
      assert.deepEqual(fs.readdirSync(archive).sort(), ['LICENSE', 'README.md', 'THIRD_PARTY_LICENSES', 'mlrun']);
      assert.equal(elfMachine(executable), platform.elfMachine);
      assert.equal(fs.statSync(executable).mode & 0o777, 0o755);
      const notices = fs.readFileSync(path.join(archive, 'THIRD_PARTY_LICENSES'), 'utf8');
      for (const name of ['Node.js', 'commander', 'smol-toml', 'yaml']) assert.match(notices, new RegExp(`^${name}\\b`, 'm'));
    });

    test('the wheel holds that executable as its script mlrun, with its metadata and tag', () => {
      const python = path.join(release.tools, 'bin', 'python');
      const read = (script: string) => execFileSync(python, ['-c', script, distFile(releaseFiles.wheel(platform))], { encoding: 'utf8' });
      const entries = JSON.parse(read('import json, sys, zipfile\nprint(json.dumps({i.filename: i.external_attr >> 16 for i in zipfile.ZipFile(sys.argv[1]).infolist()}))')) as Record<string, number>;
      const data = `${wheelName}-${project.version}.data`;
      const info = `${wheelName}-${project.version}.dist-info`;
      assert.deepEqual(Object.keys(entries).sort(), [
        `${data}/scripts/mlrun`, `${info}/METADATA`, `${info}/RECORD`, `${info}/WHEEL`, `${info}/licenses/LICENSE`, `${info}/licenses/THIRD_PARTY_LICENSES`,
      ]);
      assert.equal(entries[`${data}/scripts/mlrun`]! & 0o777, 0o755);
      const member = (name: string) => `import sys, zipfile\nsys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(${JSON.stringify(name)}).decode())`;
      const hashed = read(`import hashlib, sys, zipfile\nprint(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read("${data}/scripts/mlrun")).hexdigest())`);
      assert.equal(hashed.trim(), digest);
      const metadata = read(member(`${info}/METADATA`));
      for (const field of [`Name: ${project.distribution}`, `Version: ${project.version}`, `Summary: ${project.description}`, 'License-Expression: Apache-2.0', 'License-File: LICENSE']) {
        assert.ok(metadata.split('\n').includes(field), `METADATA has no '${field}'`);
      }
      assert.match(read(member(`${info}/WHEEL`)), new RegExp(`^Tag: py3-none-${platform.wheelPlatform}$`, 'm'));
      // auditwheel reads the executable's symbol versions: the tag must be the one they allow.
      const audit = execFileSync(path.join(release.tools, 'bin', 'auditwheel'), ['show', distFile(releaseFiles.wheel(platform))], { encoding: 'utf8' });
      assert.match(audit.replace(/\s+/g, ' '), new RegExp(`is consistent with the following platform tag: "${platform.wheelPlatform}"`));
    });

    test('the npm package of this platform holds that executable and says which platform it is for', () => {
      const dir = path.join(unpack(releaseFiles.npmPlatform(platform)), 'package');
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(manifest.name, npmPlatformPackage(platform));
      assert.equal(manifest.version, project.version);
      assert.equal(manifest.license, 'Apache-2.0');
      assert.deepEqual([manifest.os, manifest.cpu, manifest.libc], [['linux'], [platform.npmCpu], ['glibc']]);
      assert.equal(sha256(path.join(dir, 'bin', 'mlrun')), digest);
      assert.equal(fs.statSync(path.join(dir, 'bin', 'mlrun')).mode & 0o111, 0o111);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['LICENSE', 'README.md', 'THIRD_PARTY_LICENSES', 'bin', 'package.json']);
    });
  });
}

test('the npm package dvc-mlrun selects a platform package and gives the command mlrun', () => {
  const dir = path.join(unpack(releaseFiles.npmMain), 'package');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(manifest.name, project.distribution);
  assert.equal(manifest.version, project.version);
  assert.deepEqual(manifest.bin, { mlrun: 'bin/mlrun' });
  assert.deepEqual(manifest.scripts, { postinstall: 'node install.cjs' });
  assert.deepEqual(manifest.optionalDependencies, Object.fromEntries(allPlatforms.map((p) => [npmPlatformPackage(p), project.version])));
  assert.deepEqual(manifest.cpu, allPlatforms.map((p) => p.npmCpu));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['LICENSE', 'README.md', 'bin', 'executable.cjs', 'install.cjs', 'package.json']);
});
