// The unpacked platform wheel of one platform, for `wheel pack` (pypa/wheel) to zip and record.
// The executable is a script of the wheel (`<name>.data/scripts/`): pip installs it as it is into
// the environment's bin/, next to `dvc` and `mlflow`, as ruff's and uv's wheels do theirs.
import fs from 'node:fs';
import path from 'node:path';
import { project, type Platform } from './project.ts';
import { placeFile, type Notices } from './place.ts';

/** PEP 427's escaping of a name in file names (`dvc-mlrun` → `dvc_mlrun`). */
export const wheelName = project.distribution.replace(/[-.]+/g, '_');

export function writeWheelTree(dir: string, platform: Platform, executable: string, notices: Notices, description: string): void {
  const distInfo = path.join(dir, `${wheelName}-${project.version}.dist-info`);
  placeFile(executable, path.join(dir, `${wheelName}-${project.version}.data`, 'scripts', project.command), 0o755);
  // PEP 639: the files License-File names are kept under .dist-info/licenses/.
  for (const [name, file] of Object.entries(notices)) placeFile(file, path.join(distInfo, 'licenses', name), 0o644);
  fs.writeFileSync(path.join(distInfo, 'METADATA'), metadata(Object.keys(notices), description));
  // The executable needs no Python of any version: py3-none, for the platform alone.
  fs.writeFileSync(
    path.join(distInfo, 'WHEEL'),
    `Wheel-Version: 1.0\nGenerator: mlrun scripts/release\nRoot-Is-Purelib: false\nTag: py3-none-${platform.wheelPlatform}\n`,
  );
}

/** Core metadata 2.4 (License-Expression, License-File are PEP 639's). */
function metadata(licenceFiles: string[], description: string): string {
  const fields = [
    ['Metadata-Version', '2.4'],
    ['Name', project.distribution],
    ['Version', project.version],
    ['Summary', project.description],
    ['License-Expression', project.license],
    ...licenceFiles.map((name) => ['License-File', name]),
    ...Object.entries(project.urls).flatMap(([label, url]) => (url ? [['Project-URL', `${label}, ${url}`]] : [])),
    ['Keywords', 'dvc,mlflow,mlops,experiment-tracking,pipelines'],
    ['Classifier', 'Environment :: Console'],
    ['Classifier', 'Operating System :: POSIX :: Linux'],
    ['Classifier', 'Topic :: Scientific/Engineering :: Artificial Intelligence'],
    ['Description-Content-Type', 'text/markdown'],
  ];
  return `${fields.map(([key, value]) => `${key}: ${value}`).join('\n')}\n\n${description}`;
}
