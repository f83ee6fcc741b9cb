// The npm packages, in esbuild's and biome's pattern: one package per platform holding that
// platform's executable (npm installs only the one whose `os`, `cpu` and `libc` match), and one
// package by the distribution's name that depends on them all as optionalDependencies and gives
// the command `mlrun`. Its install script puts the executable itself in the command's place
// (packaging/npm/install.cjs): no Node process starts before mlrun does.
import fs from 'node:fs';
import path from 'node:path';
import { npmPlatformPackage, platforms, project, repoRoot, type Platform } from './project.ts';
import { placeFile, type Notices } from './place.ts';

const shipped = path.join(repoRoot, 'packaging', 'npm');

export function writeNpmPlatformPackage(dir: string, platform: Platform, executable: string, notices: Notices, readme: string): void {
  placeFile(executable, path.join(dir, 'bin', project.command), 0o755);
  writeCommon(dir, notices, readme, {
    name: npmPlatformPackage(platform),
    description: `The ${platform.name} executable of ${project.distribution}, which installs it`,
    os: ['linux'],
    cpu: [platform.npmCpu],
    // The official Node binaries are built for glibc; on musl (Alpine) they do not start.
    libc: ['glibc'],
    files: ['bin/', ...Object.keys(notices), 'README.md'],
  });
}

export function writeNpmMainPackage(dir: string, notices: Notices, readme: string): void {
  placeFile(path.join(shipped, 'mlrun-shim.cjs'), path.join(dir, 'bin', project.command), 0o755);
  for (const file of ['install.cjs', 'executable.cjs']) placeFile(path.join(shipped, file), path.join(dir, file), 0o644);
  writeCommon(dir, notices, readme, {
    name: project.distribution,
    description: project.description,
    bin: { [project.command]: `bin/${project.command}` },
    scripts: { postinstall: 'node install.cjs' },
    optionalDependencies: Object.fromEntries(platforms.map((platform) => [npmPlatformPackage(platform), project.version])),
    os: ['linux'],
    cpu: platforms.map((platform) => platform.npmCpu),
    files: ['bin/', 'install.cjs', 'executable.cjs', ...Object.keys(notices), 'README.md'],
  });
}

function writeCommon(dir: string, notices: Notices, readme: string, fields: Record<string, unknown>): void {
  for (const [name, file] of Object.entries(notices)) placeFile(file, path.join(dir, name), 0o644);
  fs.writeFileSync(path.join(dir, 'README.md'), readme);
  const { Homepage, Source, Issues } = project.urls;
  const manifest = {
    ...fields,
    version: project.version,
    license: project.license,
    keywords: ['dvc', 'mlflow', 'mlops', 'experiment-tracking', 'pipelines'],
    ...(Homepage ? { homepage: Homepage } : {}),
    ...(Source ? { repository: { type: 'git', url: `git+${Source}` } } : {}),
    ...(Issues ? { bugs: { url: Issues } } : {}),
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
