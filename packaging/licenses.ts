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
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    const title = `${manifest.name} ${manifest.version}`;
    const licence = fs.readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(name));
    if (licence) sections.push(section(title, path.join(dir, licence)));
    // Some of the AWS SDK's packages ship no licence file, only `"license": "Apache-2.0"`: the
    // licence mlrun ships as its own LICENSE, beside this file.
    else if (manifest.license === 'Apache-2.0') sections.push(heading(title, 'Apache-2.0 (declared in its package.json, which ships no licence file): the text is in LICENSE.'));
    else throw new Error(`${manifest.name} has no licence file to ship`);
  }
  return sections.join('\n');
}

function section(title: string, file: string): string {
  return heading(title, fs.readFileSync(file, 'utf8').trimEnd());
}

function heading(title: string, text: string): string {
  return `${'='.repeat(78)}\n${title}\n${'='.repeat(78)}\n\n${text}\n`;
}

function bundledPackages(bundleInputs: string): string[] {
  const inputs = JSON.parse(fs.readFileSync(bundleInputs, 'utf8')) as string[];
  const folders = inputs.map((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1]);
  return [...new Set(folders.filter((folder) => folder !== undefined))].map((folder) => path.resolve(repoRoot, folder));
}
