// What the release says about mlrun wherever it is installed from: one source for the wheels, the
// npm packages and the release's own checks. The command is `mlrun`; the distribution name is
// another because `mlrun` on PyPI is Iguazio's MLRun, whose command is `mlrun` too.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface PackageJson {
  version: string;
  description: string;
  license: string;
  homepage?: string;
  repository?: { url: string };
  bugs?: { url: string };
}
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

export const project = {
  /** On PyPI and npm alike (both were free when chosen). */
  distribution: 'dvc-mlrun',
  command: 'mlrun',
  version: manifest.version,
  description: manifest.description,
  license: manifest.license,
  /** Project-URL / npm's homepage, repository and bugs: only those package.json names. */
  urls: {
    Homepage: manifest.homepage,
    Source: manifest.repository?.url.replace(/^git\+/, ''),
    Issues: manifest.bugs?.url,
  },
};

export interface Platform {
  /** As Node says it (`process.platform`-`process.arch`), and as `mlrun --version` prints it. */
  name: 'linux-x64' | 'linux-arm64';
  npmCpu: 'x64' | 'arm64';
  /**
   * The official Node 24 binaries need glibc 2.28 (their highest GLIBC_ symbol version, which
   * scripts/release checks): the manylinux_2_28 policy of PEP 600.
   */
  wheelPlatform: string;
  /** e_machine of the ELF header. */
  elfMachine: number;
}

export const platforms: Platform[] = [
  { name: 'linux-x64', npmCpu: 'x64', wheelPlatform: 'manylinux_2_28_x86_64', elfMachine: 0x3e },
  { name: 'linux-arm64', npmCpu: 'arm64', wheelPlatform: 'manylinux_2_28_aarch64', elfMachine: 0xb7 },
];

export function platformNamed(name: string): Platform {
  const platform = platforms.find((candidate) => candidate.name === name);
  if (!platform) throw new Error(`no platform ${name}: ${platforms.map((known) => known.name).join(', ')}`);
  return platform;
}

/** The npm package holding one platform's executable. */
export function npmPlatformPackage(platform: Platform): string {
  return `${project.distribution}-${platform.name}`;
}
