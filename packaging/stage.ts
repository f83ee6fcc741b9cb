// `node packaging/stage.ts OUT BUNDLE_INPUTS (PLATFORM EXECUTABLE NODE_PACKAGE)...`: lays out, for
// scripts/release to pack, what each platform ships: OUT/PLATFORM/wheel (for `wheel pack`),
// OUT/PLATFORM/npm (for `npm pack`), OUT/PLATFORM/archive (for the .tar.gz), and OUT/npm-main, the
// package that selects a platform's. NODE_PACKAGE is the npm package of the Node binary that
// EXECUTABLE was made of (its LICENSE goes into the notices); BUNDLE_INPUTS is the bundle's input list.
import fs from 'node:fs';
import path from 'node:path';
import { thirdPartyLicenses } from './licenses.ts';
import { writeNpmMainPackage, writeNpmPlatformPackage } from './npm.ts';
import { placeFile } from './place.ts';
import { platformNamed, project, repoRoot } from './project.ts';
import { writeWheelTree } from './wheel.ts';

const [out, bundleInputs, ...triples] = process.argv.slice(2);
if (!out || !bundleInputs || triples.length === 0 || triples.length % 3 !== 0) {
  throw new Error('usage: node packaging/stage.ts OUT BUNDLE_INPUTS (PLATFORM EXECUTABLE NODE_PACKAGE)...');
}
fs.rmSync(out, { recursive: true, force: true });
const readme = fs.readFileSync(path.join(repoRoot, 'packaging', 'README.md'), 'utf8');
const licence = path.join(repoRoot, 'LICENSE');

for (let i = 0; i < triples.length; i += 3) {
  const [name, executable, nodePackage] = triples.slice(i, i + 3) as [string, string, string];
  const platform = platformNamed(name);
  const dir = path.join(out, platform.name);
  fs.mkdirSync(dir, { recursive: true });
  const thirdParty = path.join(dir, 'THIRD_PARTY_LICENSES');
  fs.writeFileSync(thirdParty, thirdPartyLicenses(nodePackage, bundleInputs));
  const notices = { LICENSE: licence, THIRD_PARTY_LICENSES: thirdParty };
  writeWheelTree(path.join(dir, 'wheel'), platform, executable, notices, readme);
  writeNpmPlatformPackage(path.join(dir, 'npm'), platform, executable, notices, readme);
  const archive = path.join(dir, 'archive');
  placeFile(executable, path.join(archive, project.command), 0o755);
  for (const [file, source] of Object.entries({ ...notices, 'README.md': path.join(repoRoot, 'packaging', 'README.md') })) {
    placeFile(source, path.join(archive, file), 0o644);
  }
}
writeNpmMainPackage(path.join(out, 'npm-main'), { LICENSE: licence }, readme);
