// The notices a release must carry beside mlrun's own LICENSE: the executable is the official
// Node binary (MIT, with the licences of what Node itself bundles in its LICENSE) with mlrun's
// bundle inside, which holds some npm packages: those scripts/bundle.ts lists as its inputs.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './project.ts';

/**
 * THIRD_PARTY_LICENSES: Node's LICENSE (from the npm package the binary came from), then that of
 * each package in the bundle (BUNDLE_INPUTS: the bundle's `.inputs.json`, paths relative to the repository).
 */
export function thirdPartyLicenses(nodePackage: string, bundleInputs: string): string {
  const sections = [section('Node.js', path.join(nodePackage, 'LICENSE'))];
  for (const dir of bundledPackages(bundleInputs)) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
    const licence = fs.readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(name));
    if (!licence) throw new Error(`${manifest.name} has no licence file to ship`);
    sections.push(section(`${manifest.name} ${manifest.version}`, path.join(dir, licence)));
  }
  return sections.join('\n');
}

function section(title: string, file: string): string {
  return `${'='.repeat(78)}\n${title}\n${'='.repeat(78)}\n\n${fs.readFileSync(file, 'utf8').trimEnd()}\n`;
}

function bundledPackages(bundleInputs: string): string[] {
  const inputs = JSON.parse(fs.readFileSync(bundleInputs, 'utf8')) as string[];
  const folders = inputs.map((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1]);
  return [...new Set(folders.filter((folder) => folder !== undefined))].map((folder) => path.resolve(repoRoot, folder));
}
